"""The ``CheckpointStore`` protocol: what the interpreter needs from a store, and nothing more.

Every implementation (memory, SQLite, PostgreSQL, yours) passes the same conformance suite in
``loomflow.testing.store_conformance``.

Concurrency rules a store must keep:
- ``append_step`` is the compare-and-swap: writing a step number that exists raises ``RunBusy``.
- ``acquire`` takes the run's lease only if it is free, expired, or already this owner's (never for a run
  the store does not hold).
- journal writes are durable when the call returns (they are the exactly-once guarantee).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from loomflow.checkpoint.records import JournalEntry, RunRecord, StepRecord
from loomflow.errors import RunBusy

__all__ = ["STORE_SCHEMA_VERSION", "CheckpointStore", "step_taken"]

#: bumped whenever a store's tables change; opening a newer store is a StoreVersionError
STORE_SCHEMA_VERSION = 2


@runtime_checkable
class CheckpointStore(Protocol):
    """Runs, their steps, their journal, and who holds each run."""

    async def put_graph(self, fingerprint: str, structure: dict[str, Any]) -> None:
        """Keep a graph's structure once per fingerprint (runs point at it)."""

    async def get_graph(self, fingerprint: str) -> dict[str, Any] | None: ...

    async def create_run(self, run: RunRecord) -> None:
        """Insert a new run; an existing id raises ``RunError``."""

    async def get_run(self, run_id: str) -> RunRecord | None: ...

    async def update_run(self, run_id: str, **fields: Any) -> None:
        """Change fields of a run record (status, output, error, interrupts, seq_reserved, ...); no fields
        change nothing. A run the store does not hold raises ``RunNotFound``."""

    async def list_runs(
        self, *, limit: int = 100, status: str | None = None, parent_run: str | None = None
    ) -> list[RunRecord]:
        """Newest first."""

    async def append_step(self, record: StepRecord) -> None:
        """Add a step, durably; a step number that exists raises ``RunBusy``."""

    async def append_steps(self, records: Sequence[StepRecord]) -> None:
        """Add several steps in one transaction: all of them, or (on ``RunBusy``) none."""

    async def steps(self, run_id: str) -> list[StepRecord]:
        """Every step of the run, superseded ones included, ordered by step."""

    async def supersede(self, run_id: str, from_step: int) -> None:
        """Mark steps ``>= from_step`` superseded (a rewind keeps them in history)."""

    async def journal_get(self, run_id: str, visit: int, node_path: str, index: int) -> JournalEntry | None: ...

    async def journal_put(self, entry: JournalEntry) -> None:
        """Insert or replace the entry with the same key, durably."""

    async def journal(self, run_id: str) -> list[JournalEntry]: ...

    async def acquire(self, run_id: str, owner: str, ttl: float, now: float, *, steal_from: str | None = None) -> bool:
        """Take the lease if free, expired, ours, or held by ``steal_from`` (a holder known to be dead)."""

    async def lease(self, run_id: str) -> tuple[str, float] | None:
        """The current holder and expiry time, if any."""

    async def release(self, run_id: str, owner: str) -> None: ...

    async def close(self) -> None: ...


def step_taken(record: StepRecord) -> RunBusy:
    """The error of a store asked to write a step number the run already has (the compare-and-swap)."""
    return RunBusy(f"step {record.step} of run {record.run_id!r} was already written by another executor")
