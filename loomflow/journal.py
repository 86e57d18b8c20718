"""The journal: effectful calls recorded before (intent) and after (result), so none runs twice.

Calls are keyed by (run, visit, node path, call index). Re-executing a node after a crash, a retry or
a pause serves recorded results. An intent without a result is re-run only for an idempotent call;
otherwise the node pauses with an ``uncertain_call`` interrupt and an operator answers ``"retry"`` or
``"skip"``. Replay serves a recorded run's results and fails on the first call that differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loomflow.checkpoint.codec import dumps, loads, request_hash
from loomflow.checkpoint.records import JournalEntry, StepRecord
from loomflow.errors import EffectSkipped, ReplayDivergence
from loomflow.outcomes import Interrupt

if TYPE_CHECKING:
    from loomflow.checkpoint.base import CheckpointStore
    from loomflow.clock import Clock
    from loomflow.nodedef import NodeContext

__all__ = ["Journal", "UncertainCall"]

_Key = tuple[int, str, int]


class UncertainCall(Exception):
    """Aborts a node whose earlier call may or may not have happened; becomes a Pause."""

    def __init__(self, interrupt: Interrupt) -> None:
        super().__init__(interrupt.prompt)
        self.interrupt = interrupt


class ReplayVisits:
    """Which recorded node visit a replay's visit stands for.

    A replay runs the recording's final path afresh, so its step numbers (and with them the visit numbers
    that key journal entries and interrupt ids) differ wherever the recording was rewound, failed and was
    resumed, or stopped at a limit. The k-th visit of a node in the replay is the k-th visit of that node on
    the recording's final path.
    """

    def __init__(self, recorded_path: Sequence[StepRecord], chain: Sequence[StepRecord]) -> None:
        self._recorded = _visits_by_node(recorded_path)
        self._chain = chain  # the replay's own steps so far (the execution's chain, which grows in place)
        self._mine: dict[str, list[int]] = {}
        self._read = 0  # how much of the chain ``_mine`` has taken in

    def recorded(self, node_path: str, visit: int) -> int | None:
        """The recording's visit for the replay's ``visit`` of ``node_path`` (None: the recording made fewer)."""
        if self._read < len(self._chain):  # steps recorded since the last call
            _visits_by_node(self._chain[self._read :], into=self._mine)
            self._read = len(self._chain)
        mine = self._mine.get(node_path, [])
        k = mine.index(visit) if visit in mine else len(mine)
        theirs = self._recorded.get(node_path, [])
        return theirs[k] if k < len(theirs) else None

    def recorded_interrupt_id(self, interrupt_id: str, node_path: str) -> str:
        """The id the recording gave the interrupt a replay's node raised (``node@visit:key``)."""
        prefix = f"{node_path}@"
        rest = interrupt_id.removeprefix(prefix)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        if rest == interrupt_id or not digits:
            return interrupt_id
        visit = self.recorded(node_path, int(rest[:digits]))
        return interrupt_id if visit is None else f"{prefix}{visit}{rest[digits:]}"


def _visits_by_node(steps: Sequence[StepRecord], into: dict[str, list[int]] | None = None) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {} if into is None else into
    for rec in steps:
        if rec.status == "limit":  # stopped before the node ran: not a visit
            continue
        seen = out.setdefault(rec.node_path, [])
        if rec.visit not in seen:
            seen.append(rec.visit)
    return out


class Journal:
    """The journal of one run, over its store (or serving another run's entries when replaying)."""

    def __init__(
        self,
        store: CheckpointStore,
        run_id: str,
        clock: Clock,
        replay: Mapping[_Key, JournalEntry] | None = None,
        visits: ReplayVisits | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.clock = clock
        self.replay = replay
        self.visits = visits

    async def call(
        self,
        ctx: NodeContext[Any],
        index: int,
        name: str,
        fn: Callable[[], Awaitable[Any]],
        request: Any,
        idempotent: bool,
        answers: Mapping[str, Any],
    ) -> Any:
        digest = request_hash([name, request])
        key = (ctx.visit, ctx.node_path, index)
        if self.replay is not None:
            served = self._serve_replay(key, name, digest)
            # the replay keeps its own copy, so its checkpoints' journal references resolve in it
            await self.store.journal_put(dataclasses.replace(served, run_id=self.run_id))
            return loads(served.result) if served.result is not None else None
        # A visit this process started afresh has no entries yet: skip the read (one query per call).
        entry = await self.store.journal_get(self.run_id, *key) if ctx.recorded_before else None
        if entry is not None:
            if entry.request_hash != digest:
                raise ReplayDivergence(
                    f"node {ctx.node_path!r} (step {ctx.visit}) call #{index} {name!r} now sends a different "
                    f"request than the recorded one; a node must make the same calls when it runs again"
                )
            if entry.status == "done":
                return loads(entry.result) if entry.result is not None else None
            if entry.status == "skipped":
                raise EffectSkipped(f"call {name!r} was skipped by an operator")
            if entry.status == "timed_out" and not idempotent:  # it may have taken effect: never repeat it
                raise TimeoutError(entry.error or f"call {name!r} timed out")
            if entry.status == "intent" and not idempotent:
                # The id names this intent: a retried call that is cut off again asks again.
                uid = ctx.interrupt_id(f"uncertain:{index}:{int(entry.started_at * 1e6)}")
                decision = answers.get(uid)
                if decision == "skip":
                    await self.store.journal_put(_with(entry, status="skipped", finished=self.clock.now()))
                    raise EffectSkipped(f"call {name!r} was skipped by an operator")
                if decision != "retry":
                    raise UncertainCall(
                        Interrupt(
                            uid,
                            "uncertain_call",
                            ctx.node_path,
                            ctx.step,
                            prompt=(
                                f"call {name!r} of node {ctx.node_path!r} started but never recorded a result "
                                f"(the process died mid-call); it is not idempotent, so it may have taken "
                                f"effect. Resume with 'retry' to call it again or 'skip' to go on without it."
                            ),
                            payload={"name": name, "index": index, "request": request},
                            allowed=("retry", "skip"),
                        )
                    )
        started = self.clock.now()
        intent = JournalEntry(self.run_id, *key, name, digest, idempotent, "intent", None, started)
        if not idempotent:  # an idempotent call cut off by a crash is simply made again: no intent needed
            await self.store.journal_put(intent)
        try:
            result = await fn()
        except TimeoutError as exc:
            error = str(exc) or f"call {name!r} timed out"
            await self.store.journal_put(_with(intent, status="timed_out", finished=self.clock.now(), error=error))
            raise
        except Exception as exc:
            await self.store.journal_put(_with(intent, status="failed", finished=self.clock.now(), error=repr(exc)))
            raise
        encoded = dumps(result)
        await self.store.journal_put(_with(intent, status="done", finished=self.clock.now(), result=encoded))
        return loads(encoded)

    def _serve_replay(self, key: _Key, name: str, digest: str) -> JournalEntry:
        assert self.replay is not None
        visit = key[0] if self.visits is None else self.visits.recorded(key[1], key[0])
        entry = self.replay.get((visit, key[1], key[2])) if visit is not None else None
        if entry is None or entry.request_hash != digest or entry.name != name:
            what = "was never made" if entry is None else "differs from the recorded one"
            raise ReplayDivergence(
                f"replay diverged at node {key[1]!r} step {key[0]} call #{key[2]} {name!r}: this call {what}"
            )
        if entry.status == "skipped":
            raise EffectSkipped(f"call {name!r} was skipped by an operator in the recorded run")
        if entry.status != "done":
            raise ReplayDivergence(
                f"replay reached call {name!r} at {key[1]!r} step {key[0]}, which has no recorded result"
            )
        return entry


def _with(
    entry: JournalEntry,
    *,
    status: str,
    finished: float,
    result: bytes | None = None,
    error: str | None = None,
) -> JournalEntry:
    return JournalEntry(
        entry.run_id,
        entry.visit,
        entry.node_path,
        entry.index,
        entry.name,
        entry.request_hash,
        entry.idempotent,
        status,
        result,
        entry.started_at,
        finished,
        error,
    )
