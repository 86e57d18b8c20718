"""Two executors resuming the same run: exactly one proceeds, the other gets ``RunBusy``.

Real processes racing on one SQLite file (released together by a barrier file), two interpreters on
two connections in one event loop, and the step-level compare-and-swap that stops an executor that
somehow runs a step another one already wrote. After the race the run's history holds every step
once and its stored state is the winner's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any

import crash_worker as cw  # the worker script beside this file (pytest puts its folder on sys.path)
import pytest

from loomflow import (
    END,
    Graph,
    Interpreter,
    NodeContext,
    Pause,
    RunBusy,
    RunError,
    SQLiteStore,
    State,
    StepRecord,
    Update,
    add,
    node,
)
from loomflow.checkpoint.codec import dumps, loads

RUN = "race-run"
#: how long the winner's ``slow`` node runs: far longer than the loser needs to reach the lease
HOLD = "1.0"


def gate_interpreter(db: Path) -> Interpreter[Any]:
    return Interpreter(cw.gate_graph(argparse.Namespace(hold=float(HOLD))), store=SQLiteStore(db))


async def _close(interp: Interpreter[Any]) -> None:
    await interp.store.close()


def check_stored(db: Path, run_id: str, values: dict[str, Any], nodes: list[tuple[str, str]]) -> None:
    """The run completed and released its lease; its history is ``nodes`` with each step number once;
    ``state()`` folds to ``values``."""

    async def read() -> None:
        interp = gate_interpreter(db)
        try:
            run = await interp.get_run(run_id)
            history = await interp.history(run_id)
            state = (await interp.state(run_id)).values()
            lease = await interp.store.lease(run_id)
        finally:
            await _close(interp)
        assert run.status == "completed"
        assert lease is None
        numbers = [r.step for r in history]
        assert numbers == list(range(1, len(history) + 1)), f"duplicate or missing steps: {numbers}"
        assert [(r.node_path, r.status) for r in history] == nodes
        assert state == values

    asyncio.run(read())


# ---------------------------------------------------------------------- two processes
def make_interrupted(db: Path) -> None:
    async def start() -> None:
        interp = gate_interpreter(db)
        try:
            result = await interp.run(run_id=RUN)
        finally:
            await _close(interp)
        assert result.status == "interrupted"

    asyncio.run(start())


def make_crashed(db: Path, effects: Path) -> None:
    """A run whose executor was SIGKILLed inside ``slow``: status ``running``, lease held by a dead pid."""
    make_interrupted(db)
    doomed = cw.Worker(db, RUN, effects, "gate-resume", "--value", "first", "--hold", "120")
    doomed.wait_for("slow")
    doomed.kill()

    async def holder() -> tuple[str, str] | None:
        store = SQLiteStore(db)
        try:
            run, lease = await store.get_run(RUN), await store.lease(RUN)
        finally:
            await store.close()
        assert run is not None
        return (run.status, lease[0].split(":")[1]) if lease else None

    assert asyncio.run(holder()) == ("running", str(doomed.proc.pid))


def race(tmp_path: Path, values: tuple[str | None, str | None]) -> list[tuple[int, list[str]]]:
    """Start two resuming processes, release them together, and return each one's exit code and lines."""
    db, effects, barrier = tmp_path / "run.db", tmp_path / "effects.txt", tmp_path / "go"
    workers = []
    for value in values:
        args = ["gate-resume", "--hold", HOLD, "--barrier", barrier]
        if value is not None:
            args += ["--value", value]
        workers.append(cw.Worker(db, RUN, effects, *args))
    for w in workers:
        w.wait_for("ready")  # both imported and connected: the race starts at the barrier, not at exec
    barrier.touch()
    return [(w.finish(), w.seen) for w in workers]


def outcome(lines: list[str]) -> str:
    return next(x for x in lines if x.startswith("outcome ")).split()[1]


def winner_result(results: list[tuple[int, list[str]]]) -> dict[str, Any]:
    ((_, lines),) = [r for r in results if r[0] == 0]
    data: dict[str, Any] = json.loads(next(x for x in lines if x.startswith("result ")).removeprefix("result "))
    return data


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_resume_a_crashed_run_exactly_one_proceeds(tmp_path: Path, attempt: int) -> None:
    db = tmp_path / "run.db"
    make_crashed(db, tmp_path / "effects.txt")

    results = race(tmp_path, (None, None))

    assert sorted(code for code, _ in results) == [0, 3], results
    assert sorted(outcome(lines) for _, lines in results) == ["busy", "completed"]
    result = winner_result(results)
    assert result["values"] == {"answer": "first", "passes": 1}
    # the killed executor's `slow` step never committed; the winner wrote it once, as step 3
    check_stored(db, RUN, result["values"], [("ask", "interrupted"), ("ask", "ok"), ("slow", "ok")])


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_answer_an_interrupt_exactly_one_proceeds(tmp_path: Path, attempt: int) -> None:
    db = tmp_path / "run.db"
    make_interrupted(db)

    results = race(tmp_path, ("a", "b"))

    codes = sorted(code for code, _ in results)
    assert codes in ([0, 3], [0, 4]), results
    loser = next(lines for code, lines in results if code != 0)
    # RunBusy is the contract; which refusal the loser gets today depends on whether it read the run
    # before or after the winner marked it running (see test_answer_while_another_executor_runs_is_busy)
    refusal = next(x for x in loser if x.startswith("outcome "))
    assert refusal.startswith("outcome busy") or "is running, not waiting at an interrupt" in refusal, refusal
    result = winner_result(results)
    assert result["values"]["passes"] == 1
    assert result["values"]["answer"] in ("a", "b")
    # the loser's answer changed nothing: the stored run is the winner's alone
    check_stored(db, RUN, result["values"], [("ask", "interrupted"), ("ask", "ok"), ("slow", "ok")])


# ---------------------------------------------------------------------- one process, two connections
class Box(State):
    answer: str = ""
    passes: Annotated[int, add] = 0


def box_graph() -> Graph[Box]:
    @node(interrupts=True)
    async def ask(ctx: NodeContext[Box]) -> Update | Pause:
        ctx.services["entered"].append(ctx.node_path)
        if ctx.services["broken"]:
            raise RuntimeError("the first attempt fails")
        if ctx.state.answer:  # given as input: nothing to ask
            return Update()
        if not ctx.answered("go"):
            return ctx.interrupt("go", prompt="go on?")
        return Update({"answer": str(ctx.answer("go"))})

    @node
    async def slow(ctx: NodeContext[Box]) -> Update:
        ctx.services["entered"].append(ctx.node_path)
        await asyncio.sleep(0.05)  # the other resume runs while this one holds the run
        return Update({"passes": 1})

    return Graph("box", state=Box, nodes=[ask, slow], edges=[("ask", "slow"), ("slow", END)], start="ask")


def box(db: Path, *, broken: bool = False, store: SQLiteStore | None = None) -> Interpreter[Box]:
    return Interpreter(
        box_graph(),
        store=store or SQLiteStore(db),
        services={"broken": broken, "entered": []},
        lease_ttl=3600,
    )


async def stored(interp: Interpreter[Box], run_id: str) -> tuple[str, list[tuple[int, str, str]], dict[str, Any]]:
    run = await interp.get_run(run_id)
    history = [(r.step, r.node_path, r.status) for r in await interp.history(run_id)]
    return run.status, history, (await interp.state(run_id)).values()


async def test_two_interpreters_resume_a_failed_run_one_gets_run_busy(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    failed = await box(db, broken=True).run(run_id=RUN, input={"answer": "given"})
    assert failed.status == "failed"
    a, b = box(db), box(db)  # two connections to one file, as two processes would have

    outcomes = await asyncio.gather(a.resume(RUN), b.resume(RUN), return_exceptions=True)

    busy = [o for o in outcomes if isinstance(o, RunBusy)]
    done = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(busy) == 1, outcomes
    assert len(done) == 1, outcomes
    assert done[0].status == "completed"
    # the winner ran `ask` again and then `slow`; the loser ran nothing
    assert sorted([a.services["entered"], b.services["entered"]]) == [[], ["ask", "slow"]]
    status, history, values = await stored(a, RUN)
    assert status == "completed"
    assert history == [(1, "ask", "failed"), (2, "ask", "ok"), (3, "slow", "ok")]
    assert values == done[0].state.values()
    assert await a.store.lease(RUN) is None


async def test_answer_while_another_executor_runs_is_busy(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    first = await box(db).run(run_id=RUN)
    assert first.status == "interrupted"
    a, b = box(db), box(db)

    outcomes = await asyncio.gather(a.resume(RUN, value="a"), b.resume(RUN, value="b"), return_exceptions=True)

    done = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(done) == 1
    assert done[0].status == "completed"
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], RunBusy), f"{type(refused[0]).__name__}: {refused[0]}"


class HeldStore(SQLiteStore):
    """The real SQLite store, whose first ``acquire`` waits until the test lets it go on: the moment a
    slow process spends between reading a run and claiming its lease, made deterministic."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reached = asyncio.Event()
        self.go_on = asyncio.Event()
        self._held = False

    async def acquire(self, run_id: str, owner: str, ttl: float, now: float, *, steal_from: str | None = None) -> bool:
        if not self._held:
            self._held = True
            self.reached.set()
            await self.go_on.wait()
        return await super().acquire(run_id, owner, ttl, now, steal_from=steal_from)


async def test_resume_that_loses_the_race_leaves_the_completed_run_alone(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    first = await box(db).run(run_id=RUN)
    assert first.status == "interrupted"
    late_store = HeldStore(db)
    late = box(db, store=late_store)
    a = box(db)

    late_task = asyncio.create_task(late.resume(RUN, value="late"))
    await late_store.reached.wait()  # `late` has read the run as interrupted; it has no lease yet
    won = await a.resume(RUN, value="a")
    assert won.status == "completed"
    late_store.go_on.set()
    with pytest.raises(RunError):  # RunBusy, or InvalidTransition ("completed is final"): either refuses
        await late_task

    status, history, values = await stored(a, RUN)
    assert late.services["entered"] == [], "the late executor ran the answered node a second time"
    assert status == "completed"
    assert await a.store.lease(RUN) is None
    assert history == [(1, "ask", "interrupted"), (2, "ask", "ok"), (3, "slow", "ok")]
    assert values == {"answer": "a", "passes": 1}


# ---------------------------------------------------------------------- the step-level compare-and-swap
class Pair(State):
    who: str = ""
    steps: Annotated[int, add] = 0


def pair_graph() -> Graph[Pair]:
    @node
    async def first(ctx: NodeContext[Pair]) -> Update:
        return Update({"steps": 1})

    @node
    async def second(ctx: NodeContext[Pair]) -> Update:
        ctx.services["inside"].set()
        await ctx.services["release"].wait()
        return Update({"who": "interpreter", "steps": 1})

    return Graph("pair", state=Pair, nodes=[first, second], edges=[("first", "second"), ("second", END)], start="first")


async def test_step_written_by_another_executor_stops_this_one(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    services = {"inside": asyncio.Event(), "release": asyncio.Event()}
    interp = Interpreter(pair_graph(), store=SQLiteStore(db), services=services)
    task = asyncio.create_task(interp.run(run_id=RUN))
    await services["inside"].wait()  # step 2 is executing and not written yet

    # A second executor that also believes it holds the run writes step 2 first, on its own connection.
    other = SQLiteStore(db)
    (step1,) = await other.steps(RUN)
    intruder = StepRecord(
        RUN, 2, 1, 2, "second", None, END, "ok", dumps({"who": "other", "steps": 1}), step1.seq + 10, time.time(), 0.0
    )
    await other.append_step(intruder)
    with pytest.raises(RunBusy):  # the store's CAS, seen directly: a step number is written once
        await other.append_step(intruder)

    services["release"].set()
    with pytest.raises(RunBusy, match="step 2"):
        await task

    history = await interp.history(RUN)
    assert [(r.step, r.node_path) for r in history] == [(1, "first"), (2, "second")]
    assert loads(history[1].writes) == {"who": "other", "steps": 1}  # the first writer's step stands
    assert (await interp.state(RUN)).values() == {"who": "other", "steps": 2}
    await other.close()


async def test_an_executor_that_loses_its_lease_stops_with_run_busy(tmp_path: Path) -> None:

    from loomflow import END, Graph, Interpreter, RunBusy, SQLiteStore, State, Update, node

    class Waiting(State):
        n: Annotated[int, add] = 0

    gate, entered = asyncio.Event(), asyncio.Event()

    @node
    async def wait(ctx: Any) -> Update:
        entered.set()
        await gate.wait()
        return Update({"n": 1})

    graph = Graph("slow", state=Waiting, nodes=[wait], edges=[("wait", END)], start="wait")
    db = tmp_path / "lease.db"
    interp = Interpreter(graph, store=SQLiteStore(db), lease_ttl=0.3)
    running = asyncio.create_task(interp.run(run_id="taken"))
    await asyncio.wait_for(entered.wait(), 30)  # the run holds its lease and waits in its node
    other = SQLiteStore(db)
    assert await other.acquire("taken", "someone-else", 3600.0, 10**12)  # as if the lease had expired
    with pytest.raises(RunBusy, match="taken over by another executor"):
        await asyncio.wait_for(running, 30)
    gate.set()
    await other.close()
