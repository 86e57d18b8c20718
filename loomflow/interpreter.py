"""The checkpointing interpreter: run, resume, fork, replay, inspect and cancel runs of one graph.

    interp = Interpreter(graph)                        # SQLite at .loomflow/loomflow.db by default
    result = await interp.run({"count": 0})
    result = await interp.resume(result.run_id, value="yes")      # answer its interrupt
    branch = await interp.fork(result.run_id, at=3, update={"count": 10})

Durability: ``sync`` commits each step before the next (default); ``async`` commits in groups of
``flush_every`` steps (and at every pause or end), so a crash may lose the last group, never an
effect (journal writes are always durable); ``exit`` writes only when the run pauses or ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Generic, Literal, TypeVar

from loomflow.answers import MISSING, validate_answers
from loomflow.checkpoint import CheckpointStore, open_store
from loomflow.checkpoint.codec import dumps, loads
from loomflow.checkpoint.records import RunRecord, StepRecord, restored_output, stored_output
from loomflow.clock import Clock, SystemClock, uuid_ids
from loomflow.errors import InvalidTransition, RunBusy, RunError
from loomflow.events import Event, EventLog
from loomflow.execution import _SEQ_BLOCK, Execution
from loomflow.graph import END, Graph
from loomflow.journal import Journal, ReplayVisits
from loomflow.lifecycle import FINAL, Lifecycle, LifecycleMachine
from loomflow.limits import Limits
from loomflow.lineage import Lineage, load_lineage
from loomflow.result import RunResult
from loomflow.schema import check_graph, check_node, migrated_values
from loomflow.state import State, apply_writes

__all__ = ["MISSING", "Durability", "Interpreter", "RunResult"]

Durability = Literal["sync", "async", "exit"]
S = TypeVar("S", bound=State)
_MISSING = MISSING  # the older internal name


class Interpreter(Generic[S]):
    """Executes one graph against a checkpoint store."""

    def __init__(
        self,
        graph: Graph[S],
        *,
        store: CheckpointStore | str | os.PathLike[str] | None = None,
        durability: Durability = "sync",
        services: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        ids: Callable[[], str] | None = None,
        snapshot_every: int = 50,
        flush_every: int = 64,
        lease_ttl: float = 30.0,
        limits: Limits | None = None,
    ) -> None:
        if durability not in ("sync", "async", "exit"):
            raise ValueError(f"durability must be 'sync', 'async' or 'exit', not {durability!r}")
        if snapshot_every < 1 or flush_every < 1:
            raise ValueError("snapshot_every and flush_every must be at least 1")
        self.graph = graph
        self.store = open_store(store if not isinstance(store, os.PathLike) else os.fspath(store))
        self.durability = durability
        self.services: Mapping[str, Any] = dict(services or {})
        self.clock: Clock = clock or SystemClock()
        self.ids = ids or uuid_ids()
        self.snapshot_every = snapshot_every
        self.flush_every = flush_every
        self.lease_ttl = lease_ttl
        self.limits = limits or Limits()
        #: identifies this process as a lease holder; a dead pid on this host frees its leases at once
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._machine = LifecycleMachine()
        self._active: dict[str, Execution] = {}
        self._logs: OrderedDict[str, EventLog] = OrderedDict()
        self._warm: dict[str, _Warm] = {}

    # ------------------------------------------------------------------ starting
    async def run(
        self,
        input: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        limits: Limits | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RunResult[S]:
        """Start a run with ``input`` (channel writes applied before the first step) and drive it."""
        exe = await self.start(input, run_id=run_id, limits=limits, metadata=metadata)
        return await self.drive(exe)

    async def start(
        self,
        input: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        limits: Limits | None = None,
        metadata: Mapping[str, Any] | None = None,
        parent: tuple[str, int] | None = None,
    ) -> Execution:
        """Create a run and return its ``Execution``: call ``step()`` yourself, or ``drive()`` it."""
        graph = self.graph
        channels = graph.state.channels()
        values = {n: ch.default for n, ch in channels.items()}
        raw_input = loads(dumps(dict(input))) if input else None
        if input:
            values = apply_writes(channels, values, input, "input")
        run_id = run_id or self.ids()
        limits = limits or self.limits
        life = Lifecycle(run_id, "created")
        self._machine.to(life, "running")
        now = self.clock.now()
        run = RunRecord(
            run_id,
            graph.name,
            graph.fingerprint,
            graph.state.__state_version__,
            life.state,
            now,
            now,
            parent_run=parent[0] if parent else None,
            parent_step=parent[1] if parent else None,
            input=raw_input,
            limits=limits.to_json(),
            metadata=dict(metadata) if metadata else None,
            seq_reserved=_SEQ_BLOCK,
            kind="child" if parent else "run",
        )
        await self.store.put_graph(graph.fingerprint, graph.structure())
        await self.store.create_run(run)
        await self._acquire(run_id)
        exe = self._execution(
            run,
            values,
            [],
            cursor=graph.start_path,
            head=None,
            next_step=1,
            pending_visit=None,
            limits=limits,
            first_seq=1,
        )
        exe.emit("run_started", None, None, {"graph": graph.name})
        return exe

    def _execution(
        self,
        run: RunRecord,
        values: dict[str, Any],
        chain: list[StepRecord],
        *,
        cursor: str | None,
        head: int | None,
        next_step: int,
        pending_visit: int | None,
        limits: Limits,
        first_seq: int,
        journal: Journal | None = None,
    ) -> Execution:
        log = EventLog(run.run_id, first_seq)
        self._logs[run.run_id] = log
        while len(self._logs) > 64:
            self._logs.popitem(last=False)
        return Execution(
            self,
            run,
            values,
            chain,
            cursor=cursor,
            head=head,
            next_step=next_step,
            pending_visit=pending_visit,
            limits=limits,
            journal=journal or Journal(self.store, run.run_id, self.clock),
            events=log,
        )

    async def drive(self, exe: Execution) -> RunResult[S]:
        """Step ``exe`` until it pauses or ends, keeping its lease alive; return its result."""
        if exe.run_id in self._active:
            raise RunBusy(f"run {exe.run_id!r} is already being driven in this process")
        exe.task = asyncio.current_task()
        self._active[exe.run_id] = exe
        heartbeat = asyncio.create_task(self._heartbeat(exe))
        try:
            await exe.run_loop()
        except asyncio.CancelledError:
            if exe.lost_lease:
                if exe.task is not None:
                    exe.task.uncancel()
                raise RunBusy(
                    f"run {exe.run_id!r} was taken over by another executor while this one ran it (its lease "
                    f"expired: a step ran longer than lease_ttl={self.lease_ttl:g}s without a heartbeat)"
                ) from None
            if not exe.cancel_requested:
                await self._release(exe)  # stopped from outside: resumable, like a crash
                raise
            if exe.task is not None:
                exe.task.uncancel()
            await self._settle(exe, "cancelled")
        except RunBusy:
            await self.store.release(exe.run_id, self.owner)  # a no-op unless this process holds it
            raise
        except BaseException:
            await self._release(exe)
            raise
        finally:
            heartbeat.cancel()
            self._active.pop(exe.run_id, None)
        return self._result(exe)

    # ------------------------------------------------------------------ resuming
    async def resume(
        self,
        run_id: str,
        *,
        value: Any = MISSING,
        values: Mapping[str, Any] | None = None,
        at: int | str | None = None,
        limits: Limits | None = None,
    ) -> RunResult[S]:
        """Continue a run after a crash, failure, limit or interrupt (answered by ``value``/``values``).

        ``at`` rewinds the same run: the node of step ``at`` runs again from the state before it, and
        that step and the ones after it stay in history marked superseded. ``at`` must be on the run's
        current path (fork a step of an abandoned branch instead); a step that re-ran a paused or failed node
        stands for that node visit, which runs again from its start.
        """
        if run_id in self._active:
            raise RunBusy(f"run {run_id!r} is running in this process; wait for it to pause or end")
        if await self.store.get_run(run_id) is None:
            await load_lineage(self.store, run_id)  # raises RunNotFound with the usual message
        # Take the run first, then read it: a resume that lost a race must see the winner's result.
        await self._acquire(run_id)
        try:
            warm = self._warm.pop(run_id, None)
            current = await self.store.get_run(run_id)
            if warm is not None and at is None and current is not None and warm.matches(current, self.graph):
                prepared = await self._prepare_warm(current, warm, value, values, limits)
            else:
                prepared = await self._prepare_resume(run_id, value, values, at, limits)
        except BaseException:
            await self.store.release(run_id, self.owner)
            raise
        run = prepared.run
        journal = None
        if run.kind == "replay" and run.replay_of is not None:
            journal = await self._replay_journal(run.replay_of, run_id, prepared.chain)
        exe = self._execution(
            run,
            prepared.values,
            prepared.chain,
            cursor=prepared.cursor,
            head=prepared.head,
            next_step=prepared.next_step,
            pending_visit=prepared.pending,
            limits=prepared.limits,
            first_seq=run.seq_reserved - _SEQ_BLOCK + 1,  # after every seq the last executor could use
            journal=journal,
        )
        exe.fresh_answers = prepared.fresh
        exe.journal_results.update(prepared.journal)
        exe.resumed = True
        exe.emit("run_resumed", None, None, {"from_step": prepared.head, "at": at})
        if prepared.cursor is None:  # the last step reached END but the process died before marking the run
            last = prepared.chain[-1] if prepared.chain else None
            if last is not None and last.output is not None:  # it ended with End(output=...)
                exe.output = restored_output(last.output, exe.values)
            await self._settle(exe, "completed")
            return self._result(exe)
        return await self.drive(exe)

    async def _prepare_resume(
        self,
        run_id: str,
        value: Any,
        values: Mapping[str, Any] | None,
        at: int | str | None,
        limits: Limits | None,
    ) -> _Prepared:
        """Load, check and mark a run as running again (the caller holds its lease)."""
        lin = await load_lineage(self.store, run_id)
        run = lin.run
        if run.status in FINAL:
            raise InvalidTransition(
                f"run {run_id!r} is {run.status}, which is final; fork it to go on from one of its steps"
            )
        fresh: dict[str, Any] = {}
        if at is not None:
            if value is not MISSING or values:
                raise RunError("resume(at=...) rewinds the run; it takes no interrupt value")
            rec = lin.resolve(at, visit=True, current=True)
            if rec.run_id != run_id:
                raise RunError(
                    f"step {rec.step} belongs to run {rec.run_id!r}, which {run_id!r} was forked from; "
                    f"fork that run instead"
                )
            head, pending = rec.parent_step, None
            cursor_path: str | None = rec.node_path
        else:
            head = lin.head()
            cursor_path, pending = self._continue_from(lin, head)
            fresh = validate_answers(run, value, values)
        check_node(self.graph, run_id, cursor_path)  # before anything is written: a refusal loses nothing
        lin = await check_graph(self.graph, self.store, lin, head=head)
        run = lin.run
        if at is not None:
            await self.store.supersede(run_id, rec.step)
            lin = await load_lineage(self.store, run_id)
        chain = lin.chain(head)
        own = [r.step for r in lin.own]
        if at is not None:
            # a rewound branch numbers its steps after every step number the run ever used, including
            # those of steps that crashed before they were recorded: the journal keys effects by them
            own += [e.visit for e in await self.store.journal(run_id)]
        next_step = max(own) + 1 if own else lin.run.parent_step or 1
        values_ = self._state_values(lin, chain)  # before the run is marked: a history that no longer loads
        run, limits = await self._mark_running(run, pending, fresh, limits)  # changes nothing
        return _Prepared(run, chain, head, cursor_path, pending, limits, fresh, values_, next_step, lin.journal)

    async def _prepare_warm(
        self, run: RunRecord, warm: _Warm, value: Any, values: Mapping[str, Any] | None, limits: Limits | None
    ) -> _Prepared:
        """Resume a run this process paused last, from what it still holds: no history is read again."""
        if run.status in FINAL:
            raise InvalidTransition(f"run {run.run_id!r} is {run.status}, which is final; fork it to go on")
        rec = warm.chain[-1] if warm.chain else None
        cursor_path, pending = self._continue_after(rec)
        fresh = validate_answers(run, value, values)
        run, limits = await self._mark_running(run, pending, fresh, limits)
        head = rec.step if rec is not None else None
        return _Prepared(
            run, list(warm.chain), head, cursor_path, pending, limits, fresh, warm.values, warm.next_step, warm.journal
        )

    async def _mark_running(
        self, run: RunRecord, pending: int | None, fresh: dict[str, Any], limits: Limits | None
    ) -> tuple[RunRecord, Limits]:
        # Only the visit that runs again needs answers; older ones stay in the steps that recorded them.
        marks = (f"@{pending}:", f"@{pending}/")  # the visit's own interrupts, and its children's
        answers = {k: v for k, v in (run.answers or {}).items() if pending is not None and any(m in k for m in marks)}
        answers.update(fresh)
        life = Lifecycle(run.run_id, run.status)
        self._machine.to(life, "running")
        stored_limits = Limits.from_json(run.limits)
        limits = stored_limits.raised(limits) if limits else stored_limits
        seq_reserved = run.seq_reserved + _SEQ_BLOCK
        await self.store.update_run(
            run.run_id,
            status="running",
            answers=answers,
            interrupts=(),
            error=None,
            limits=limits.to_json(),
            seq_reserved=seq_reserved,
            updated_at=self.clock.now(),
        )
        run = dataclasses.replace(
            run, status="running", answers=answers, interrupts=(), error=None, seq_reserved=seq_reserved
        )
        return run, limits

    def _continue_from(self, lin: Lineage, head: int | None) -> tuple[str | None, int | None]:
        """Which node runs next, and the visit it continues (for a paused or failed node)."""
        if head is None:
            return self.graph.start_path, None
        rec = lin.records[head]
        if rec.run_id != lin.run.run_id:  # a fork that has not run its first step yet
            return self._fork_node(lin), None
        return self._continue_after(rec)

    def _continue_after(self, rec: StepRecord | None) -> tuple[str | None, int | None]:
        if rec is None:
            return self.graph.start_path, None
        if rec.status == "ok":
            return (None if rec.target == END else rec.target), None
        if rec.status in ("interrupted", "failed"):
            return rec.node_path, rec.visit
        if rec.status == "limit":
            return rec.node_path, None
        return None, None  # ended: completed

    def _fork_node(self, lin: Lineage) -> str:
        meta = lin.run.metadata or {}
        return str(meta["fork_node"])

    # ------------------------------------------------------------------ forking and replay
    async def fork(
        self,
        run_id: str,
        *,
        at: int | str,
        update: Mapping[str, Any] | None = None,
        new_run_id: str | None = None,
        limits: Limits | None = None,
    ) -> RunResult[S]:
        """Start a new run that shares ``run_id``'s history before step ``at`` and re-runs that step's node
        on the state before it, with ``update`` applied. The original run is untouched.

        ``at`` may be any step of the run's history, one of a branch a rewind abandoned too: the fork shares
        the branch that leads to it. A step that re-ran a paused or failed node stands for that node visit.
        """
        lin = await load_lineage(self.store, run_id)
        rec = lin.resolve(at, visit=True)
        check_node(self.graph, run_id, rec.node_path)
        unknown = sorted(set(update or ()) - set(self.graph.state.channels()))
        if unknown:
            raise RunError(
                f"fork update names channel(s) {unknown} that the state does not declare "
                f"(channels: {', '.join(self.graph.state.channels())}); nothing was created"
            )
        lin = await check_graph(self.graph, self.store, lin)
        raw_update = loads(dumps(dict(update))) if update else None
        new_id = new_run_id or self.ids()
        now = self.clock.now()
        limits = limits or Limits.from_json(lin.run.limits)
        chain = lin.chain(rec.parent_step)
        metadata: dict[str, Any] = {"fork_node": rec.node_path}
        owner = next(r for r in lin.runs if r.run_id == rec.run_id)
        if owner.kind == "fork" and all(r.run_id != owner.run_id for r in chain):
            # forked at the first step of a fork: that fork's update belongs to this branch's start too
            metadata["fork_inherits"] = owner.run_id
        life = Lifecycle(new_id, "created")
        self._machine.to(life, "running")
        run = RunRecord(
            new_id,
            self.graph.name,
            self.graph.fingerprint,
            self.graph.state.__state_version__,
            "running",
            now,
            now,
            parent_run=run_id,
            parent_step=rec.step,
            fork_update=raw_update,
            limits=limits.to_json(),
            metadata=metadata,
            seq_reserved=_SEQ_BLOCK,
            kind="fork",
        )
        fork_lin = Lineage([*lin.runs, run], {r.step: r for r in chain}, [], rec.parent_step, lin.journal)
        values = fork_lin.state_values(self.graph.state, chain, pending_update=True)  # checks the update
        await self.store.put_graph(self.graph.fingerprint, self.graph.structure())
        await self.store.create_run(run)
        await self._acquire(new_id)
        exe = self._execution(
            run,
            values,
            chain,
            cursor=rec.node_path,
            head=rec.parent_step,
            next_step=rec.step,
            pending_visit=None,
            limits=limits,
            first_seq=1,
        )
        exe.journal_results.update(lin.journal)
        exe.emit("run_started", None, None, {"graph": self.graph.name, "fork_of": run_id, "at": rec.step})
        return await self.drive(exe)

    async def replay(self, run_id: str, *, new_run_id: str | None = None) -> RunResult[S]:
        """Re-execute a recorded run with every effect served from its journal (no network, no tools).

        The replay runs the recording's final path: the k-th visit of a node is served what the k-th visit
        of that node on the recording's final path recorded, so rewinds, failed attempts and limit stops in
        the recording do not shift it. Where the recorded run paused, the replay pauses too and is answered
        with the recorded answers. A call the recording did not make ends the replay ``failed`` with
        ``ReplayDivergence`` in its error.
        """
        source = await self.store.get_run(run_id)
        if source is None:
            await load_lineage(self.store, run_id)  # raises RunNotFound with the usual message
            raise AssertionError("unreachable")
        if source.kind == "fork":
            raise RunError(f"run {run_id!r} is a fork; replay the run it was forked from, then fork the replay")
        new_id = new_run_id or self.ids()
        channels = self.graph.state.channels()
        inputs = {k: channels[k].decode_write(v) for k, v in (source.input or {}).items() if k in channels}
        exe = await self.start(inputs, run_id=new_id, limits=Limits.from_json(source.limits))
        await self.store.update_run(new_id, kind="replay", replay_of=run_id)
        exe.run = dataclasses.replace(exe.run, kind="replay", replay_of=run_id)
        recorded_lin = await load_lineage(self.store, run_id)
        recorded_path = recorded_lin.chain(recorded_lin.head())
        exe.journal = await self._replay_journal(run_id, new_id, exe.chain, recorded_path)
        recorded = {k: v for rec in recorded_lin.own for k, v in (rec.answers or {}).items()}
        recorded.update(source.answers or {})
        result = await self.drive(exe)
        while result.status == "interrupted":
            visits = ReplayVisits(recorded_path, result.records)
            answers = {
                i.id: recorded[src]
                for i in result.interrupts
                if (src := visits.recorded_interrupt_id(i.id, i.node_path)) in recorded
            }
            if not answers:  # the recording waits here too
                return result
            if any(isinstance(v, dict) and "@bytes" in v for v in answers.values()):
                raise RunError(
                    f"run {run_id!r} was answered at {result.interrupt.node_path if result.interrupt else '?'} with "
                    f"a value too large to keep in its history; replay cannot give it again"
                )
            result = await self.resume(new_id, values=answers)
        return result

    async def _replay_journal(
        self, source_id: str, run_id: str, chain: list[StepRecord], recorded_path: list[StepRecord] | None = None
    ) -> Journal:
        """A journal that serves the recording's entries to the replay whose steps so far are ``chain``
        (``recorded_path``: the recording's final path, read here when the caller has not read it)."""
        entries = {(e.visit, e.node_path, e.index): e for e in await self.store.journal(source_id)}
        if recorded_path is None:
            source = await load_lineage(self.store, source_id)
            recorded_path = source.chain(source.head())
        return Journal(self.store, run_id, self.clock, replay=entries, visits=ReplayVisits(recorded_path, chain))

    # ------------------------------------------------------------------ inspecting
    async def history(self, run_id: str) -> list[StepRecord]:
        """Every step of the run, oldest first: shared steps of the runs it was forked from, then its own
        (superseded ones included and marked)."""
        lin = await load_lineage(self.store, run_id)
        shared = lin.chain(lin.fork_base) if lin.is_fork else []
        return [*shared, *lin.own]

    async def state(self, run_id: str, at: int | str | None = None) -> S:
        """The state after step ``at`` (default: the latest step on the run's current branch)."""
        lin = await load_lineage(self.store, run_id)
        if at is None:
            head = lin.head()
            chain = lin.chain(head)
            pending = lin.is_fork and all(r.run_id != run_id for r in chain)
            return self.graph.state.from_values(self._state_values(lin, chain, pending=pending))
        rec = lin.resolve(at)
        return self.graph.state.from_values(self._state_values(lin, lin.chain(rec.step), pending=False))

    async def get_run(self, run_id: str) -> RunRecord:
        return (await load_lineage(self.store, run_id)).run

    async def result(self, run_id: str) -> RunResult[S]:
        """The ``RunResult`` of a stored run, as ``run`` would have returned it."""
        lin = await load_lineage(self.store, run_id)
        chain = lin.chain(lin.head())
        run = lin.run
        values = self._state_values(lin, chain, pending=False)
        state = self.graph.state.from_values(values)
        output = restored_output(run.output, values)
        return RunResult(
            run_id,
            run.status,
            state,
            output,
            run.error,
            run.interrupts,
            chain[-1].step if chain else None,
            tuple(chain),
            lin.journal,
        )

    async def events(self, run_id: str, after: int = 0) -> AsyncIterator[Event]:
        """Events of a run executed by this interpreter with a seq greater than ``after``, following a
        live run until it pauses or ends."""
        log = self._logs.get(run_id)
        if log is None:
            raise RunError(f"run {run_id!r} has no events in this process; read its steps with history({run_id!r})")
        async for event in log.follow(after):
            yield event

    async def stream(self, input: Mapping[str, Any] | None = None, **kwargs: Any) -> AsyncIterator[Event]:
        """Start a run and yield its events as they happen; the same loop as ``run()``."""
        exe = await self.start(input, **kwargs)
        task = asyncio.create_task(self.drive(exe))
        try:
            async for event in exe.events.follow(0):
                yield event
        finally:
            await task

    async def cancel(self, run_id: str) -> None:
        """Cancel a run: at once if it runs in this process, else by marking it (a running holder elsewhere
        sees it at its next heartbeat). Its child runs that have not ended are cancelled with it (not its
        forks: a fork is a run of its own)."""
        exe = self._active.get(run_id)
        if exe is not None:
            exe.cancel()
        else:
            run = await self.get_run(run_id)
            life = Lifecycle(run_id, run.status)
            self._machine.to(life, "cancelled")
            await self.store.update_run(run_id, status="cancelled", interrupts=(), updated_at=self.clock.now())
        await self._cancel_children(run_id)

    async def _cancel_children(self, run_id: str) -> None:
        for child in await self.store.list_runs(parent_run=run_id, limit=1_000_000):
            if child.kind != "child" or child.status in FINAL:
                continue
            self._machine.to(Lifecycle(child.run_id, child.status), "cancelled")  # the one transition table
            # its own executor (a child interpreter, here or elsewhere) honours the mark when it settles
            await self.store.update_run(child.run_id, status="cancelled", interrupts=(), updated_at=self.clock.now())
            await self._cancel_children(child.run_id)

    # ------------------------------------------------------------------ internals used by Execution
    async def _flush(self, exe: Execution) -> None:
        if exe.buffer:
            buffer, exe.buffer = exe.buffer, []
            await self.store.append_steps(buffer)

    async def _settle(self, exe: Execution, status: str) -> None:
        """Move the run to a pause or end status and make everything about it durable."""
        if status != "cancelled":
            # cancel() from another executor marks the stored run and lets this one find out at its next
            # heartbeat; a run that pauses or ends before that must not write over the mark
            stored = await self.store.get_run(exe.run_id)
            if stored is not None and stored.status == "cancelled":
                status = "cancelled"
        self._machine.to(exe.life, status)
        await self._flush(exe)
        interrupts = exe.interrupts if status == "interrupted" else ()
        exe.emit("run_finished", None, exe.head, {"status": status, "error": exe.error})
        output = stored_output(exe.output, exe.values)
        now = self.clock.now()
        await self.store.update_run(
            exe.run_id,
            status=status,
            output=output,
            error=exe.error if status != "completed" else None,
            interrupts=interrupts,
            seq_reserved=exe.events.next_seq - 1,
            updated_at=now,
        )
        if status in FINAL or exe.run.kind == "fork":
            self._warm.pop(exe.run_id, None)
        else:  # kept so this process can resume the run without reading its history again
            self._warm[exe.run_id] = _Warm(
                now,
                exe.events.next_seq - 1,
                status,
                self.graph.fingerprint,
                tuple(exe.chain),
                exe.values,
                exe.next_step,
                exe.journal_results,
            )
            while len(self._warm) > 256:
                self._warm.pop(next(iter(self._warm)))
        await self.store.release(exe.run_id, self.owner)
        exe.events.close()

    async def _reserve(self, exe: Execution) -> None:
        """Persist a larger seq reservation (a node emitted more than a block of events in one step)."""
        exe.seq_dirty = False
        await self.store.update_run(exe.run_id, seq_reserved=exe.seq_reserved)

    async def _release(self, exe: Execution) -> None:
        await self._flush(exe)
        await self.store.update_run(exe.run_id, seq_reserved=exe.events.next_seq - 1)
        await self.store.release(exe.run_id, self.owner)
        exe.events.close()

    async def _acquire(self, run_id: str) -> None:
        now = self.clock.now()
        if await self.store.acquire(run_id, self.owner, self.lease_ttl, now):
            return
        held = await self.store.lease(run_id)
        if (
            held is not None
            and _dead_local_owner(held[0])
            and await self.store.acquire(run_id, self.owner, self.lease_ttl, now, steal_from=held[0])
        ):
            return
        holder = held[0] if held else "another executor"
        raise RunBusy(
            f"run {run_id!r} is being executed by {holder}; wait for it to pause or end "
            f"(its lease expires within {self.lease_ttl:.0f}s if that process died)"
        )

    async def _heartbeat(self, exe: Execution) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            if not await self.store.acquire(exe.run_id, self.owner, self.lease_ttl, self.clock.now()):
                exe.cancel_requested = False
                exe.lost_lease = True  # drive() turns the cancellation into RunBusy
                if exe.task is not None:
                    exe.task.cancel()
                return
            run = await self.store.get_run(exe.run_id)
            if run is not None and run.status == "cancelled":
                exe.cancel()
                return

    def _state_values(self, lin: Lineage, chain: list[StepRecord], *, pending: bool | None = None) -> dict[str, Any]:
        base = lin.run.base_step
        origin = (lin.run.metadata or {}).get("_migrated_from")
        if base and origin is not None and chain and all(r.step < base for r in chain):
            return migrated_values(self.graph, lin, chain, origin)
        if pending is None:
            pending = lin.is_fork and all(r.run_id != lin.run.run_id for r in chain)
        return lin.state_values(self.graph.state, chain, pending_update=pending)

    def _result(self, exe: Execution) -> RunResult[S]:
        state = self.graph.state.from_values(exe.values)
        return RunResult(
            exe.run_id,
            exe.status,
            state,
            exe.output,
            exe.error if exe.status != "completed" else None,
            exe.interrupts if exe.status == "interrupted" else (),
            exe.head,
            tuple(exe.chain),
            exe.journal_results,
        )


@dataclasses.dataclass(frozen=True)
class _Warm:
    """A paused run as this process left it; valid while the stored run still shows exactly that."""

    updated_at: float
    seq_reserved: int
    status: str
    fingerprint: str
    chain: tuple[StepRecord, ...]
    values: dict[str, Any]
    next_step: int
    journal: dict[tuple[str, int, str, int], Any]

    def matches(self, run: RunRecord, graph: Graph[Any]) -> bool:
        return (
            run.updated_at == self.updated_at
            and run.seq_reserved == self.seq_reserved
            and run.status == self.status
            and run.fingerprint == self.fingerprint == graph.fingerprint
        )


@dataclasses.dataclass(frozen=True)
class _Prepared:
    run: RunRecord
    chain: list[StepRecord]
    head: int | None
    cursor: str | None
    pending: int | None
    limits: Limits
    fresh: dict[str, Any]
    values: dict[str, Any]
    next_step: int
    journal: Mapping[tuple[str, int, str, int], Any]


def _dead_local_owner(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
