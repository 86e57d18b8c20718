"""Hooks: ``agent.on(event, handler)``.

``before_run``, ``before_llm`` and ``before_tool`` handlers may return ``Deny(reason)`` or ``Ask(prompt)``
(or ``None`` to observe); ``after_llm``, ``after_tool``, ``on_context_compact`` and ``after_run``
observe. A denied tool call becomes a result the model sees; ``Ask`` pauses the run with an approval
interrupt. Handlers may be sync or async and receive keyword arguments.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["HOOK_EVENTS", "Ask", "Deny", "Hooks"]

HOOK_EVENTS = (
    "before_run",
    "before_llm",
    "after_llm",
    "before_tool",
    "after_tool",
    "on_context_compact",
    "after_run",
)
_CONTROL = ("before_run", "before_llm", "before_tool")


@dataclasses.dataclass(frozen=True)
class Deny:
    """Refuse the action; for a tool call, the reason is the result the model sees."""

    reason: str = "denied by policy"


@dataclasses.dataclass(frozen=True)
class Ask:
    """Pause the run and ask a human; resume with ``"approve"`` or ``"deny"`` / ``{"deny": reason}``."""

    prompt: str = "approve this action?"


class Hooks:
    """Handlers by event name."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[..., Any]]] = {e: [] for e in HOOK_EVENTS}

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        if event not in self._handlers:
            raise ValueError(f"unknown hook event {event!r}; known: {', '.join(HOOK_EVENTS)}")
        if not callable(handler):
            raise TypeError(f"a {event} hook is a function taking keyword arguments, not {handler!r}")
        self._handlers[event].append(handler)

    def has(self, event: str) -> bool:
        return bool(self._handlers[event])

    async def fire(self, event: str, **payload: Any) -> Deny | Ask | None:
        """Call the handlers in order; for a control event the first Deny or Ask wins."""
        for handler in self._handlers[event]:
            result = handler(**payload)
            if inspect.isawaitable(result):
                result = await result
            if event in _CONTROL and isinstance(result, Deny | Ask):
                return result
        return None
