"""The run status machine: one vocabulary and one transition table (CONTRACTS.md), on ``transitions``.

| from | to (trigger) |
|---|---|
| created | running (``start``) |
| running | interrupted (``pause``), completed (``complete``), failed (``fail``), cancelled (``cancel``), |
|         | limit_reached (``limit``) |
| interrupted, failed, limit_reached | running (``resume``), cancelled (``cancel``) |

``completed`` and ``cancelled`` are final. Any other change raises ``InvalidTransition``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

from loomflow.errors import InvalidTransition

if TYPE_CHECKING:
    from transitions import Machine

__all__ = ["FINAL", "STATUSES", "Lifecycle", "LifecycleMachine", "RunStatus"]

RunStatus = Literal["created", "running", "interrupted", "completed", "failed", "cancelled", "limit_reached"]
STATUSES: Final = ("created", "running", "interrupted", "completed", "failed", "cancelled", "limit_reached")
FINAL: Final = frozenset({"completed", "cancelled"})
_PAUSED = ["interrupted", "failed", "limit_reached"]
_TABLE: Final[list[dict[str, Any]]] = [
    {"trigger": "start", "source": "created", "dest": "running"},
    {"trigger": "pause", "source": "running", "dest": "interrupted"},
    {"trigger": "complete", "source": "running", "dest": "completed"},
    {"trigger": "fail", "source": "running", "dest": "failed"},
    {"trigger": "limit", "source": "running", "dest": "limit_reached"},
    {"trigger": "cancel", "source": ["running", *_PAUSED], "dest": "cancelled"},
    {"trigger": "resume", "source": _PAUSED, "dest": "running"},
]
_TRIGGER_FOR: Final = {
    "running": ("start", "resume"),
    "interrupted": ("pause",),
    "completed": ("complete",),
    "failed": ("fail",),
    "limit_reached": ("limit",),
    "cancelled": ("cancel",),
}


class Lifecycle:
    """One run's status; change it only through ``to`` (which checks the table)."""

    state: str

    def __init__(self, run_id: str, status: str) -> None:
        self.run_id = run_id
        self.state = status

    @property
    def status(self) -> RunStatus:
        return self.state  # type: ignore[return-value]

    def may(self, target: str) -> bool:
        return any(
            target == t["dest"] and (self.state == t["source"] or self.state in t["source"])
            for t in _TABLE
            if t["trigger"] in _TRIGGER_FOR.get(target, ())
        )


class LifecycleMachine:
    """Drives ``Lifecycle`` objects with one ``transitions.Machine`` shared by the whole process.

    The table is fixed, so a change the machine allowed once (from one status to another) is allowed
    every time: later ones set the status directly, which keeps the machine's ~40 us per change (adding
    and removing the model) off every run's start and end. Refused changes always go to the machine.
    """

    _machine: ClassVar[Machine | None] = None
    _allowed: ClassVar[set[tuple[str, str]]] = set()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def _get(cls) -> Machine:
        if cls._machine is None:
            from transitions import Machine

            cls._machine = Machine(
                model=[],
                states=list(STATUSES),
                transitions=_TABLE,
                initial="created",
                auto_transitions=False,
            )
        return cls._machine

    def to(self, life: Lifecycle, target: str) -> None:
        """Move ``life`` to ``target`` or raise ``InvalidTransition`` naming both ends and the way out."""
        source = life.state
        if target == source == "running":
            return  # resuming a run whose process died mid-step: it never left running
        if (source, target) in self._allowed:
            life.state = target
            return
        from transitions import MachineError

        with self._lock:
            machine = self._get()
            machine.add_model(life, initial=source)
            try:
                for trigger in _TRIGGER_FOR.get(target, ()):
                    if source in _sources(trigger):
                        getattr(life, trigger)()
                        self._allowed.add((source, target))
                        return
                raise MachineError(f"no trigger leads from {source} to {target}")
            except MachineError as exc:
                raise InvalidTransition(_explain(life.run_id, life.state, target)) from exc
            finally:
                machine.remove_model(life)


def _sources(trigger: str) -> list[Any]:
    out: list[Any] = []
    for t in _TABLE:
        if t["trigger"] == trigger:
            src = t["source"]
            out += src if isinstance(src, list) else [src]
    return out


def _explain(run_id: str, current: str, target: str) -> str:
    hint = {
        "completed": "a completed run is final; fork it to go on from one of its steps",
        "cancelled": "a cancelled run is final; fork it to go on from one of its steps",
        "running": "the run is running; wait for it to pause or end, or cancel it",
        "created": "a created run must be started first",
    }.get(current, "see the transition table in loomflow.lifecycle")
    return f"run {run_id!r} cannot go from {current!r} to {target!r}: {hint}"
