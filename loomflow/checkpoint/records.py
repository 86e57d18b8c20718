"""The records a checkpoint store keeps: runs, steps and journal entries.

Step writes, snapshots and journal results are JSON bytes, encoded once by the interpreter; a store
only moves bytes, so every store persists exactly the same thing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from loomflow.checkpoint.codec import dumps, loads
from loomflow.outcomes import Interrupt

__all__ = ["JournalEntry", "RunRecord", "StepRecord"]


@dataclasses.dataclass(frozen=True, slots=True)
class RunRecord:
    """One run: its graph, status, lineage (``parent_run``/``parent_step`` for forks and child runs)."""

    run_id: str
    graph: str
    fingerprint: str
    state_version: int
    status: str
    created_at: float
    updated_at: float
    parent_run: str | None = None
    parent_step: int | None = None
    input: dict[str, Any] | None = None
    fork_update: dict[str, Any] | None = None
    output: Any = None
    error: str | None = None
    interrupts: tuple[Interrupt, ...] = ()
    limits: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    seq_reserved: int = 0
    replay_of: str | None = None
    kind: str = "run"
    answers: dict[str, Any] | None = None
    base_step: int | None = None
    base_state: dict[str, Any] | None = None


@dataclasses.dataclass(slots=True)  # not frozen: built on every step, where frozen costs ~8x; never mutate
class StepRecord:
    """One executed step: the node, the delta it wrote, where it routed, and how it went.

    ``visit`` is the step that first entered this node visit (equal to ``step`` unless this step
    re-runs a node that paused or failed); the journal keys effects by it. ``parent_step`` is the
    step this one follows, so a rewound run's history is a tree and ``superseded`` marks the
    abandoned branch.
    """

    run_id: str
    step: int
    parent_step: int | None
    visit: int
    node_path: str
    route: str | None
    target: str | None
    status: str  # ok | interrupted | failed | ended | limit
    writes: bytes
    seq: int
    started_at: float
    duration: float
    attempts: int = 1
    error: str | None = None
    interrupts: tuple[Interrupt, ...] = ()
    answers: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    snapshot: bytes | None = None
    superseded: bool = False
    output: Any = None  # an ``End(output=...)`` step's output, as the run record keeps it (``stored_output``)

    def meta(self) -> dict[str, Any]:
        """The small fields stores keep in one JSON column."""
        m: dict[str, Any] = {"seq": self.seq, "t": self.started_at, "d": self.duration}
        if self.attempts != 1:
            m["attempts"] = self.attempts
        if self.error is not None:
            m["error"] = self.error
        if self.interrupts:
            m["interrupts"] = [i.to_json() for i in self.interrupts]
        if self.answers:
            m["answers"] = self.answers
        if self.usage:
            m["usage"] = self.usage
        if self.output is not None:
            m["output"] = self.output
        return m

    @classmethod
    def from_row(
        cls,
        run_id: str,
        step: int,
        parent_step: int | None,
        visit: int,
        node_path: str,
        route: str | None,
        target: str | None,
        status: str,
        writes: bytes,
        snapshot: bytes | None,
        meta: dict[str, Any],
        superseded: bool,
    ) -> StepRecord:
        return cls(
            run_id,
            step,
            parent_step,
            visit,
            node_path,
            route,
            target,
            status,
            writes,
            meta["seq"],
            meta["t"],
            meta["d"],
            meta.get("attempts", 1),
            meta.get("error"),
            tuple(Interrupt.from_json(i) for i in meta.get("interrupts", ())),
            meta.get("answers"),
            meta.get("usage"),
            snapshot,
            superseded,
            meta.get("output"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class JournalEntry:
    """One effectful call: intent first (``status='intent'``), then ``done``, ``failed`` or ``skipped``."""

    run_id: str
    visit: int
    node_path: str
    index: int
    name: str
    request_hash: str
    idempotent: bool
    status: str
    result: bytes | None
    started_at: float
    finished_at: float | None = None
    error: str | None = None


def stored_output(output: Any, values: Mapping[str, Any]) -> Any:
    """A run's output as its records keep it: ``{"@state": channel}`` when it is a channel's value (an
    agent's answer), so the payload is stored once; else its JSON form."""
    if output is None:
        return None
    if not isinstance(output, int | float | bool):
        for name, value in values.items():
            if value is output:
                return {"@state": name}
    return loads(dumps(output))


def restored_output(stored: Any, values: Mapping[str, Any]) -> Any:
    """The output ``stored_output`` kept, given the run's channel values."""
    if isinstance(stored, dict) and set(stored) == {"@state"}:
        return values.get(stored["@state"])
    return stored
