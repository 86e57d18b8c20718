"""One run being executed in this process: the step function, the only place a run advances.

Per step: pick the node, run it (retry and timeout per node), check the route against the declared
edges, apply the update, write the checkpoint, emit events. ``Interpreter.run`` is a loop over
``Execution.step``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loomflow.checkpoint.codec import dumps
from loomflow.checkpoint.records import RunRecord, StepRecord
from loomflow.errors import RouteError, RunError
from loomflow.events import EventLog
from loomflow.graph import END, CompiledNode
from loomflow.journal import Journal, UncertainCall
from loomflow.lifecycle import Lifecycle
from loomflow.nodedef import NodeContext
from loomflow.outcomes import End, Interrupt, JournalRef, Outcome, Pause, Update
from loomflow.state import apply_writes

if TYPE_CHECKING:
    from loomflow.interpreter import Interpreter
    from loomflow.limits import Limits

__all__ = ["Execution"]

_SEQ_BLOCK = 1000  # seqs reserved in the store at a time, so a crashed run's successor never reuses one


class Execution:
    """The live state of one run: its values, its position, and its event log."""

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
        self.visits = Counter(r.node_path for r in chain if r.visit == r.step and r.status != "limit")
        self.limit_steps = sum(1 for r in chain if r.status == "limit")
        self.since_snapshot = _since_snapshot(chain)
        #: active seconds spent in this run's steps (what a wall-clock budget counts; waiting is free)
        self.elapsed = sum(r.duration for r in chain)
        self.buffer: list[StepRecord] = []
        self.interrupts: tuple[Interrupt, ...] = run.interrupts
        self.output: Any = run.output
        self.error: str | None = run.error
        self.cancel_requested = False
        self.task: asyncio.Task[Any] | None = None
        self.seq_reserved = run.seq_reserved
        self._channels = self.graph.state.channels()
        self._appends = {n for n, ch in self._channels.items() if ch.appends}

    @property
    def status(self) -> str:
        return self.life.state

    @property
    def done(self) -> bool:
        """True once the run left ``running`` (paused, ended, failed or stopped at a limit)."""
        return self.life.state != "running"

    # ------------------------------------------------------------------ events
    def emit(self, kind: str, node_path: str | None, step: int | None, data: dict[str, Any]) -> None:
        self.events.add(kind, node_path, step, self.interp.clock.now(), data)
        if self.events.next_seq > self.seq_reserved:
            self.seq_reserved += _SEQ_BLOCK
            self.interp._reserve_later(self)

    # ------------------------------------------------------------------ the step
    async def step(self) -> StepRecord | None:
        """Run the node at the cursor and record it; ``None`` when the run is not running."""
        if self.done or self.cursor is None:
            return None
        interp = self.interp
        path = self.cursor
        cn = self.graph.table[path]
        step_no = self.next_step
        visit = self.pending_visit if self.pending_visit is not None else step_no
        limit_reason = self._limit_reason(cn, fresh=self.pending_visit is None)
        if limit_reason is not None:
            return await self._finish_step(
                cn, step_no, visit, {}, None, END, "limit", interp.clock.now(), 0.0, 1, error=limit_reason
            )
        if self.pending_visit is None:
            self.visits[path] += 1
        clock = interp.clock
        ctx: NodeContext[Any] = NodeContext(
            state=self.graph.state.from_values(self.values),
            run_id=self.run_id,
            step=step_no,
            visit=visit,
            node_path=path,
            services=interp.services,
            clock=clock,
            journal=self.journal,
            answers=self.answers,
            emit=self.emit,
            budgets=self.limits.budgets,
            elapsed=self.elapsed,
        )
        self.emit("node_started", path, step_no, {})
        started = clock.now()
        t0 = clock.monotonic()
        try:
            outcome = await self._execute(cn, ctx)
        except UncertainCall as uc:
            outcome = Pause((uc.interrupt,))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._finish_step(
                cn,
                step_no,
                visit,
                {},
                None,
                None,
                "failed",
                started,
                clock.monotonic() - t0,
                ctx.attempt,
                error=_describe(exc),
                usage=ctx.usage,
            )
        duration = clock.monotonic() - t0
        try:
            route, target, status, writes = self._resolve(cn, outcome)
        except RunError as exc:
            return await self._finish_step(
                cn,
                step_no,
                visit,
                {},
                None,
                None,
                "failed",
                started,
                duration,
                ctx.attempt,
                error=str(exc),
                usage=ctx.usage,
            )
        return await self._finish_step(
            cn,
            step_no,
            visit,
            writes,
            route,
            target,
            status,
            started,
            duration,
            ctx.attempt,
            outcome=outcome,
            usage=ctx.usage,
            ctx=ctx,
        )

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
                ctx._calls = 0
                ctx._results.clear()

    def _resolve(self, cn: CompiledNode, outcome: Outcome) -> tuple[str | None, str | None, str, Any]:
        if isinstance(outcome, Update):
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

    async def _finish_step(
        self,
        cn: CompiledNode,
        step_no: int,
        visit: int,
        writes: Any,
        route: str | None,
        target: str | None,
        status: str,
        started: float,
        duration: float,
        attempts: int,
        *,
        error: str | None = None,
        outcome: Outcome | None = None,
        usage: dict[str, Any] | None = None,
        ctx: NodeContext[Any] | None = None,
    ) -> StepRecord:
        path = cn.path
        if writes:
            try:
                stored = writes
                if ctx is not None and ctx._results:
                    writes, stored = self._with_refs(ctx, writes)
                self.values = apply_writes(self._channels, self.values, writes, path)
                encoded = dumps(stored if type(stored) is dict else dict(stored))
            except (RunError, TypeError) as exc:
                writes, encoded, route, target = {}, b"{}", None, None
                status, error = "failed", str(exc)
        else:
            encoded = b"{}"
        interrupts = outcome.interrupts if isinstance(outcome, Pause) else ()
        snapshot = None
        self.since_snapshot += 1
        if self.since_snapshot >= self.interp.snapshot_every and status == "ok":
            snapshot = dumps({k: v for k, v in self.values.items() if k not in self._appends})
            self.since_snapshot = 0
        self.emit("node_finished", path, step_no, {"status": status, "route": route, "target": target})
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
            self.events.next_seq - 1,
            started,
            duration,
            attempts,
            error,
            interrupts,
            self.fresh_answers or None,
            usage or None,
            snapshot,
        )
        self.fresh_answers = {}
        await self.interp._write_step(self, rec)
        self.chain.append(rec)
        self.elapsed += duration
        if status == "limit":
            self.limit_steps += 1
        self.head = step_no
        self.next_step = step_no + 1
        if status == "ok":
            self.pending_visit = None
            self.cursor = None if target == END else target
            if target == END:
                await self.interp._settle(self, "completed")
        elif status == "interrupted":
            self.pending_visit = visit
            self.interrupts = interrupts
            for intr in interrupts:
                self.emit("interrupt", path, step_no, {"id": intr.id, "kind": intr.kind, "prompt": intr.prompt})
            await self.interp._settle(self, "interrupted")
        elif status == "failed":
            self.pending_visit = visit
            self.error = f"node {path!r} failed at step {step_no}: {error}"
            await self.interp._settle(self, "failed")
        else:  # ended by the node, or stopped at a limit
            self.pending_visit = None
            if isinstance(outcome, End):
                self.output = outcome.output
                self.error = outcome.reason
            else:
                self.error = error
            final = "completed" if status == "ended" else "limit_reached"
            await self.interp._settle(self, final)
        return rec

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
            else:
                resolved[key] = stored[key] = value
        return resolved, stored

    async def run_loop(self) -> None:
        """Step until the run leaves ``running``; this is ``run()``."""
        while not self.done:
            await self.step()

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.task is not None and not self.task.done():
            self.task.cancel()


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
