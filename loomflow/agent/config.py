"""What an agent is asked to do and how its runs are shaped: tasks, generation, context and runtime policy.

Every field here is read by a node of the run graph; none is decorative.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loomflow.agent.delegation import DelegationPolicy, OrchestrationConfig
from loomflow.agent.governance import GovernancePolicy
from loomflow.agent.harness import Harness
from loomflow.agent.quality import QualityGate
from loomflow.nodedef import Retry

__all__ = [
    "ContextProtocol",
    "ContinuityPolicy",
    "Generation",
    "RunContext",
    "Runtime",
    "RuntimeTask",
    "SessionRestorePolicy",
]


class RuntimeTask(BaseModel):
    """A structured work request: the goal, its input, the criteria a good answer meets, metadata.

    >>> RuntimeTask(goal="Refactor the API", criteria=["keep tests green"]).goal
    'Refactor the API'
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    goal: str
    input: dict[str, Any] = Field(default_factory=dict)
    criteria: tuple[str, ...] = ()
    metadata: dict[str, Any] = Field(default_factory=dict)

    def prompt(self) -> str:
        """The user turn this task becomes."""
        if not self.input:
            return self.goal
        lines = "\n".join(f"- {k}: {v}" for k, v in self.input.items())
        return f"{self.goal}\n\nInput:\n{lines}"


class RunContext(BaseModel):
    """Run-scoped context: named inputs and knowledge items shown to the model in this run only."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    inputs: dict[str, Any] = Field(default_factory=dict)
    knowledge: tuple[str, ...] = ()
    metadata: dict[str, Any] = Field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Generation:
    """Sampling settings sent with every model request."""

    temperature: float | None = None
    max_output_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        def number(value: object) -> bool:
            return isinstance(value, int | float) and not isinstance(value, bool)

        if self.temperature is not None and not (number(self.temperature) and self.temperature >= 0):
            raise ValueError(f"Generation(temperature=...) takes a number >= 0 or None, not {self.temperature!r}")
        if self.top_p is not None and not (number(self.top_p) and 0 < self.top_p <= 1):
            raise ValueError(f"Generation(top_p=...) takes a number in (0, 1] or None, not {self.top_p!r}")
        tokens = self.max_output_tokens
        if tokens is not None and not (isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0):
            raise ValueError(f"Generation(max_output_tokens=...) takes an int > 0 or None, not {tokens!r}")
        if isinstance(self.stop, str) or not all(isinstance(s, str) for s in self.stop):
            raise TypeError(f"Generation(stop=...) takes a list of strings such as stop=['END'], not {self.stop!r}")
        if not isinstance(self.extra, Mapping):
            raise TypeError(f"Generation(extra=...) takes a dict of provider parameters, not {self.extra!r}")

    def to_request(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, (), {})}
        out.pop("extra", None)
        out.update(self.extra)
        if "stop" in out:
            out["stop"] = list(out["stop"])
        return out


Strategy = Literal["drop_tool_outputs", "sliding_window", "summarize"]


@dataclasses.dataclass(frozen=True)
class ContextProtocol:
    """The context budget and what happens under pressure.

    Past ``soft`` of ``max_tokens`` the ``renewal`` node compacts with ``strategy`` (never orphaning a tool
    call from its result); past ``hard`` it renews the context with a handoff summary. ``keep_recent``
    tool results are never dropped.
    """

    max_tokens: int = 120_000
    soft: float = 0.7
    hard: float = 0.9
    strategy: Strategy = "drop_tool_outputs"
    keep_recent: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.soft <= self.hard <= 1:
            raise ValueError("ContextProtocol needs 0 < soft <= hard <= 1")

    @classmethod
    def manager(
        cls,
        max_tokens: int = 120_000,
        *,
        strategy: Strategy = "drop_tool_outputs",
        soft: float = 0.7,
        hard: float = 0.9,
        keep_recent: int = 4,
    ) -> ContextProtocol:
        return cls(max_tokens, soft, hard, strategy, keep_recent)


@dataclasses.dataclass(frozen=True)
class ContinuityPolicy:
    """How a renewed context continues: ``handoff`` shows the model a summary of the work so far,
    written from the run's own record (``summarizer="extractive"``) or by the model (``"model"``)."""

    summarizer: Literal["extractive", "model"] = "extractive"
    max_summary_chars: int = 4000

    @classmethod
    def handoff(
        cls, summarizer: Literal["extractive", "model"] = "extractive", max_summary_chars: int = 4000
    ) -> ContinuityPolicy:
        return cls(summarizer, max_summary_chars)


@dataclasses.dataclass(frozen=True)
class SessionRestorePolicy:
    """What of a session's earlier runs enters the next run: nothing, every earlier turn, or a window."""

    mode: Literal["none", "transcript", "window"] = "transcript"
    max_messages: int | None = None
    max_chars: int | None = None
    max_transcripts: int | None = None

    @classmethod
    def none(cls) -> SessionRestorePolicy:
        return cls("none")

    @classmethod
    def transcript_only(cls) -> SessionRestorePolicy:
        return cls("transcript")

    @classmethod
    def window(
        cls, *, max_messages: int | None = None, max_chars: int | None = None, max_transcripts: int | None = None
    ) -> SessionRestorePolicy:
        return cls("window", max_messages, max_chars, max_transcripts)

    def select(self, turns: Sequence[tuple[str, str]]) -> int:
        """How many of the latest transcript messages to restore, given (role, text) pairs oldest first."""
        if self.mode == "none":
            return 0
        if self.mode == "transcript":
            return len(turns)
        count = 0
        chars = 0
        runs = 0
        for role, text in reversed(turns):
            if self.max_transcripts is not None and runs >= self.max_transcripts:
                break
            if self.max_messages is not None and count >= self.max_messages:
                break
            if self.max_chars is not None and chars + len(text) > self.max_chars:
                break
            count += 1
            chars += len(text)
            if role == "user":
                runs += 1
        # Start at a user turn: never an answer without its question (providers want a user turn first).
        while count and turns[len(turns) - count][0] != "user":
            count -= 1
        return count


@dataclasses.dataclass(frozen=True)
class Runtime:
    """How runs are executed: context policy, continuity, session restore, budgets, tool concurrency.

    Budgets end a run with status ``limit_reached`` and its partial output; ``resume(run_id,
    limits=...)`` with a larger budget continues it. ``max_iterations`` counts model calls.
    """

    context: ContextProtocol = ContextProtocol()
    continuity: ContinuityPolicy = ContinuityPolicy()
    session_restore: SessionRestorePolicy = SessionRestorePolicy()
    max_iterations: int = 50
    max_tokens: int | None = None
    max_tool_calls: int | None = None
    max_seconds: float | None = None
    max_cost: float | None = None
    tool_concurrency: int = 4
    #: a retry policy for the model_call node, on top of the provider adapter's transport retries
    model_retry: Retry | None = None
    #: how runs are attempted (the ``harness`` slot of the run graph) and how answers are judged
    harness: Harness = dataclasses.field(default_factory=Harness)
    quality: QualityGate = dataclasses.field(default_factory=QualityGate)
    delegation: DelegationPolicy = dataclasses.field(default_factory=DelegationPolicy)
    #: which tool calls run, are refused, or wait for approval (the ``governance`` node applies it)
    governance: GovernancePolicy = dataclasses.field(default_factory=GovernancePolicy.default)

    def __post_init__(self) -> None:
        for name, (kind, example) in _RUNTIME_PARTS.items():
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise TypeError(f"Runtime({name}=...) takes a {kind.__name__} such as {example}, not {value!r}")
        for name in ("max_iterations", "tool_concurrency"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Runtime needs {name} >= 1 (an int), not {value!r}")
        budgets = (("max_tokens", int), ("max_tool_calls", int), ("max_seconds", float), ("max_cost", float))
        for name, kind in budgets:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int | kind) or value <= 0):
                what = "an int" if kind is int else "a number"
                raise ValueError(f"Runtime needs {name} > 0 ({what}), or None for no limit; not {value!r}")

    @classmethod
    def sdk(cls, **overrides: Any) -> Runtime:
        """The default: the single-run harness (``context_build -> model_call -> governance ->
        tool_dispatch``), no quality gate, transcript restore, 50 model calls at most."""
        return cls(**overrides)

    @classmethod
    def long_running(cls, criteria: Sequence[str] = (), *, harness: Harness | None = None, **overrides: Any) -> Runtime:
        """Long tasks: the criteria are judged at the quality gate, context pressure slides the window to a
        later turn (then renews with a handoff), and the model-call budget is 200. Graph: single_run (or
        ``harness``)."""
        quality = QualityGate.criteria(criteria) if criteria else QualityGate.none()
        fields: dict[str, Any] = {
            "harness": harness or Harness.single_run(),
            "quality": quality,
            "context": ContextProtocol.manager(strategy="sliding_window"),
            "continuity": ContinuityPolicy.handoff(),
            "max_iterations": 200,
        }
        return cls(**{**fields, **overrides})

    @classmethod
    def supervised(cls, criteria: Sequence[str] = (), **overrides: Any) -> Runtime:
        """A person approves every answer: the human_gate harness (a ``review`` interrupt after generation),
        and the criteria judged at the quality gate."""
        quality = QualityGate.criteria(criteria) if criteria else QualityGate.none()
        return cls(**{"harness": Harness.human_gate(), "quality": quality, **overrides})

    @classmethod
    def autonomous(cls, max_depth: int = 5, max_iterations: int = 200, **overrides: Any) -> Runtime:
        """Works on its own: may delegate sub-tasks to child runs ``max_depth`` levels deep (the ``delegate``
        tool and the ``delegation`` node), up to ``max_iterations`` model calls."""
        fields = {"delegation": DelegationPolicy.depth_limited(max_depth), "max_iterations": max_iterations}
        return cls(**{**fields, **overrides})

    @classmethod
    def orchestrated(cls, max_depth: int = 3, *, gen_eval: bool = False, **overrides: Any) -> Runtime:
        """Plans and delegates: the orchestrated harness (``planner -> fan_out -> reduce``), plan steps as
        child runs (judged by generator/evaluator with ``gen_eval``), delegation ``max_depth`` deep."""
        config = OrchestrationConfig(max_depth=max_depth, gen_eval=gen_eval)
        fields = {"harness": Harness.orchestrated(config), "delegation": DelegationPolicy.depth_limited(max_depth)}
        return cls(**{**fields, **overrides})

    @classmethod
    def scheduled(cls, **overrides: Any) -> Runtime:
        """For runs nobody watches (cron jobs): no session history is restored, and a run is bounded to 25
        model calls and 10 minutes of work, so a job always ends."""
        fields = {"session_restore": SessionRestorePolicy.none(), "max_iterations": 25, "max_seconds": 600.0}
        return cls(**{**fields, **overrides})

    def budgets(self) -> dict[str, float]:
        names = ("max_iterations", "max_tokens", "max_tool_calls", "max_seconds", "max_cost")
        return {n: float(getattr(self, n)) for n in names if getattr(self, n) is not None}


#: the policy fields of ``Runtime``: the type each must have, and an example to show when it does not
_RUNTIME_PARTS: dict[str, tuple[type, str]] = {
    "context": (ContextProtocol, "ContextProtocol.manager()"),
    "continuity": (ContinuityPolicy, "ContinuityPolicy.handoff()"),
    "session_restore": (SessionRestorePolicy, "SessionRestorePolicy.window(max_messages=20)"),
    "harness": (Harness, "Harness.best_of_n(3)"),
    "quality": (QualityGate, 'QualityGate.criteria(["cites a source"])'),
    "delegation": (DelegationPolicy, "DelegationPolicy.depth_limited(2)"),
    "governance": (GovernancePolicy, "GovernancePolicy.default()"),
}
