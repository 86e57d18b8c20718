"""A run's history as a chain of steps, and the state at any step rebuilt from it.

Steps point at the step they follow (``parent_step``), so a rewound run's history is a tree and a
fork shares its parent's steps before the fork point. The state at a step is folded along that
chain: append channels are the concatenation of their deltas (the delta log *is* their storage, so
nothing is written twice), and every other channel starts from the nearest snapshot, so at most
``snapshot_every`` deltas are folded for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from loomflow.checkpoint.base import CheckpointStore
from loomflow.checkpoint.codec import loads
from loomflow.checkpoint.records import RunRecord, StepRecord
from loomflow.errors import CorruptCheckpoint, IncompatibleGraph, RunError, RunNotFound
from loomflow.outcomes import JournalRef
from loomflow.state import Channel, State, apply_writes

__all__ = ["Lineage", "fold_raw", "has_refs", "load_lineage", "resolve_refs"]


@dataclasses.dataclass(slots=True)
class Lineage:
    """A run, the runs it was forked from (root first), and every step record its history can use."""

    runs: list[RunRecord]
    records: dict[int, StepRecord]
    own: list[StepRecord]
    #: for a fork: the step its first step follows (``None`` when it forks at the first step)
    fork_base: int | None = None
    #: journal results that deltas refer to, by (run, visit, node path, call index)
    journal: dict[tuple[str, int, str, int], Any] = dataclasses.field(default_factory=dict)

    @property
    def run(self) -> RunRecord:
        return self.runs[-1]

    @property
    def is_fork(self) -> bool:
        return self.run.kind == "fork"

    def head(self) -> int | None:
        """The newest step of this run that is not superseded; for a fork with none yet, its base."""
        for rec in reversed(self.own):
            if not rec.superseded:
                return rec.step
        return self.fork_base if self.is_fork else None

    def chain(self, upto: int | None) -> list[StepRecord]:
        """The steps leading to ``upto`` (inclusive), oldest first."""
        out: list[StepRecord] = []
        cursor = upto
        while cursor is not None:
            rec = self.records.get(cursor)
            if rec is None:
                raise RunError(f"run {self.run.run_id!r} has no step {cursor} in its history")
            out.append(rec)
            cursor = rec.parent_step
        out.reverse()
        return out

    def resolve(self, at: int | str, *, visit: bool = False, current: bool = False) -> StepRecord:
        """The step ``at`` names: a step number, or the path of a node that ran exactly once on the current path.

        ``visit``: the step that began its node visit (a step that re-ran a paused or failed node continues the
        visit an earlier step began; re-running the node means re-running the visit). ``current``: the step
        must be on the run's current path, not on a branch a rewind abandoned.
        """
        run_id = self.run.run_id
        if isinstance(at, int):
            rec = self.records.get(at)
            if rec is None:
                raise RunError(f"run {run_id!r} has no step {at}; its steps are {step_ranges(sorted(self.records))}")
            if current and rec.superseded:
                path = [r.step for r in self.chain(self.head())]
                raise RunError(
                    f"step {at} of run {run_id!r} was superseded by a rewind; resume(at=) rewinds along the run's "
                    f"current path (steps {step_ranges(path)}); fork({run_id!r}, at={at}) goes on from it in a new run"
                )
        else:
            chain = self.chain(self.head())
            hits = [r for r in chain if r.node_path == at]
            if len(hits) != 1:
                seen = sorted({r.node_path for r in chain})
                where = (
                    f"at steps {', '.join(str(r.step) for r in hits)}; pass at=<step>"
                    if hits
                    else (f"never; nodes on its path: {', '.join(seen)}")
                )
                raise RunError(f"node {at!r} ran {where} in run {run_id!r}")
            rec = hits[0]
        if visit and rec.visit != rec.step and rec.visit in self.records:
            rec = self.records[rec.visit]
        return rec

    def state_values(
        self, state: type[State], chain: list[StepRecord], *, pending_update: bool = False
    ) -> dict[str, Any]:
        """Fold the chain into channel values.

        The root run's input comes first; a fork's update applies where the chain enters that fork's
        own steps, or at the end with ``pending_update`` (a fork that has not run its first step).
        """
        channels = state.channels()
        values = {name: ch.default for name, ch in channels.items()}
        root = self.runs[0]
        if root.input and root.base_step is None:
            values = apply_writes(channels, values, _decode(channels, root.input, root.run_id, None), "input")
        updates = fork_updates(self.runs)
        start = 0
        bases = {r.base_step: r for r in self.runs if r.base_step is not None}
        if 0 in bases:  # migrated before its first step
            values = _base_values(channels, bases[0])
        for i, rec in enumerate(chain):
            if rec.step in bases:  # a migration replaced everything up to here (in the old schema)
                values, start = _base_values(channels, bases[rec.step]), i + 1
                updates = {k: v for k, v in updates.items() if all(r.run_id != k for r in chain[: i + 1])}
        snap_at = max((i for i, r in enumerate(chain) if r.snapshot is not None and i >= start), default=-1)
        appends = {n for n, ch in channels.items() if ch.appends}
        for i, rec in enumerate(chain[start:], start):
            for run_id, raw in updates.pop(rec.run_id, ()):
                values = apply_writes(channels, values, _decode(channels, raw, run_id, None), "fork update")
            writes = _decode_bytes(channels, rec, journal=self.journal)
            if i < snap_at:
                writes = {k: v for k, v in writes.items() if k in appends}
            values = apply_writes(channels, values, writes, rec.node_path)
            if i == snap_at:
                assert rec.snapshot is not None
                values.update(_decode_bytes(channels, rec, rec.snapshot))
        if pending_update:
            for run_id, raw in updates.get(self.run.run_id, ()):
                values = apply_writes(channels, values, _decode(channels, raw, run_id, None), "fork update")
        return values


def fork_updates(runs: list[RunRecord]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """For each fork in ``runs`` (a lineage, root first), the updates that apply where its own steps begin:
    those of the forks it inherits from (``metadata["fork_inherits"]``: it was forked at the first step of
    that fork, before that fork's update was folded into any step it shares), then its own."""
    by_id = {r.run_id: r for r in runs}

    def of(run: RunRecord) -> list[tuple[str, dict[str, Any]]]:
        inherited = by_id.get((run.metadata or {}).get("fork_inherits", ""))
        out = of(inherited) if inherited is not None and inherited is not run else []
        if run.fork_update:
            out.append((run.run_id, run.fork_update))
        return out

    return {r.run_id: ups for r in runs[1:] if (ups := of(r))}


def _base_values(channels: dict[str, Channel], run: RunRecord) -> dict[str, Any]:
    raw = run.base_state or {}
    return {n: ch.decode(raw[n]) if n in raw else ch.default for n, ch in channels.items()}


_RAW_REDUCERS: dict[str, Callable[[Any, Any], Any]] = {
    "append": lambda old, new: [*old, *new],
    "replace": lambda old, new: new,
    "merge": lambda old, new: {**old, **new},
    "add": lambda old, new: old + new,
}


def fold_raw(
    schema: list[str],
    runs: list[RunRecord],
    chain: list[StepRecord],
    journal: dict[tuple[str, int, str, int], Any],
) -> dict[str, Any]:
    """Fold a chain in its *recorded* schema (from the stored structure) into raw JSON values.

    This is what a migration starts from: the old state class may no longer exist in code, but the
    stored structure names every channel's reducer, and the deltas are plain JSON.
    """
    reducers: dict[str, Callable[[Any, Any], Any]] = {}
    values: dict[str, Any] = {}
    for line in schema:
        name, _, rest = line.partition(": ")
        reducer = rest.rsplit("[", 1)[-1].rstrip("]")
        if reducer not in _RAW_REDUCERS:
            raise IncompatibleGraph(
                f"channel {name!r} uses custom reducer {reducer!r}, which a migration cannot fold from JSON; "
                f"fork the run from a step you can rebuild instead"
            )
        reducers[name] = _RAW_REDUCERS[reducer]
        values[name] = [] if reducer == "append" else {} if reducer == "merge" else None
    base = next((r for r in runs if r.base_step is not None), None)
    start = next((i + 1 for i, rec in enumerate(chain) if base is not None and rec.step == base.base_step), 0)
    if base is not None and (start or base.base_step == 0):
        values.update(base.base_state or {})
    elif runs[0].input:
        _fold(reducers, values, runs[0].input)
    updates = fork_updates(runs)
    for rec in chain[start:]:
        for _, update in updates.pop(rec.run_id, ()):
            _fold(reducers, values, update)
        _fold(reducers, values, resolve_refs(loads(rec.writes), rec, journal))
    return values


def _fold(reducers: dict[str, Callable[[Any, Any], Any]], values: dict[str, Any], writes: dict[str, Any]) -> None:
    for key, write in writes.items():
        reducer = reducers.get(key, _RAW_REDUCERS["replace"])
        old = values.get(key)
        values[key] = write if old is None else reducer(old, write)


def _decode(
    channels: dict[str, Channel], raw: dict[str, Any], run_id: str, step: int | None, *, snapshot: bool = False
) -> dict[str, Any]:
    """A stored delta (or, with ``snapshot``, a snapshot's values) as channel values of the state's types."""
    out = {}
    for key, value in raw.items():
        ch = channels.get(key)
        if ch is None:
            raise CorruptCheckpoint(
                run_id,
                step,
                f"it writes channel {key!r}, which the state no longer declares; "
                f"register a migration on the graph or restore the channel",
            )
        try:
            out[key] = ch.decode(value) if snapshot else ch.decode_write(value)
        except ValueError as exc:  # pydantic's ValidationError: the stored value no longer fits the type
            raise CorruptCheckpoint(
                run_id,
                step,
                f"its value for channel {key!r} does not fit the state's type any more ({exc}); bump the "
                f"state's version and register a migration, or restore the type",
            ) from None
    return out


def has_refs(rec: StepRecord) -> bool:
    return b'"@journal"' in rec.writes


def resolve_refs(
    raw: dict[str, Any], rec: StepRecord, journal: Mapping[tuple[str, int, str, int], Any]
) -> dict[str, Any]:
    """Replace journal markers in a stored delta with the journal results they point at."""

    def one(value: Any) -> Any:
        if isinstance(value, dict) and "@journal" in value:
            key = (rec.run_id, rec.visit, rec.node_path, value["@journal"])
            if key not in journal:
                raise CorruptCheckpoint(rec.run_id, rec.step, f"its delta refers to a missing journal entry {key}")
            result = journal[key]
            return JournalRef(value["@journal"], value.get("key")).pick(result)
        return value

    return {k: [one(x) for x in v] if isinstance(v, list) else one(v) for k, v in raw.items()}


def _decode_bytes(
    channels: dict[str, Channel],
    rec: StepRecord,
    data: bytes | None = None,
    journal: dict[tuple[str, int, str, int], Any] | None = None,
) -> dict[str, Any]:
    try:
        raw = loads(rec.writes if data is None else data)
    except ValueError as exc:
        raise CorruptCheckpoint(rec.run_id, rec.step, f"its delta is not valid JSON ({exc})") from None
    if data is None:
        if journal is not None and has_refs(rec):
            raw = resolve_refs(raw, rec, journal)
        return _decode(channels, raw, rec.run_id, rec.step)
    return _decode(channels, {k: v for k, v in raw.items() if k in channels}, rec.run_id, rec.step, snapshot=True)


async def load_lineage(store: CheckpointStore, run_id: str) -> Lineage:
    """Read a run and, for a fork, the history it shares with the runs it was forked from."""
    run = await store.get_run(run_id)
    if run is None:
        raise RunNotFound(f"no run {run_id!r} in {store!r}; list runs with `loomflow runs list`")
    own = await store.steps(run_id)
    journal = await _journal_for(store, run_id, own)
    if run.kind != "fork" or run.parent_run is None:
        return Lineage([run], {r.step: r for r in own}, own, journal=journal)
    parent = await load_lineage(store, run.parent_run)
    point = run.parent_step or 1
    at = parent.records.get(point)
    if at is None:
        raise RunNotFound(f"run {run_id!r} was forked at step {point} of {run.parent_run!r}, which has no such step")
    records = {r.step: r for r in parent.chain(at.parent_step)}  # the history it shares: one branch
    records.update((r.step, r) for r in own)
    return Lineage([*parent.runs, run], records, own, at.parent_step, journal={**parent.journal, **journal})


async def _journal_for(
    store: CheckpointStore, run_id: str, steps: list[StepRecord]
) -> dict[tuple[str, int, str, int], Any]:
    if not any(has_refs(r) for r in steps):
        return {}
    return {
        (e.run_id, e.visit, e.node_path, e.index): loads(e.result)
        for e in await store.journal(run_id)
        if e.result is not None
    }


def step_ranges(steps: list[int]) -> str:
    """Sorted step numbers as runs: ``[1, 4, 5, 6, 9]`` -> ``"1, 4..6, 9"``."""
    if not steps:
        return "none yet"
    parts: list[str] = []
    start = prev = steps[0]
    for step in [*steps[1:], None]:
        if step is not None and step == prev + 1:
            prev = step
            continue
        parts.append(str(start) if start == prev else f"{start}..{prev}")
        if step is not None:
            start = prev = step
    return ", ".join(parts)
