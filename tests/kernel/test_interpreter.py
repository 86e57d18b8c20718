"""The interpreter's loop: completion, routes, retries, timeouts, limits, cancel, durability, snapshots."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import pytest

from loomflow import (
    END,
    End,
    FakeClock,
    Graph,
    Interpreter,
    InvalidTransition,
    Limits,
    MemoryStore,
    NodeContext,
    Pause,
    Retry,
    RunError,
    SQLiteStore,
    State,
    Update,
    add,
    append,
    merge,
    node,
    sequential_ids,
)
from loomflow.checkpoint.codec import loads


class Counter(State):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()


def counter_graph(*, max_visits: int = 10, target: int = 3) -> Graph[Counter]:
    @node(max_visits=max_visits, routes=("again", "done"))
    async def count(ctx: NodeContext[Counter]) -> Update:
        if ctx.state.count >= target:
            return Update(route="done")
        return Update({"count": 1, "log": [f"c{ctx.state.count + 1}"]}, route="again")

    @node
    async def report(ctx: NodeContext[Counter]) -> Update:
        return Update({"log": ["report"]})

    return Graph(
        "counter",
        state=Counter,
        nodes=[count, report],
        edges=[("count", "count", "again"), ("count", "report", "done"), ("report", END)],
        start="count",
    )


def interp_for(graph: Graph[Any], store: Any = None, **kwargs: Any) -> Interpreter[Any]:
    return Interpreter(graph, store=store or MemoryStore(), clock=FakeClock(), ids=sequential_ids(), **kwargs)


async def test_run_to_completion() -> None:
    interp = interp_for(counter_graph())
    result = await interp.run()
    assert result.status == "completed"
    assert result.error is None
    assert result.state == Counter(count=3, log=("c1", "c2", "c3", "report"))
    assert result.run_id == "run-1"
    assert result.step == 5
    assert result.trace.nodes == ["count", "count", "count", "count", "report"]
    history = await interp.history(result.run_id)
    assert [r.step for r in history] == [1, 2, 3, 4, 5]
    assert [r.parent_step for r in history] == [None, 1, 2, 3, 4]
    assert [r.route for r in history] == ["again", "again", "again", "done", None]
    assert [r.target for r in history] == ["count", "count", "count", "report", END]
    assert loads(history[0].writes) == {"count": 1, "log": ["c1"]}
    assert (await interp.get_run(result.run_id)).status == "completed"
    assert await interp.state(result.run_id) == result.state
    stored = await interp.result(result.run_id)
    assert (stored.status, stored.state, stored.step) == ("completed", result.state, 5)


async def test_input_is_applied_before_the_first_step() -> None:
    result = await interp_for(counter_graph(target=3)).run({"count": 2, "log": ["given"]})
    assert result.state == Counter(count=3, log=("given", "c3", "report"))


async def test_a_bad_input_or_a_taken_run_id_is_refused_and_changes_nothing() -> None:
    store = MemoryStore()
    interp = interp_for(counter_graph(), store)
    done = await interp.run(run_id="r1")
    before = (await store.get_run("r1"), await store.steps("r1"))
    with pytest.raises(RunError, match="run 'r1' already exists; choose another run_id or resume it"):
        await interp.run(run_id="r1")
    with pytest.raises(RunError, match="node 'input' wrote channel 'nope', which the state does not declare"):
        await interp.run({"nope": 1}, run_id="r2")
    assert (await store.get_run("r1"), await store.steps("r1")) == before
    assert [r.run_id for r in await store.list_runs()] == [done.run_id]


# ---------------------------------------------------------------------- routes


class Note(State):
    note: str = ""
    log: Annotated[tuple[str, ...], append] = ()


@node
async def wander(ctx: NodeContext[Note]) -> Update:
    return Update({"log": ["wander"]}, route="elsewhere")


@node
async def elsewhere(ctx: NodeContext[Note]) -> Update:
    return Update({"note": "arrived"})


async def test_undeclared_route_fails_the_run_and_a_fixed_graph_resumes_it() -> None:
    store = MemoryStore()
    broken = Graph("roam", state=Note, nodes=[wander], edges=[("wander", END)], start="wander")
    result = await interp_for(broken, store).run()
    assert result.status == "failed"
    assert result.error is not None
    assert "node 'wander' returned route 'elsewhere'" in result.error
    assert "declares no edge wander --elsewhere--> ..." in result.error
    assert "add the edge or fix the route" in result.error
    assert result.state == Note()

    fixed = Graph(
        "roam",
        state=Note,
        nodes=[wander, elsewhere],
        edges=[("wander", END), ("wander", "elsewhere", "elsewhere"), ("elsewhere", END)],
        start="wander",
    )
    done = await interp_for(fixed, store).resume(result.run_id)
    assert done.status == "completed"
    assert done.state == Note(note="arrived", log=("wander",))
    assert [(r.node_path, r.status) for r in done.records] == [
        ("wander", "failed"),
        ("wander", "ok"),
        ("elsewhere", "ok"),
    ]


async def test_no_route_with_several_edges_fails_clearly() -> None:
    @node
    async def undecided(ctx: NodeContext[Note]) -> Update:
        return Update()

    g = Graph(
        "g",
        state=Note,
        nodes=[undecided],
        edges=[("undecided", END, "a"), ("undecided", END, "b")],
        start="undecided",
    )
    result = await interp_for(g).run()
    assert result.status == "failed"
    assert result.error is not None
    assert "returned no route, but it has several out-edges (routes: a, b)" in result.error


# ---------------------------------------------------------------------- retry and timeout


def flaky_graph(retry: Retry | None, *, failures: int, exc: type[Exception] = ValueError) -> Graph[Note]:
    @node(retry=retry)
    async def flaky(ctx: NodeContext[Note]) -> Update:
        calls: list[int] = ctx.services["calls"]
        calls.append(ctx.attempt)
        if len(calls) <= failures:
            raise exc(f"failure {len(calls)}")
        return Update({"note": f"ok after {len(calls)}"})

    return Graph("flaky", state=Note, nodes=[flaky], edges=[("flaky", END)], start="flaky")


async def test_retry_until_success() -> None:
    calls: list[int] = []
    interp = interp_for(flaky_graph(Retry(attempts=3, backoff=0), failures=2), services={"calls": calls})
    result = await interp.run()
    assert result.status == "completed"
    assert result.state.note == "ok after 3"
    assert calls == [1, 2, 3]
    (rec,) = await interp.history(result.run_id)
    assert rec.attempts == 3
    assert result.trace.steps[0].attempts == 3
    retries = [e for e in [e async for e in interp.events(result.run_id)] if e.kind == "node_retry"]
    assert [(e.node_path, e.data["attempt"]) for e in retries] == [("flaky", 1), ("flaky", 2)]
    assert retries[0].data["error"] == "ValueError: failure 1"


async def test_retry_backoff_sleeps_on_the_injected_clock() -> None:
    clock = FakeClock(start=0.0)
    calls: list[int] = []
    retry = Retry(attempts=3, backoff=0.5, multiplier=2.0)
    interp = Interpreter(flaky_graph(retry, failures=2), store=MemoryStore(), clock=clock, services={"calls": calls})
    result = await interp.run()
    assert result.status == "completed"
    assert clock.now() == pytest.approx(0.5 + 1.0)


async def test_retry_exhausted_fails_the_run() -> None:
    calls: list[int] = []
    interp = interp_for(flaky_graph(Retry(attempts=3, backoff=0), failures=99), services={"calls": calls})
    result = await interp.run()
    assert result.status == "failed"
    assert calls == [1, 2, 3]
    assert result.error == "node 'flaky' failed at step 1: ValueError: failure 3"
    (rec,) = await interp.history(result.run_id)
    assert (rec.status, rec.attempts) == ("failed", 3)


async def test_retry_only_on_the_listed_exceptions() -> None:
    calls: list[int] = []
    retry = Retry(attempts=3, backoff=0, on=(KeyError,))
    result = await interp_for(flaky_graph(retry, failures=1), services={"calls": calls}).run()
    assert result.status == "failed"
    assert calls == [1]


async def test_a_failed_run_resumes_by_retrying_the_step() -> None:
    calls: list[int] = []
    store = MemoryStore()
    interp = interp_for(flaky_graph(None, failures=1), store, services={"calls": calls})
    failed = await interp.run()
    assert failed.status == "failed"
    done = await interp.resume(failed.run_id)
    assert done.status == "completed"
    assert calls == [1, 1]
    assert [(r.step, r.visit, r.status) for r in done.records] == [(1, 1, "failed"), (2, 1, "ok")]


async def test_node_timeout_fails_the_run() -> None:
    @node(timeout=0.05)
    async def stuck(ctx: NodeContext[Note]) -> Update:
        await asyncio.Event().wait()
        return Update()

    g = Graph("slow", state=Note, nodes=[stuck], edges=[("stuck", END)], start="stuck")
    result = await interp_for(g).run()
    assert result.status == "failed"
    assert result.error is not None
    assert "node 'stuck' ran longer than its timeout of 0.05s" in result.error


# ---------------------------------------------------------------------- limits


async def test_max_visits_stops_the_run_and_a_larger_limit_resumes_it() -> None:
    store = MemoryStore()
    interp = interp_for(counter_graph(max_visits=2, target=5), store)
    result = await interp.run()
    assert result.status == "limit_reached"
    assert result.state.count == 2
    assert result.error == (
        "node 'count' reached its limit of 2 visits; resume with Limits(max_visits={'count': N}) to go on"
    )
    assert [r.status for r in result.records] == ["ok", "ok", "limit"]

    again = await interp.resume(result.run_id)  # same limit: stops again, losing nothing
    assert again.status == "limit_reached"
    assert again.state.count == 2

    done = await interp.resume(result.run_id, limits=Limits(max_visits={"count": 10}))
    assert done.status == "completed"
    assert done.state == Counter(count=5, log=("c1", "c2", "c3", "c4", "c5", "report"))


async def test_max_steps_stops_the_run_and_a_larger_limit_resumes_it() -> None:
    interp = interp_for(counter_graph(target=5))
    result = await interp.run(limits=Limits(max_steps=3))
    assert result.status == "limit_reached"
    assert result.error == "the run reached max_steps=3; resume with a larger limit to go on"
    assert result.state.count == 3
    done = await interp.resume(result.run_id, limits=Limits(max_steps=100))
    assert done.status == "completed"
    assert done.state.count == 5
    assert [r.status for r in done.records].count("limit") == 1


async def test_interpreter_default_limits_apply() -> None:
    result = await interp_for(counter_graph(target=5), limits=Limits(max_steps=2)).run()
    assert result.status == "limit_reached"
    assert result.state.count == 2


async def test_a_node_can_end_the_run() -> None:
    @node
    async def stop(ctx: NodeContext[Note]) -> End:
        return End(writes={"log": ["stop"]}, output={"partial": True}, status="limit_reached", reason="budget spent")

    @node
    async def finish(ctx: NodeContext[Note]) -> End:
        return End(writes={"note": "done"}, output=[1, 2])

    @node
    async def never(ctx: NodeContext[Note]) -> Update:
        raise AssertionError("End skips the node's edges")

    limited = await interp_for(
        Graph("g", state=Note, nodes=[stop, never], edges=[("stop", "never"), ("never", END)], start="stop")
    ).run()
    assert limited.status == "limit_reached"
    assert limited.error == "budget spent"
    assert limited.output == {"partial": True}
    assert limited.state.log == ("stop",)

    completed = await interp_for(
        Graph("g", state=Note, nodes=[finish, never], edges=[("finish", "never"), ("never", END)], start="finish")
    ).run()
    assert completed.status == "completed"
    assert completed.output == [1, 2]
    assert completed.state.note == "done"
    assert completed.records[-1].status == "ended"


# ---------------------------------------------------------------------- cancel


def waiting_graph(started: asyncio.Event, release: asyncio.Event) -> Graph[Counter]:
    @node
    async def first(ctx: NodeContext[Counter]) -> Update:
        return Update({"count": 1})

    @node
    async def wait(ctx: NodeContext[Counter]) -> Update:
        started.set()
        await release.wait()
        return Update({"count": 100})

    return Graph("waiting", state=Counter, nodes=[first, wait], edges=[("first", "wait"), ("wait", END)], start="first")


async def test_cancel_a_running_node() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    store = MemoryStore()
    interp = interp_for(waiting_graph(started, release), store)
    task = asyncio.create_task(interp.run(run_id="r1"))
    await started.wait()
    await interp.cancel("r1")
    result = await task
    assert result.status == "cancelled"
    assert result.state.count == 1
    assert (await store.get_run("r1")).status == "cancelled"  # type: ignore[union-attr]
    assert await store.lease("r1") is None
    assert [r.node_path for r in await interp.history("r1")] == ["first"]

    with pytest.raises(InvalidTransition, match="fork it"):
        await interp.resume("r1")
    release.set()
    branch = await interp.fork("r1", at=1)  # a final run goes on as a fork
    assert branch.status == "completed"
    assert branch.state.count == 101


class Asked(State):
    answer: str = ""


@node(interrupts=True)
async def ask(ctx: NodeContext[Asked]) -> Update | Pause:
    if not ctx.answered("q"):
        return ctx.interrupt("q", prompt="answer?")
    return Update({"answer": ctx.answer("q")})


def ask_graph() -> Graph[Asked]:
    return Graph("ask", state=Asked, nodes=[ask], edges=[("ask", END)], start="ask")


async def test_cancel_an_interrupted_run_from_another_interpreter(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    paused = await interp_for(ask_graph(), SQLiteStore(db)).run()
    assert paused.status == "interrupted"

    other = interp_for(ask_graph(), SQLiteStore(db))
    await other.cancel(paused.run_id)
    run = await other.get_run(paused.run_id)
    assert run.status == "cancelled"
    assert run.interrupts == ()

    with pytest.raises(InvalidTransition, match=r"cancelled.*fork it"):
        await interp_for(ask_graph(), SQLiteStore(db)).resume(paused.run_id, value="late")
    with pytest.raises(InvalidTransition, match="cancelled"):
        await other.cancel(paused.run_id)


async def test_a_completed_run_cannot_be_cancelled() -> None:
    interp = interp_for(counter_graph())
    done = await interp.run()
    with pytest.raises(InvalidTransition, match=r"completed.*fork"):
        await interp.cancel(done.run_id)


# ---------------------------------------------------------------------- durability


def peeking_graph(db: Path, seen: list[int]) -> Graph[Counter]:
    @node(max_visits=5, routes=("again", "done"))
    async def work(ctx: NodeContext[Counter]) -> Update:
        if ctx.state.count == 3:
            # a second connection, as another process would see the store mid-run
            peek = SQLiteStore(db)
            seen.append(len(await peek.steps(ctx.run_id)))
            await peek.close()
            return Update({"log": ["peeked"]}, route="done")
        return Update({"count": 1, "log": [f"w{ctx.state.count}"]}, route="again")

    @node
    async def last(ctx: NodeContext[Counter]) -> Update:
        return Update({"log": ["last"]})

    return Graph(
        "peek",
        state=Counter,
        nodes=[work, last],
        edges=[("work", "work", "again"), ("work", "last", "done"), ("last", END)],
        start="work",
    )


@pytest.mark.parametrize(("durability", "visible"), [("sync", 3), ("async", 0), ("exit", 0)])
async def test_what_the_store_holds_mid_run(tmp_path: Path, durability: Any, visible: int) -> None:
    db = tmp_path / "d.db"
    seen: list[int] = []
    interp = interp_for(peeking_graph(db, seen), SQLiteStore(db), durability=durability)
    result = await interp.run()
    assert result.status == "completed"
    assert seen == [visible]
    assert len(await SQLiteStore(db).steps(result.run_id)) == 5


@pytest.mark.parametrize("durability", ["async", "exit"])
async def test_durability_modes_record_identical_histories(tmp_path: Path, durability: Any) -> None:
    async def record(mode: Any, name: str) -> tuple[Any, ...]:
        db = tmp_path / f"{name}.db"
        interp = Interpreter(
            counter_graph(target=7),
            store=SQLiteStore(db),
            clock=FakeClock(),
            ids=sequential_ids(),
            durability=mode,
            snapshot_every=3,
            flush_every=2,
        )
        result = await interp.run()
        fresh = Interpreter(counter_graph(target=7), store=SQLiteStore(db))
        run = await fresh.get_run(result.run_id)
        events = [e async for e in interp.events(result.run_id)]
        return (
            await fresh.history(result.run_id),
            await fresh.state(result.run_id),
            (run.status, run.output, run.error, run.seq_reserved),
            events,
        )

    assert await record(durability, durability) == await record("sync", "sync")


async def test_interrupt_in_exit_mode_is_durable(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    paused = await interp_for(ask_graph(), SQLiteStore(db), durability="exit").run()
    assert paused.status == "interrupted"
    assert [r.status for r in await SQLiteStore(db).steps(paused.run_id)] == ["interrupted"]
    done = await interp_for(ask_graph(), SQLiteStore(db), durability="exit").resume(paused.run_id, value="yes")
    assert done.state.answer == "yes"


def test_bad_interpreter_options() -> None:
    with pytest.raises(ValueError, match="durability must be"):
        Interpreter(counter_graph(), store=MemoryStore(), durability="never")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="snapshot_every"):
        Interpreter(counter_graph(), store=MemoryStore(), snapshot_every=0)


# ---------------------------------------------------------------------- snapshots


class Mixed(State):
    log: Annotated[tuple[int, ...], append] = ()
    total: Annotated[int, add] = 0
    note: str = ""
    meta: Annotated[dict[str, int], merge] = {}  # noqa: RUF012 (a default, never mutated)
    pair: tuple[int, ...] = ()


ROUNDS = 10


def mixed_graph() -> Graph[Mixed]:
    @node(max_visits=ROUNDS + 1, routes=("again", "done"))
    async def grow(ctx: NodeContext[Mixed]) -> Update:
        i = len(ctx.state.log) + 1
        if i > ROUNDS:
            return Update({"note": "final"}, route="done")
        return Update(
            {"log": [i], "total": i, "note": f"n{i}", "meta": {f"k{i % 3}": i}, "pair": (i, i * i)}, route="again"
        )

    return Graph(
        "mixed", state=Mixed, nodes=[grow], edges=[("grow", "grow", "again"), ("grow", END, "done")], start="grow"
    )


def expected_after(step: int) -> Mixed:
    """The state after ``step``, built step by step without the interpreter."""
    values: dict[str, Any] = Mixed().values()
    for i in range(1, min(step, ROUNDS) + 1):
        values["log"] = (*values["log"], i)
        values["total"] += i
        values["note"] = f"n{i}"
        values["meta"] = {**values["meta"], f"k{i % 3}": i}
        values["pair"] = (i, i * i)
    if step > ROUNDS:
        values["note"] = "final"
    return Mixed(**values)


async def test_snapshot_every_k_loads_the_same_state_at_every_step(tmp_path: Path) -> None:
    db = tmp_path / "snap.db"
    result = await interp_for(mixed_graph(), SQLiteStore(db), snapshot_every=3).run()
    assert result.status == "completed"
    assert result.state == expected_after(ROUNDS + 1)

    fresh = Interpreter(mixed_graph(), store=SQLiteStore(db), snapshot_every=3)
    history = await fresh.history(result.run_id)
    assert [r.step for r in history if r.snapshot is not None] == [3, 6, 9]
    assert history[2].snapshot is not None
    assert set(loads(history[2].snapshot)) == {"total", "note", "meta", "pair"}  # append channels never
    for rec in history:
        assert await fresh.state(result.run_id, at=rec.step) == expected_after(rec.step), rec.step
    assert await fresh.state(result.run_id) == expected_after(ROUNDS + 1)


async def test_snapshots_survive_a_resume(tmp_path: Path) -> None:
    db = tmp_path / "snap.db"
    first = interp_for(mixed_graph(), SQLiteStore(db), snapshot_every=3, limits=Limits(max_steps=4))
    stopped = await first.run()
    assert stopped.status == "limit_reached"
    second = Interpreter(mixed_graph(), store=SQLiteStore(db), clock=FakeClock(), snapshot_every=3)
    done = await second.resume(stopped.run_id, limits=Limits(max_steps=100))
    assert done.status == "completed"
    assert done.state == expected_after(ROUNDS + 1)
    history = await second.history(stopped.run_id)
    assert [r.status for r in history].count("limit") == 1
    worked = [r.step for r in history if r.status == "ok"]
    assert len(worked) == ROUNDS + 1
    for k, step in enumerate(worked, 1):  # the limit step writes nothing: state follows the k-th working step
        assert await second.state(stopped.run_id, at=step) == expected_after(k)


async def test_resume_of_an_unknown_run() -> None:
    with pytest.raises(RunError, match="no run 'ghost'"):
        await interp_for(counter_graph()).resume("ghost")
