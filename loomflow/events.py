"""Typed events with a per-run, monotonically increasing ``seq`` that is never reused.

Kinds the kernel emits: ``run_started``, ``node_started``, ``node_retry``, ``node_finished``,
``interrupt``, ``run_finished``; nodes add their own through ``ctx.emit`` (``model_delta``,
``tool_started``, ...). Streaming is a view of the same loop as ``run()``: an ``EventLog`` keeps a run's
events, and a consumer that reconnects with its last seq gets what it missed.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
from collections.abc import AsyncIterator
from typing import Any, Final, Protocol

__all__ = ["Event", "EventLog", "FinishedStep"]

#: the data fields of kernel events that ``EventLog.add`` takes as a tuple of their values
_PACKED: Final = {"node_started": ()}


class FinishedStep(Protocol):
    """A step's record, kept as its ``node_finished`` event (``EventLog.add_finished``)."""

    seq: int
    node_path: str
    step: int
    started_at: float
    duration: float
    status: str
    route: str | None
    target: str | None


_Row = tuple[int, str, str | None, int | None, float, dict[str, Any] | tuple[Any, ...]] | FinishedStep


@dataclasses.dataclass(slots=True)  # not frozen: two are built per step, where frozen costs ~5x; never mutate
class Event:
    """One thing that happened in a run."""

    seq: int
    run_id: str
    kind: str
    node_path: str | None
    step: int | None
    time: float
    data: dict[str, Any]

    @property
    def type(self) -> str:
        """The event kind (the seed API's name for it)."""
        return self.kind

    @property
    def payload(self) -> dict[str, Any]:
        return self.data

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class EventLog:
    """The events of one run as seen by this process, with waiting subscribers.

    Seqs continue from ``first_seq``; the interpreter reserves seq ranges in the store so that a run
    resumed after a crash never reuses a seq that an earlier process may have handed out. Events are
    kept as plain tuples and become ``Event`` objects only when read: most are never read, and a tuple
    costs a fraction of an object on the step path. For the same reason ``node_started`` passes its
    data as a tuple of field values (made the dict when read), and a step's ``node_finished`` is its
    record itself, which holds every field of the event.
    """

    def __init__(self, run_id: str, first_seq: int) -> None:
        self.run_id = run_id
        self.next_seq = first_seq
        self._rows: list[_Row] = []
        self.closed = False
        self._waiters: list[asyncio.Future[None]] = []

    def add(
        self,
        kind: str,
        node_path: str | None,
        step: int | None,
        time: float,
        data: dict[str, Any] | tuple[Any, ...],
    ) -> int:
        """Record an event; returns its seq. ``data`` is a dict, or for ``node_started`` the values of its
        fields in order."""
        seq = self.next_seq
        self.next_seq = seq + 1
        self._rows.append((seq, kind, node_path, step, time, data))
        if self._waiters:
            self._wake()
        return seq

    def add_finished(self, step: FinishedStep) -> None:
        """Record a step's ``node_finished`` event, which took ``next_seq`` as its seq: the event is read
        from the record (time ``started_at + duration``; data ``status``, ``route``, ``target``)."""
        if step.seq != self.next_seq:
            raise ValueError(f"node_finished of step {step.step} has seq {step.seq}; the next seq is {self.next_seq}")
        self.next_seq = step.seq + 1
        self._rows.append(step)
        if self._waiters:
            self._wake()

    def _event(self, row: _Row) -> Event:
        if not isinstance(row, tuple):
            data = {"status": row.status, "route": row.route, "target": row.target}
            end = row.started_at + row.duration
            return Event(row.seq, self.run_id, "node_finished", row.node_path, row.step, end, data)
        seq, kind, node_path, step, time, fields = row
        data = dict(zip(_PACKED[kind], fields, strict=True)) if isinstance(fields, tuple) else fields
        return Event(seq, self.run_id, kind, node_path, step, time, data)

    @property
    def events(self) -> list[Event]:
        """Every event kept, in seq order."""
        return [self._event(r) for r in self._rows]

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def after(self, seq: int) -> list[Event]:
        """Events with a seq greater than ``seq``, in order."""
        rows = self._rows
        first = bisect.bisect_right(rows, seq, key=_seq)  # seqs are increasing
        return [self._event(r) for r in rows[first:]]

    async def follow(self, after: int = 0) -> AsyncIterator[Event]:
        """Yield events after ``after`` as they come, until the run stops in this process."""
        last = after
        while True:
            batch = self.after(last)
            for event in batch:
                last = event.seq
                yield event
            if self.closed and not self.after(last):
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter


def _seq(row: _Row) -> int:
    return row[0] if isinstance(row, tuple) else row.seq
