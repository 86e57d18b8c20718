"""What a node returns: an ``Update`` (writes and a route), a ``Pause`` (interrupts), or an ``End``.

Pause and end are values, not exceptions: the interpreter records them like any other step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["End", "Interrupt", "JournalRef", "Outcome", "Pause", "Update"]


@dataclasses.dataclass(slots=True)  # not frozen: one per step on the hot path; treat it as a value
class Update:
    """The channel writes a node makes and the route it takes.

    ``route`` must label one of the node's declared out-edges; a node with a single out-edge
    (or an unlabelled default edge) may leave it ``None``.

    >>> Update({"count": 1}, route="again").route
    'again'
    """

    writes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    route: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Interrupt:
    """One pause waiting for a value from outside the run (see CONTRACTS: interrupts).

    ``kind`` is ``input``, ``approval``, ``review`` or ``uncertain_call``; ``allowed`` lists the
    values ``resume`` accepts (``None``: whatever the node declared it takes).
    """

    id: str
    kind: str
    node_path: str
    step: int
    prompt: str = ""
    payload: Any = None
    allowed: tuple[Any, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Interrupt:
        allowed = data.get("allowed")
        return cls(
            id=data["id"],
            kind=data["kind"],
            node_path=data["node_path"],
            step=data["step"],
            prompt=data.get("prompt", ""),
            payload=data.get("payload"),
            allowed=tuple(allowed) if allowed is not None else None,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Pause:
    """Stop the run until ``resume`` answers these interrupts; the node then runs again with the answers.

    Build it with ``ctx.interrupt(...)``; ``writes`` are applied before the run pauses.
    """

    interrupts: tuple[Interrupt, ...]
    writes: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class End:
    """End the run now, whatever edges follow: ``completed`` by default, ``limit_reached``, or ``failed``
    (with ``reason``; the writes are kept, and ``resume`` runs the node again)."""

    writes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    output: Any = None
    status: Literal["completed", "limit_reached", "failed"] = "completed"
    reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class JournalRef:
    """A write that *is* the result of one of this step's journaled calls (``ctx.journal_ref()``).

    The value lands in state as usual, but the checkpoint stores a reference to the journal entry
    instead of a second copy, so each payload (a model response, a tool result) is stored once.
    ``key`` picks one field of a mapping result (e.g. ``"message"`` of a model response); a dotted key
    walks deeper (``"message.parts.0.text"``).
    """

    index: int
    key: str | None = None

    def pick(self, result: Any) -> Any:
        """The part of a journaled result this reference stands for."""
        if self.key is None:
            return result
        for part in self.key.split("."):
            result = result[int(part)] if isinstance(result, list) else result[part]
        return result

    def marker(self) -> dict[str, Any]:
        return {"@journal": self.index, "key": self.key} if self.key else {"@journal": self.index}


Outcome = Update | Pause | End
