"""One run being executed in this process: the step function, the only place a run advances.

Per step: pick the node, run it (retry and timeout per node), check the route against the declared
edges, apply the update, write the checkpoint, emit events. ``Interpreter.run`` is a loop over
``Execution.step``.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from loomflow.checkpoint.codec import dumps
from loomflow.checkpoint.records import RunRecord, StepRecord, stored_output
from loomflow.errors import RouteError, RunError
from loomflow.events import EventLog
from loomflow.graph import END, CompiledNode
from loomflow.journal import Journal, UncertainCall
from loomflow.lifecycle import Lifecycle
from loomflow.nodedef import FunctionNode, NodeContext
from loomflow.outcomes import End, Interrupt, JournalRef, Outcome, Pause, Update
from loomflow.state import bad_write

if TYPE_CHECKING:
    from loomflow.interpreter import Interpreter
    from loomflow.limits import Limits

__all__ = ["Execution"]

_NodeFn = Callable[[NodeContext[Any]], Awaitable[Outcome]]
_new_object = object.__new__  # looked up once: attributes of a class are not cached per call site in 3.11
_SEQ_BLOCK = 1000  # seqs reserved in the store at a time, so a crashed run's successor never reuses one


class Execution:
    """The live state of one run: its values, its position, and its event log."""

    # slots: the step reads and writes ~40 of these; a dict of 50 keys (past the shared-key limit) was
    # ~0.2 us/step slower
    __slots__ = (
        "_appends",
        "_buffer_limit",
        "_channels",
        "_clock",
        "_dispatch",
        "_max_steps",
        "_monotonic",
        "_now",
        "_reducers",
        "_snapshot_every",
        "_state_cls",
        "_store",
        "_sync_writes",
        "_table",
        "answers",
        "budgets",
        "buffer",
        "cancel_requested",
        "chain",
        "clock",
        "cursor",
        "elapsed",
        "error",
        "events",
        "first_step",
        "fresh_answers",
        "graph",
        "head",
        "interp",
        "interrupts",
        "journal",
        "journal_results",
        "life",
        "limit_steps",
        "limits",
        "lost_lease",
        "next_step",
        "output",
        "pending_visit",
        "resumed",
        "run",
        "run_id",
        "seq_dirty",
        "seq_reserved",
        "services",
        "since_snapshot",
        "state",
        "task",
        "values",
        "visits",
    )

    def __init__(
        self,
        interp: Interpreter[Any],
        run: RunRecord,
        values: dict[str, Any],
        chain: list[StepRecord],
        *,
        cursor: str | None,
        head: int | None,
        next_step: int,
        pending_visit: int | None,
        limits: Limits,
        journal: Journal,
        events: EventLog,
    ) -> None:
        self.interp = interp
        self.graph = interp.graph
        self.run = run
        self.run_id = run.run_id
        self.life = Lifecycle(run.run_id, run.status)
        self.values = values
        #: the State that nodes see: a view of ``values`` (its ``__dict__``), made when they change
        self.state = interp.graph.state.from_values(values)
        self.chain = chain
        self.cursor = cursor
        self.head = head
        self.next_step = next_step
        self.pending_visit = pending_visit
        self.limits = limits
        self.journal = journal
        self.events = events
        self.answers: dict[str, Any] = dict(run.answers or {})
        self.fresh_answers: dict[str, Any] = {}
        #: visits so far by node path, every node of the graph included (a plain dict: read every step)
        self.visits = dict.fromkeys(self.graph.table, 0)
        self.visits.update(Counter(r.node_path for r in chain if r.visit == r.step and r.status != "limit"))
        self.limit_steps = sum(1 for r in chain if r.status == "limit")
        self.since_snapshot = _since_snapshot(chain)
        #: active seconds spent in this run's steps (what a wall-clock budget counts; waiting is free)
        self.elapsed = sum(r.duration for r in chain)
        self.buffer: list[StepRecord] = []
        self.interrupts: tuple[Interrupt, ...] = run.interrupts
        self.output: Any = run.output
        self.error: str | None = run.error
        self.cancel_requested = False
        self.lost_lease = False
        self.task: asyncio.Task[Any] | None = None
        self.seq_reserved = run.seq_reserved
        #: journal results this run's checkpoints refer to (loaded with its history, or seen here)
        self.journal_results: dict[tuple[str, int, str, int], Any] = {}
        self.seq_dirty = False
        self._channels = self.graph.state.channels()
        self._table = self.graph.table
        self._state_cls = self.graph.state
        self.services = interp.services
        self.clock = interp.clock
        self.budgets = limits.budgets
        self._clock = interp.clock
        self._snapshot_every = interp.snapshot_every
        self._sync_writes = interp.durability == "sync"
        #: set by resume/replay: steps up to ``first_step`` may have journal entries from an earlier process
        self.resumed = False
        self.first_step = next_step
        self._store = interp.store
        self._now = interp.clock.now
        self._monotonic = interp.clock.monotonic
        self._max_steps = limits.max_steps
        # steps that end in a buffer fill it up to this length without a write (sync: every step writes)
        self._buffer_limit = (
            0 if self._sync_writes else interp.flush_every if interp.durability == "async" else sys.maxsize
        )
        #: per node path: the compiled node, the function to call directly when the node has neither retry
        #: nor timeout (a function node's function itself), and its visit bound (the run's override over
        #: the node's own max_visits)
        self._dispatch: dict[str, tuple[CompiledNode, _NodeFn | None, int | None]] = {
            p: (
                c,
                (c.node.fn if isinstance(c.node, FunctionNode) else c.node.run)
                if c.node.retry is None and c.node.timeout is None
                else None,
                limits.max_visits.get(p, c.node.max_visits),
            )
            for p, c in self._table.items()
        }
        self._reducers = {n: ch.writer() for n, ch in self._channels.items()}
        self._appends = {n for n, ch in self._channels.items() if ch.appends}

    @property
    def status(self) -> str:
        return self.life.state

    @property
    def done(self) -> bool:
        """True once the run left ``running`` (paused, ended, failed or stopped at a limit)."""
        return self.life.state != "running"

    # ------------------------------------------------------------------ events
    def emit(
        self, kind: str, node_path: str | None, step: int | None, data: dict[str, Any], at: float | None = None
    ) -> None:
        self.events.add(kind, node_path, step, self.interp.clock.now() if at is None else at, data)
        if self.events.next_seq > self.seq_reserved:
            self.seq_reserved += _SEQ_BLOCK  # persisted with the next step (see Interpreter._reserve)
            self.seq_dirty = True

    # ------------------------------------------------------------------ the step
    async def step(self) -> StepRecord | None:
        """Run the node at the cursor and record it; ``None`` when the run is not running."""
        path = self.cursor
        if path is None or self.life.state != "running":
            return None
        cn, direct, limit = self._dispatch[path]
        step_no = self.next_step
        pending = self.pending_visit
        visit = step_no if pending is None else pending
        if pending is None:
            visits = self.visits[path]
            if (limit is not None and visits >= limit) or self._max_steps is not None:
                reason = self._limit_reason(cn, fresh=True)
                if reason is not None:
                    return await self._stop_at_limit(cn, step_no, visit, reason)
            self.visits[path] = visits + 1
        elif self._max_steps is not None:
            reason = self._limit_reason(cn, fresh=False)
            if reason is not None:
                return await self._stop_at_limit(cn, step_no, visit, reason)
        # Under sync durability a resumed run's later steps are new; buffered modes may have lost steps
        # whose journal entries survived, so they always read.
        ctx: NodeContext[Any] = NodeContext(
            self,
            self.state,
            step_no,
            visit,
            path,
            not self._sync_writes or (self.resumed and visit <= self.first_step),
        )
        started = self._now()
        self.events.add("node_started", path, step_no, started, ())  # node_finished checks the seq reservation
        t0 = self._monotonic()
        error = None
        outcome: Outcome | None
        try:
            outcome = await (direct(ctx) if direct is not None else self._execute(cn, ctx))
        except UncertainCall as uc:
            outcome = Pause((uc.interrupt,))
        except Exception as exc:  # CancelledError is not an Exception: cancellation propagates
            outcome, error = None, _describe(exc)
        rec = self._record(cn, step_no, visit, started, self._monotonic() - t0, ctx, outcome, error)
        if (
            rec.status == "ok"
            and rec.target != END
            and not self.seq_dirty
            and len(self.buffer) + 1 < self._buffer_limit
        ):
            # the usual step under buffered durability: nothing to write or settle, so no awaiting
            # (``_advance`` written out: a call costs ~0.1 us of a ~4 us step)
            self.buffer.append(rec)
            self.chain.append(rec)
            self.elapsed += rec.duration
            self.head = step_no
            self.next_step = step_no + 1
            self.pending_visit = None
            self.cursor = rec.target
            return rec
        await self._commit(rec, outcome)
        return rec

    async def _stop_at_limit(self, cn: CompiledNode, step_no: int, visit: int, reason: str) -> StepRecord:
        rec = self._record(cn, step_no, visit, self._now(), 0.0, None, None, reason, limit=True)
        await self._commit(rec, None)
        return rec

    async def _execute(self, cn: CompiledNode, ctx: NodeContext[Any]) -> Outcome:
        node = cn.node
        retry = node.retry
        while True:
            try:
                if node.timeout is None:
                    return await node.run(ctx)
                try:
                    async with asyncio.timeout(node.timeout):
                        return await node.run(ctx)
                except TimeoutError:
                    raise TimeoutError(f"node {cn.path!r} ran longer than its timeout of {node.timeout}s") from None
            except UncertainCall:
                raise
            except Exception as exc:
                if retry is None or ctx.attempt >= retry.attempts or not isinstance(exc, retry.on):
                    raise
                self.emit("node_retry", cn.path, ctx.step, {"attempt": ctx.attempt, "error": _describe(exc)})
                await ctx.clock.sleep(retry.delay(ctx.attempt))
                ctx.attempt += 1
                ctx.recorded_before = True
                ctx._calls = 0
                ctx._results = None

    def _resolve(self, cn: CompiledNode, outcome: Outcome | None) -> tuple[str | None, str | None, str, Any]:
        """(route, target, status, writes) of an outcome; a RunError names what is wrong with it."""
        if type(outcome) is Update:
            route = outcome.route
            target = cn.default if route is None else cn.out.get(route)
            if target is None:
                declared = sorted(str(r) for r in cn.out) or ["(none)"]
                if route is None:
                    raise RouteError(
                        f"node {cn.path!r} returned no route, but it has several out-edges "
                        f"(routes: {', '.join(declared)}); return Update(..., route=...)"
                    )
                raise RouteError(
                    f"node {cn.path!r} returned route {route!r}, but graph {self.graph.name!r} declares no "
                    f"edge {cn.path} --{route}--> ... (declared routes: {', '.join(declared)}); add the edge "
                    f"or fix the route. The run is failed and resumable."
                )
            return route, target, "ok", outcome.writes
        if isinstance(outcome, Pause):
            if not outcome.interrupts:
                raise RunError(f"node {cn.path!r} returned a Pause with no interrupts; use ctx.interrupt(...)")
            return None, None, "interrupted", outcome.writes
        if isinstance(outcome, End):
            if outcome.status == "failed":
                return None, None, "failed", outcome.writes
            return None, END, "ended" if outcome.status == "completed" else "limit", outcome.writes
        raise RunError(
            f"node {cn.path!r} returned {type(outcome).__name__}; return Update(...), ctx.interrupt(...) or End(...)"
        )

    def _limit_reason(self, cn: CompiledNode, *, fresh: bool) -> str | None:
        max_steps = self.limits.max_steps
        if max_steps is not None and len(self.chain) - self.limit_steps >= max_steps:
            return f"the run reached max_steps={max_steps}; resume with a larger limit to go on"
        if not fresh:
            return None
        limit = self.limits.max_visits.get(cn.path, cn.node.max_visits)
        if limit is not None and self.visits[cn.path] >= limit:
            return (
                f"node {cn.path!r} reached its limit of {limit} visits; resume with "
                f"Limits(max_visits={{{cn.path!r}: N}}) to go on"
            )
        return None

    def _record(
        self,
        cn: CompiledNode,
        step_no: int,
        visit: int,
        started: float,
        duration: float,
        ctx: NodeContext[Any] | None,
        outcome: Outcome | None,
        error: str | None,
        *,
        limit: bool = False,
    ) -> StepRecord:
        """Apply the outcome, encode the checkpoint and emit ``node_finished``: the step's record, not yet
        written (``_commit`` writes it and moves the run on)."""
        path = cn.path
        route = target = None
        status = "failed"
        encoded = b"{}"
        if limit:
            status, target = "limit", END
        elif error is None:
            try:
                if type(outcome) is Update and (
                    target := cn.default if outcome.route is None else cn.out.get(outcome.route)
                ):
                    route, status, writes = outcome.route, "ok", outcome.writes
                else:
                    route, target, status, writes = self._resolve(cn, outcome)
                if writes:
                    stored = writes
                    if ctx is not None and ctx._results:
                        writes, stored = self._with_refs(ctx, writes)
                    # the new values are made in the new State's own __dict__ (cheaper than wrapping a copy)
                    state = _new_object(self._state_cls)
                    values = state.__dict__
                    values.update(self.values)
                    reducers = self._reducers
                    try:
                        for key, write in writes.items():
                            values[key] = reducers[key](values[key], write)
                    except Exception as exc:  # an unknown channel, or a reducer that refused the write
                        raise bad_write(self._channels, path, key, exc) from exc
                    encoded = dumps(stored if type(stored) is dict else dict(stored))
                    self.values = values
                    self.state = state
            except (RunError, TypeError) as exc:
                route = target = None
                status, error, encoded = "failed", str(exc), b"{}"
        interrupts = outcome.interrupts if status == "interrupted" and isinstance(outcome, Pause) else ()
        snapshot = None
        self.since_snapshot += 1
        if status == "ok" and self.since_snapshot >= self._snapshot_every:
            try:
                snapshot = dumps({k: v for k, v in self.values.items() if k not in self._appends})
                self.since_snapshot = 0
            except (TypeError, ValueError):  # a folded value JSON cannot hold (each delta could): fold deltas
                snapshot = None
        seq = self.events.next_seq  # of node_finished, which is the record itself (EventLog.add_finished)
        if seq >= self.seq_reserved:
            self.seq_reserved += _SEQ_BLOCK
            self.seq_dirty = True
        rec = StepRecord(
            self.run_id,
            step_no,
            self.head,
            visit,
            path,
            route,
            target,
            status,
            encoded,
            seq,
            started,
            duration,
            ctx.attempt if ctx is not None else 1,
            error,
            interrupts,
            _answers_record(self.fresh_answers) if self.fresh_answers else None,
            (ctx._usage or None) if ctx is not None else None,
            snapshot,
            False,
            stored_output(outcome.output, self.values) if status == "ended" and isinstance(outcome, End) else None,
        )
        self.events.add_finished(rec)
        if self.fresh_answers:
            self.fresh_answers = {}
        return rec

    def _advance(self, rec: StepRecord) -> None:
        """Move the run past a recorded step (the position only; ``_commit`` settles pauses and ends)."""
        self.chain.append(rec)
        self.elapsed += rec.duration
        self.head = rec.step
        self.next_step = rec.step + 1
        if rec.status == "ok":
            self.pending_visit = None
            self.cursor = None if rec.target == END else rec.target

    async def _commit(self, rec: StepRecord, outcome: Outcome | None) -> None:
        """Write the step's record (or buffer it, per durability), move the run on, settle a pause or end."""
        if self.seq_dirty:
            await self.interp._reserve(self)
        if self._sync_writes:
            await self._store.append_step(rec)
        else:
            self.buffer.append(rec)
            if len(self.buffer) >= self._buffer_limit:
                await self.interp._flush(self)
        self._advance(rec)
        status = rec.status
        if status == "ok":
            if rec.target == END:
                await self.interp._settle(self, "completed")
            return
        path, step_no = rec.node_path, rec.step
        if status == "interrupted":
            self.pending_visit = rec.visit
            self.interrupts = rec.interrupts
            for intr in rec.interrupts:
                self.emit("interrupt", path, step_no, {"id": intr.id, "kind": intr.kind, "prompt": intr.prompt})
            await self.interp._settle(self, "interrupted")
        elif status == "failed":
            self.pending_visit = rec.visit
            error = rec.error
            if error is None and isinstance(outcome, End):
                error = outcome.reason or "the node ended the run as failed"
            self.error = f"node {path!r} failed at step {step_no}: {error}"
            await self.interp._settle(self, "failed")
        else:  # ended by the node, or stopped at a limit
            self.pending_visit = None
            if status == "limit":
                self.limit_steps += 1
            if isinstance(outcome, End):
                self.output = outcome.output
                self.error = outcome.reason
            else:
                self.error = rec.error
            await self.interp._settle(self, "completed" if status == "ended" else "limit_reached")

    def _with_refs(self, ctx: NodeContext[Any], writes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Resolve journal references: the state gets the values, the checkpoint gets the markers."""
        resolved: dict[str, Any] = {}
        stored: dict[str, Any] = {}
        for key, value in writes.items():
            ch = self._channels.get(key)
            if ch is None:
                resolved[key] = stored[key] = value  # apply_writes names the unknown channel
            elif isinstance(value, JournalRef):
                resolved[key] = ch.decode_write(ctx.resolve(value))
                stored[key] = value.marker()
                self._keep(ctx, value)
            elif isinstance(value, list | tuple) and any(isinstance(v, JournalRef) for v in value):
                if not ch.appends:
                    raise RunError(
                        f"node {ctx.node_path!r} wrote journal references inside channel {key!r}; only append "
                        f"channels take them as items (write the whole value as one reference instead)"
                    )
                resolved[key] = [
                    ch.decode_write([ctx.resolve(v)])[0] if isinstance(v, JournalRef) else v for v in value
                ]
                stored[key] = [v.marker() if isinstance(v, JournalRef) else v for v in value]
                for v in value:
                    if isinstance(v, JournalRef):
                        self._keep(ctx, v)
            else:
                resolved[key] = stored[key] = value
        return resolved, stored

    def _keep(self, ctx: NodeContext[Any], ref: JournalRef) -> None:
        """Remember a referenced result, so this run's trace shows the value and not the reference."""
        self.journal_results[(self.run_id, ctx.visit, ctx.node_path, ref.index)] = (ctx._results or {})[ref.index]

    async def run_loop(self) -> None:
        """Step until the run leaves ``running``; this is ``run()``."""
        life = self.life
        while life.state == "running":
            await self.step()

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.task is not None and not self.task.done():
            self.task.cancel()


def _answers_record(answers: dict[str, Any]) -> dict[str, Any] | None:
    """The answers a step records for history: small ones as given (approvals, choices); a large value (a
    long user message) by its size only, since the node that received it writes what it keeps of it."""
    if not answers:
        return None
    out: dict[str, Any] = {}
    for key, value in answers.items():
        size = len(dumps(value))
        out[key] = value if size <= 512 else {"@bytes": size}
    return out


def _since_snapshot(chain: list[StepRecord]) -> int:
    count = 0
    for rec in reversed(chain):
        if rec.snapshot is not None:
            break
        count += 1
    return count


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
