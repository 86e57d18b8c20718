"""An in-memory checkpoint store: the same contract as SQLite, gone when the process ends."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from loomflow.checkpoint.base import step_taken
from loomflow.checkpoint.records import JournalEntry, RunRecord, StepRecord
from loomflow.errors import RunError, RunNotFound

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps records in dicts. Useful for tests, notebooks and benchmarks without persistence."""

    def __init__(self) -> None:
        self._graphs: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, RunRecord] = {}
        self._steps: dict[str, dict[int, StepRecord]] = {}
        self._journal: dict[tuple[str, int, str, int], JournalEntry] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    async def put_graph(self, fingerprint: str, structure: dict[str, Any]) -> None:
        self._graphs.setdefault(fingerprint, structure)

    async def get_graph(self, fingerprint: str) -> dict[str, Any] | None:
        return self._graphs.get(fingerprint)

    async def create_run(self, run: RunRecord) -> None:
        if run.run_id in self._runs:
            raise RunError(f"run {run.run_id!r} already exists; choose another run_id or resume it")
        self._runs[run.run_id] = run
        self._steps[run.run_id] = {}

    async def get_run(self, run_id: str) -> RunRecord | None:
        return self._runs.get(run_id)

    async def update_run(self, run_id: str, **fields: Any) -> None:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotFound(f"no run {run_id!r} in this store; create it with create_run first")
        self._runs[run_id] = dataclasses.replace(run, **fields)

    async def list_runs(
        self, *, limit: int = 100, status: str | None = None, parent_run: str | None = None
    ) -> list[RunRecord]:
        runs = [
            r
            for r in reversed(self._runs.values())
            if (status is None or r.status == status) and (parent_run is None or r.parent_run == parent_run)
        ]
        runs.sort(key=lambda r: r.created_at, reverse=True)  # stable: ties stay newest first, as in SQLite
        return runs[:limit]

    async def append_steps(self, records: Sequence[StepRecord]) -> None:
        seen: set[tuple[str, int]] = set()
        for rec in records:  # a taken step, or one the batch holds twice: RunBusy before anything is written
            if rec.step in self._steps[rec.run_id] or (rec.run_id, rec.step) in seen:
                raise step_taken(rec)
            seen.add((rec.run_id, rec.step))
        for rec in records:
            self._steps[rec.run_id][rec.step] = rec

    async def append_step(self, record: StepRecord) -> None:
        steps = self._steps[record.run_id]
        if record.step in steps:
            raise step_taken(record)
        steps[record.step] = record

    async def steps(self, run_id: str) -> list[StepRecord]:
        return [self._steps[run_id][k] for k in sorted(self._steps.get(run_id, {}))]

    async def supersede(self, run_id: str, from_step: int) -> None:
        steps = self._steps[run_id]
        for k, rec in steps.items():
            if k >= from_step:
                steps[k] = dataclasses.replace(rec, superseded=True)

    async def journal_get(self, run_id: str, visit: int, node_path: str, index: int) -> JournalEntry | None:
        return self._journal.get((run_id, visit, node_path, index))

    async def journal_put(self, entry: JournalEntry) -> None:
        self._journal[(entry.run_id, entry.visit, entry.node_path, entry.index)] = entry

    async def journal(self, run_id: str) -> list[JournalEntry]:
        entries = [e for k, e in self._journal.items() if k[0] == run_id]
        return sorted(entries, key=lambda e: (e.visit, e.node_path, e.index))

    async def acquire(self, run_id: str, owner: str, ttl: float, now: float, *, steal_from: str | None = None) -> bool:
        if run_id not in self._runs:  # as in every store: there is nothing to lease
            return False
        held = self._leases.get(run_id)
        if held is None or held[0] in (owner, steal_from) or held[1] < now:
            self._leases[run_id] = (owner, now + ttl)
            return True
        return False

    async def lease(self, run_id: str) -> tuple[str, float] | None:
        return self._leases.get(run_id)

    async def release(self, run_id: str, owner: str) -> None:
        if self._leases.get(run_id, ("",))[0] == owner:
            del self._leases[run_id]

    async def close(self) -> None:
        return None
