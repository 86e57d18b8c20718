"""``GovernancePolicy``: which tool calls run, which are refused, and which wait for a human.

    Runtime(governance=GovernancePolicy(
        rules=[Rule.deny("shell", command="rm *"), Rule.allow("shell", command="git status*")],
        require_approval_for_destructive=True,
        rate_limits=[RateLimit("web_fetch", per_run=20, per_window=5, window=60)],
        veto=lambda call: "no production hosts" if "prod" in str(call.arguments) else None,
    ))

The ``governance`` node decides each tool call of a turn, in this fixed order; the first step that
decides, decides:

1. a call the model made badly (unknown tool, arguments that are not JSON) is allowed through, so
   ``tool_dispatch`` answers it with an error the model can act on;
2. an answered approval decides (``"approve"``, ``"deny"``, ``{"deny": reason}``, ``{"arguments": ...}``);
3. read-only mode (``read_only=True``) refuses every tool not declared ``read_only``;
4. an active skill with ``allowed_tools`` refuses every other tool (``activate_skill`` stays allowed);
5. ``Rule.deny`` rules refuse;
6. rate limits refuse a call past ``per_run`` calls in the run or ``per_window`` calls in the last
   ``window`` seconds (counted in the run's state, so they hold across resume);
7. the ``veto`` callback refuses when it returns a reason;
8. ``before_tool`` hooks may refuse (``Deny``) or ask (``Ask``);
9. a matching ``Rule.allow`` lets the call run without asking; otherwise a matching ``Rule.ask``, a tool
   declared ``require_approval``, or a destructive tool under ``require_approval_for_destructive``
   pauses the run with a durable ``approval`` interrupt;
10. anything else runs.

A refusal is the tool result the model sees (``denied: <reason>``), never a crash. Rules match a tool
name and argument values with ``fnmatch`` patterns (``*``, ``?``, ``[...]``): pattern matching on what
the model wrote, not a sandbox, so pair deny rules with capabilities' own limits (``Capability.shell(
allowed=[...])``, ``Capability.files(root=...)``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from loomflow.messages import ToolCallPart
    from loomflow.tools.tool import Tool

__all__ = ["GovernancePolicy", "RateLimit", "Rule", "Veto"]

Action = Literal["allow", "deny", "ask"]
#: ``veto(call) -> reason | None`` (sync or async): a reason refuses the call
Veto = Callable[["ToolCallPart"], "str | Awaitable[str | None] | None"]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


@dataclasses.dataclass(frozen=True)
class Rule:
    """Allow, deny or ask for calls of the tools matching ``tool`` whose arguments match every pattern.

    >>> Rule.deny("shell", command="rm *").matches("shell", {"command": "rm -rf build"})
    True
    >>> Rule.ask("write_*").matches("write_file", {"path": "a.txt"})
    True
    """

    action: Action
    tool: str = "*"
    arguments: tuple[tuple[str, str], ...] = ()
    reason: str | None = None

    @classmethod
    def _make(
        cls,
        action: Action,
        tool: str,
        reason: str | None,
        arguments: Mapping[str, str] | None,
        patterns: dict[str, str],
    ) -> Rule:
        merged = {**(arguments or {}), **patterns}
        return cls(action, tool, tuple(sorted(merged.items())), reason)

    @classmethod
    def allow(
        cls,
        tool: str = "*",
        /,
        *,
        reason: str | None = None,
        arguments: Mapping[str, str] | None = None,
        **patterns: str,
    ) -> Rule:
        """Let matching calls run without asking (deny rules, read-only mode and limits still apply)."""
        return cls._make("allow", tool, reason, arguments, patterns)

    @classmethod
    def deny(
        cls,
        tool: str = "*",
        /,
        *,
        reason: str | None = None,
        arguments: Mapping[str, str] | None = None,
        **patterns: str,
    ) -> Rule:
        """Refuse matching calls; ``reason`` is what the model is told. (``arguments=`` names an argument
        that clashes with ``reason``.)"""
        return cls._make("deny", tool, reason, arguments, patterns)

    @classmethod
    def ask(
        cls,
        tool: str = "*",
        /,
        *,
        reason: str | None = None,
        arguments: Mapping[str, str] | None = None,
        **patterns: str,
    ) -> Rule:
        """Pause matching calls for a human's approval; ``reason`` is the prompt."""
        return cls._make("ask", tool, reason, arguments, patterns)

    def matches(self, tool: str, arguments: Mapping[str, Any]) -> bool:
        if not fnmatch.fnmatchcase(tool, self.tool):
            return False
        return all(name in arguments and fnmatch.fnmatchcase(_text(arguments[name]), p) for name, p in self.arguments)

    def covers_every_call_of(self, tool: str) -> bool:
        """True when the rule matches every call of ``tool`` (it has no argument patterns)."""
        return not self.arguments and fnmatch.fnmatchcase(tool, self.tool)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments)
        return f"Rule.{self.action}({self.tool!r}{', ' + args if args else ''})"


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """At most ``per_run`` calls in a run, and/or ``per_window`` calls in any ``window`` seconds, of the
    tools matching ``tool`` (a pattern: the matching tools share the budget).

    >>> RateLimit("web_fetch", per_run=10).tool
    'web_fetch'
    """

    tool: str
    per_run: int | None = None
    per_window: int | None = None
    window: float = 60.0

    def __post_init__(self) -> None:
        if self.per_run is None and self.per_window is None:
            raise ValueError(f"RateLimit({self.tool!r}) needs per_run=, per_window=, or both")
        if (self.per_run is not None and self.per_run < 0) or (self.per_window is not None and self.per_window < 0):
            raise ValueError(f"RateLimit({self.tool!r}): limits cannot be negative")
        if self.window <= 0:
            raise ValueError(f"RateLimit({self.tool!r}): window must be positive seconds")

    def applies(self, tool: str) -> bool:
        return fnmatch.fnmatchcase(tool, self.tool)

    def denial(self, tool: str, log: Sequence[Mapping[str, Any]], now: float) -> str | None:
        """Why one more call of ``tool`` would break this limit, given the calls already allowed."""
        if not self.applies(tool):
            return None
        mine = [e for e in log if fnmatch.fnmatchcase(str(e["tool"]), self.tool)]
        if self.per_run is not None and len(mine) >= self.per_run:
            return f"rate limit: {self.tool!r} may be called at most {self.per_run} times in a run"
        if self.per_window is not None:
            recent = [e for e in mine if float(e["at"]) > now - self.window]
            if len(recent) >= self.per_window:
                wait = self.window - (now - min(float(e["at"]) for e in recent))
                return (
                    f"rate limit: {self.tool!r} may be called at most {self.per_window} times in "
                    f"{self.window:g}s; try again in {wait:.0f}s"
                )
        return None


def _tuple(value: Sequence[Any]) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else tuple(value)


@dataclasses.dataclass(frozen=True)
class GovernancePolicy:
    """What tool calls may do; ``Runtime(governance=...)``. The decision order is in the module docstring.

    >>> policy = GovernancePolicy(rules=[Rule.deny("shell", command="rm *")], read_only=False)
    >>> policy.rule("deny", "shell", {"command": "rm -rf /"}).describe()
    "Rule.deny('shell', command='rm *')"
    """

    rules: Sequence[Rule] = ()
    #: only tools declared ``read_only`` run; every other call is refused
    read_only: bool = False
    #: a tool declared ``destructive`` pauses for approval before each call
    require_approval_for_destructive: bool = False
    rate_limits: Sequence[RateLimit] = ()
    veto: Veto | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", _tuple(self.rules))
        object.__setattr__(self, "rate_limits", _tuple(self.rate_limits))
        for r in self.rules:
            if not isinstance(r, Rule):
                raise TypeError(f"rules take Rule.allow/deny/ask(...), not {r!r}")

    @classmethod
    def default(cls) -> GovernancePolicy:
        """No rules, no limits: tools' own ``require_approval`` flags and ``before_tool`` hooks decide."""
        return cls()

    def rule(self, action: Action, tool: str, arguments: Mapping[str, Any]) -> Rule | None:
        """The first rule of ``action`` that matches the call, if any."""
        return next((r for r in self.rules if r.action == action and r.matches(tool, arguments)), None)

    def read_only_denial(self, tool: Tool) -> str | None:
        if self.read_only and not tool.read_only:
            return f"read-only mode: {tool.name!r} is not a read-only tool"
        return None

    def rate_denial(self, tool: str, log: Sequence[Mapping[str, Any]], now: float) -> str | None:
        return next((d for limit in self.rate_limits if (d := limit.denial(tool, log, now))), None)

    def counts(self, tool: str) -> bool:
        """Whether calls of ``tool`` are recorded for a rate limit."""
        return any(limit.applies(tool) for limit in self.rate_limits)

    async def vetoed(self, call: ToolCallPart) -> str | None:
        if self.veto is None:
            return None
        reason = self.veto(call)
        if inspect.isawaitable(reason):
            reason = await reason
        return None if reason is None else str(reason)

    def approval_reason(self, tool: Tool, arguments: Mapping[str, Any]) -> str | None:
        """Step 9 without the hook: ``None`` to run, else why a human must approve first."""
        if self.rule("allow", tool.name, arguments) is not None:
            return None
        ask = self.rule("ask", tool.name, arguments)
        if ask is not None:
            return ask.reason or f"{ask.describe()} asks for approval"
        if tool.require_approval:
            return f"{tool.name!r} requires approval"
        if tool.destructive and self.require_approval_for_destructive:
            return f"{tool.name!r} is destructive"
        return None
