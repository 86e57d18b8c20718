"""Interrupts, resume (by value, by values, rewinding with ``at=``), fork, state at a step, graph
compatibility and migrations, and replay from the journal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest

from loomflow import (
    END,
    CorruptCheckpoint,
    FakeClock,
    Graph,
    IncompatibleGraph,
    Interpreter,
    Interrupt,
    InvalidTransition,
    Limits,
    MemoryStore,
    NodeContext,
    Pause,
    RunError,
    SQLiteStore,
    State,
    Update,
    add,
    append,
    node,
    sequential_ids,
)


class Flow(State):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()
    decision: str = ""


def interp_for(graph: Graph[Any], store: Any = None, **kwargs: Any) -> Interpreter[Any]:
    return Interpreter(graph, store=store or MemoryStore(), clock=FakeClock(), ids=sequential_ids(), **kwargs)


@node
async def a(ctx: NodeContext[Flow]) -> Update:
    return Update({"count": 1, "log": ["a"]})


@node
async def b(ctx: NodeContext[Flow]) -> Update:
    seen: list[Flow] = ctx.services.get("b_saw", [])
    seen.append(ctx.state)
    return Update({"count": 10, "log": ["b"]})


@node(interrupts=True)
async def gate(ctx: NodeContext[Flow]) -> Update | Pause:
    if not ctx.answered("decision"):
        return ctx.interrupt(
            "decision",
            kind="review",
            prompt=f"count is {ctx.state.count}; go?",
            payload={"count": ctx.state.count},
            allowed=("approve", "reject"),
        )
    decision = ctx.answer("decision")
    return Update({"decision": decision if isinstance(decision, str) else f"reject: {decision['reject']}"})


@node
async def c(ctx: NodeContext[Flow]) -> Update:
    return Update({"count": 100, "log": ["c"]})


def flow_graph() -> Graph[Flow]:
    """a -> b -> gate (interrupt) -> c -> END"""
    return Graph(
        "flow",
        state=Flow,
        nodes=[a, b, gate, c],
        edges=[("a", "b"), ("b", "gate"), ("gate", "c"), ("c", END)],
        start="a",
    )


def linear_graph() -> Graph[Flow]:
    """a -> b -> c -> END"""
    return Graph("linear", state=Flow, nodes=[a, b, c], edges=[("a", "b"), ("b", "c"), ("c", END)], start="a")


# ---------------------------------------------------------------------- interrupts


async def test_interrupt_pauses_the_run_with_a_full_record() -> None:
    interp = interp_for(flow_graph())
    result = await interp.run()
    assert result.status == "interrupted"
    expected = Interrupt(
        id="gate@3:decision",
        kind="review",
        node_path="gate",
        step=3,
        prompt="count is 11; go?",
        payload={"count": 11},
        allowed=("approve", "reject"),
    )
    assert result.interrupts == (expected,)
    assert result.interrupt == expected
    assert result.state == Flow(count=11, log=("a", "b"))
    assert (await interp.get_run(result.run_id)).interrupts == (expected,)
    assert (await interp.history(result.run_id))[-1].interrupts == (expected,)


async def test_resume_with_a_value_from_a_new_interpreter(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    paused = await interp_for(flow_graph(), SQLiteStore(db)).run()

    fresh = Interpreter(flow_graph(), store=SQLiteStore(db), clock=FakeClock())
    done = await fresh.resume(paused.run_id, value={"reject": "too small"})
    assert done.status == "completed"
    assert done.interrupts == ()
    assert done.state == Flow(count=111, log=("a", "b", "c"), decision="reject: too small")
    history = await fresh.history(paused.run_id)
    assert [(r.step, r.node_path, r.status, r.visit) for r in history] == [
        (1, "a", "ok", 1),
        (2, "b", "ok", 2),
        (3, "gate", "interrupted", 3),
        (4, "gate", "ok", 3),
        (5, "c", "ok", 5),
    ]
    assert history[3].answers == {"gate@3:decision": {"reject": "too small"}}


async def test_a_value_outside_allowed_is_refused_and_nothing_is_lost() -> None:
    interp = interp_for(flow_graph())
    paused = await interp.run()
    before = (await interp.get_run(paused.run_id), await interp.history(paused.run_id))
    with pytest.raises(
        RunError, match=r"accepts 'approve', 'reject' or \{'reject': 'note'\}, not 'maybe'; nothing was changed"
    ):
        await interp.resume(paused.run_id, value="maybe")
    assert (await interp.get_run(paused.run_id), await interp.history(paused.run_id)) == before
    done = await interp.resume(paused.run_id, value="approve")
    assert done.status == "completed"
    assert done.state.decision == "approve"


class Pair(State):
    got: Annotated[tuple[str, ...], append] = ()


@node(interrupts=True)
async def two_questions(ctx: NodeContext[Pair]) -> Update | Pause:
    if not (ctx.answered("a") and ctx.answered("b")):
        return Pause((ctx.make_interrupt("a", prompt="first?"), ctx.make_interrupt("b", kind="approval")))
    return Update({"got": [f"a={ctx.answer('a')}", f"b={ctx.answer('b')}"]})


def pair_graph() -> Graph[Pair]:
    return Graph("pair", state=Pair, nodes=[two_questions], edges=[("two_questions", END)], start="two_questions")


async def test_several_pending_interrupts_need_values() -> None:
    interp = interp_for(pair_graph())
    paused = await interp.run()
    assert [(i.id, i.kind) for i in paused.interrupts] == [
        ("two_questions@1:a", "input"),
        ("two_questions@1:b", "approval"),
    ]
    with pytest.raises(RunError, match=r"waits at 2 interrupts .*resume\(run_id, values="):
        await interp.resume(paused.run_id, value="x")
    with pytest.raises(RunError, match="has no pending interrupt 'nope'"):
        await interp.resume(paused.run_id, values={"nope": 1})
    assert (await interp.get_run(paused.run_id)).status == "interrupted"
    done = await interp.resume(paused.run_id, values={"two_questions@1:a": "x", "two_questions@1:b": "approve"})
    assert done.status == "completed"
    assert done.state.got == ("a=x", "b=approve")


async def test_a_value_for_a_run_not_waiting_is_refused() -> None:
    interp = interp_for(flow_graph())
    stopped = await interp.run(limits=Limits(max_steps=1))
    assert stopped.status == "limit_reached"
    with pytest.raises(RunError, match="is limit_reached, not waiting at an interrupt; resume it without a value"):
        await interp.resume(stopped.run_id, value="x", limits=Limits(max_steps=10))
    assert (await interp.get_run(stopped.run_id)).status == "limit_reached"


# ---------------------------------------------------------------------- rewind


async def test_resume_at_a_step_rewinds_and_supersedes() -> None:
    b_saw: list[Flow] = []
    interp = interp_for(flow_graph(), services={"b_saw": b_saw})
    paused = await interp.run()
    state_before_b = await interp.state(paused.run_id, at=1)

    again = await interp.resume(paused.run_id, at=2)
    assert again.status == "interrupted"
    assert b_saw == [state_before_b, state_before_b]  # b re-ran from the state before it
    assert again.state == Flow(count=11, log=("a", "b"))
    history = await interp.history(paused.run_id)
    assert [(r.step, r.node_path, r.parent_step, r.superseded) for r in history] == [
        (1, "a", None, False),
        (2, "b", 1, True),
        (3, "gate", 2, True),
        (4, "b", 1, False),
        (5, "gate", 4, False),
    ]
    assert again.interrupt is not None
    assert again.interrupt.id == "gate@5:decision"
    assert [r.step for r in again.records] == [1, 4, 5]

    done = await interp.resume(paused.run_id, value="approve")
    assert done.state == Flow(count=111, log=("a", "b", "c"), decision="approve")


async def test_resume_at_a_node_path() -> None:
    interp = interp_for(flow_graph())
    paused = await interp.run()
    again = await interp.resume(paused.run_id, at="b")
    assert [r.node_path for r in again.records] == ["a", "b", "gate"]
    assert [r.superseded for r in await interp.history(paused.run_id)] == [False, True, True, False, False]


async def test_resume_at_a_subgraph_node_path() -> None:
    inner = Graph("inner", state=Flow, nodes=[a, b], edges=[("a", "b"), ("b", END)], start="a")
    g = Graph(
        "outer", state=Flow, nodes=[inner.as_node("work"), gate], edges=[("work", "gate"), ("gate", END)], start="work"
    )
    interp = interp_for(g)
    paused = await interp.run()
    assert [r.node_path for r in paused.records] == ["work/a", "work/b", "gate"]
    again = await interp.resume(paused.run_id, at="work/b")
    assert [(r.step, r.node_path) for r in again.records] == [(1, "work/a"), (4, "work/b"), (5, "gate")]
    assert again.state == Flow(count=11, log=("a", "b"))


class Loop(State):
    n: Annotated[int, add] = 0


@node(max_visits=10, routes=("again", "done", "wait"))
async def spin(ctx: NodeContext[Loop]) -> Update:
    return Update({"n": 1}, route="again" if ctx.state.n < 2 else "wait")


@node(interrupts=True)
async def hold(ctx: NodeContext[Loop]) -> Update | Pause:
    return ctx.interrupt("x") if not ctx.answered("x") else Update()


def loop_graph() -> Graph[Loop]:
    return Graph(
        "loop",
        state=Loop,
        nodes=[spin, hold],
        edges=[("spin", "spin", "again"), ("spin", END, "done"), ("spin", "hold", "wait"), ("hold", END)],
        start="spin",
    )


async def test_an_ambiguous_or_unknown_node_path_lists_the_candidates() -> None:
    interp = interp_for(loop_graph())
    paused = await interp.run()
    assert paused.status == "interrupted"
    with pytest.raises(RunError, match=r"node 'spin' ran at steps 1, 2, 3; pass at=<step>"):
        await interp.resume(paused.run_id, at="spin")
    with pytest.raises(RunError, match=r"node 'nowhere' ran never; nodes on its path: hold, spin"):
        await interp.state(paused.run_id, at="nowhere")
    with pytest.raises(RunError, match=r"has no step 99; its steps are 1\.\.4"):
        await interp.fork(paused.run_id, at=99)
    assert await interp.state(paused.run_id, at="hold") == Loop(n=3)


# ---------------------------------------------------------------------- state at a step


async def test_state_at_each_step() -> None:
    interp = interp_for(linear_graph())
    done = await interp.run()
    assert await interp.state(done.run_id, at=1) == Flow(count=1, log=("a",))
    assert await interp.state(done.run_id, at=2) == Flow(count=11, log=("a", "b"))
    assert await interp.state(done.run_id, at=3) == Flow(count=111, log=("a", "b", "c"))
    assert await interp.state(done.run_id, at="b") == Flow(count=11, log=("a", "b"))
    assert await interp.state(done.run_id) == done.state


# ---------------------------------------------------------------------- fork


async def snapshot(interp: Interpreter[Any], run_id: str) -> tuple[Any, ...]:
    return (await interp.history(run_id), await interp.state(run_id), await interp.get_run(run_id))


async def test_completed_runs_cannot_be_resumed_but_can_be_forked() -> None:
    interp = interp_for(linear_graph())
    done = await interp.run()
    with pytest.raises(InvalidTransition, match="completed, which is final; fork it"):
        await interp.resume(done.run_id)
    with pytest.raises(InvalidTransition, match="fork it"):
        await interp.resume(done.run_id, at=1)
    branch = await interp.fork(done.run_id, at=3)
    assert branch.status == "completed"


async def test_fork_creates_a_new_run_and_leaves_the_original_untouched() -> None:
    b_saw: list[Flow] = []
    interp = interp_for(linear_graph(), services={"b_saw": b_saw})
    done = await interp.run()
    original = await snapshot(interp, done.run_id)

    branch = await interp.fork(done.run_id, at=2, update={"count": 1000, "log": ["forked"]})
    assert branch.run_id != done.run_id
    assert branch.status == "completed"
    assert b_saw[-1] == Flow(count=1001, log=("a", "forked"))  # the update lands before the re-run node
    assert branch.state == Flow(count=1111, log=("a", "forked", "b", "c"))
    assert await snapshot(interp, done.run_id) == original

    run = await interp.get_run(branch.run_id)
    assert (run.parent_run, run.parent_step, run.kind) == (done.run_id, 2, "fork")
    history = await interp.history(branch.run_id)
    assert history[0] == original[0][0]  # the shared step is the original's record
    assert [(r.run_id, r.step, r.node_path) for r in history] == [
        (done.run_id, 1, "a"),
        (branch.run_id, 2, "b"),
        (branch.run_id, 3, "c"),
    ]
    assert await interp.state(branch.run_id, at=3) == branch.state
    children = await interp.store.list_runs(parent_run=done.run_id)
    assert [r.run_id for r in children] == [branch.run_id]


async def test_fork_of_a_fork() -> None:
    interp = interp_for(linear_graph())
    done = await interp.run()
    first = await interp.fork(done.run_id, at=2, update={"log": ["f1"]})
    second = await interp.fork(first.run_id, at=3, update={"log": ["f2"]})
    assert second.state == Flow(count=111, log=("a", "f1", "b", "f2", "c"))
    assert [(r.run_id, r.step) for r in await interp.history(second.run_id)] == [
        (done.run_id, 1),
        (first.run_id, 2),
        (second.run_id, 3),
    ]
    assert (await interp.get_run(second.run_id)).parent_run == first.run_id
    assert await interp.state(first.run_id) == first.state  # the middle run is untouched


async def test_fork_of_an_interrupted_run_reruns_the_interrupted_node() -> None:
    interp = interp_for(flow_graph())
    paused = await interp.run()
    branch = await interp.fork(paused.run_id, at="gate", update={"count": 5})
    assert branch.status == "interrupted"
    assert branch.interrupt is not None
    assert branch.interrupt.payload == {"count": 16}
    done = await interp.resume(branch.run_id, value="approve")
    assert done.state == Flow(count=116, log=("a", "b", "c"), decision="approve")
    assert (await interp.get_run(paused.run_id)).status == "interrupted"


async def test_a_fork_cannot_rewind_into_its_parent() -> None:
    interp = interp_for(flow_graph())
    paused = await interp.run()
    branch = await interp.fork(paused.run_id, at=3)
    with pytest.raises(RunError, match="fork that run instead"):
        await interp.resume(branch.run_id, at=1)


async def test_a_fork_update_naming_an_unknown_channel_is_a_clear_error() -> None:
    interp = interp_for(linear_graph())
    done = await interp.run()
    with pytest.raises(RunError, match="'nope'") as info:
        await interp.fork(done.run_id, at=2, update={"nope": 1})
    assert not isinstance(info.value, CorruptCheckpoint)  # nothing stored is corrupt
    assert [r.run_id for r in await interp.store.list_runs()] == [done.run_id]


async def test_state_of_a_fork_at_a_shared_step_is_the_parents() -> None:
    interp = interp_for(linear_graph())
    done = await interp.run()
    branch = await interp.fork(done.run_id, at=3, update={"decision": "forked"})
    assert await interp.state(branch.run_id, at=1) == await interp.state(done.run_id, at=1)


# ---------------------------------------------------------------------- graph compatibility


class V1(State):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()


class V1Plus(State):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()
    extra: int = 0


class V2(State, version=2):
    total: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()
    extra: str = ""


def versioned_graph(state: type[State], migrations: Any = None) -> Graph[Any]:
    key = "count" if "count" in state.channels() else "total"

    @node
    async def first(ctx: NodeContext[Any]) -> Update:
        return Update({key: 1, "log": ["first"]})

    @node(interrupts=True)
    async def wait(ctx: NodeContext[Any]) -> Update | Pause:
        if not ctx.answered("go"):
            return ctx.interrupt("go")
        return Update({key: 10, "log": ["wait"]})

    return Graph(
        "versioned",
        state=state,
        nodes=[first, wait],
        edges=[("first", "wait"), ("wait", END)],
        start="first",
        migrations=migrations,
    )


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    return {"total": raw["count"], "log": raw["log"], "extra": "migrated"}


async def test_a_changed_schema_without_a_version_bump_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    paused = await interp_for(versioned_graph(V1), SQLiteStore(db)).run()
    before = await SQLiteStore(db).get_run(paused.run_id)
    with pytest.raises(IncompatibleGraph) as info:
        await interp_for(versioned_graph(V1Plus), SQLiteStore(db)).resume(paused.run_id, value=1)
    message = str(info.value)
    assert "channel added or changed: extra: int [replace]" in message
    assert "class MyState(State, version=2)" in message
    assert "migrations={1: fn}" in message
    assert await SQLiteStore(db).get_run(paused.run_id) == before
    done = await interp_for(versioned_graph(V1), SQLiteStore(db)).resume(paused.run_id, value=1)
    assert done.state == V1(count=11, log=("first", "wait"))


async def test_a_newer_version_without_a_migration_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    paused = await interp_for(versioned_graph(V1), SQLiteStore(db)).run()
    with pytest.raises(IncompatibleGraph, match=r"Register migrations for state version\(s\) \[1\]"):
        await interp_for(versioned_graph(V2), SQLiteStore(db)).resume(paused.run_id, value=1)


async def test_a_registered_migration_upgrades_a_stored_run(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    paused = await interp_for(versioned_graph(V1), SQLiteStore(db)).run({"count": 5})
    assert paused.state == V1(count=6, log=("first",))

    migrated = interp_for(versioned_graph(V2, {1: upgrade}), SQLiteStore(db))
    done = await migrated.resume(paused.run_id, value="go")
    assert done.status == "completed"
    assert done.state == V2(total=16, log=("first", "wait"), extra="migrated")

    later = Interpreter(versioned_graph(V2, {1: upgrade}), store=SQLiteStore(db))
    assert await later.state(paused.run_id) == done.state
    run = await later.get_run(paused.run_id)
    assert run.state_version == 2
    assert run.fingerprint == later.graph.fingerprint
    assert await later.state(paused.run_id, at=3) == done.state


async def test_state_at_a_step_before_a_migration(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    paused = await interp_for(versioned_graph(V1), SQLiteStore(db)).run()
    migrated = interp_for(versioned_graph(V2, {1: upgrade}), SQLiteStore(db))
    await migrated.resume(paused.run_id, value="go")
    try:
        old = await migrated.state(paused.run_id, at=1)
    except CorruptCheckpoint as exc:
        pytest.fail(str(exc))
    assert old == V2(total=1, log=("first",), extra="migrated")


async def test_resuming_at_a_node_the_graph_no_longer_has_is_refused_and_loses_nothing() -> None:
    store = MemoryStore()
    paused = await interp_for(flow_graph(), store).run()
    before = await store.get_run(paused.run_id)
    without_gate = Graph("flow", state=Flow, nodes=[a, b, c], edges=[("a", "b"), ("b", "c"), ("c", END)], start="a")
    with pytest.raises(IncompatibleGraph, match="gate"):
        await interp_for(without_gate, store).resume(paused.run_id, value="approve")
    assert await store.get_run(paused.run_id) == before


# ---------------------------------------------------------------------- replay


class Effects(State):
    results: Annotated[tuple[Any, ...], append] = ()


def effect_graph(request: Any) -> Graph[Effects]:
    @node
    async def call(ctx: NodeContext[Effects]) -> Update:
        calls: list[Any] = ctx.services["calls"]

        async def charge() -> dict[str, Any]:
            calls.append(request)
            return {"charged": request["amount"], "id": f"tx-{len(calls)}"}

        result = await ctx.effect("charge", charge, request=request)
        return Update({"results": [result]})

    @node
    async def after(ctx: NodeContext[Effects]) -> Update:
        return Update({"results": ["after"]})

    return Graph("pay", state=Effects, nodes=[call, after], edges=[("call", "after"), ("after", END)], start="call")


async def test_replay_reproduces_the_run_from_the_journal() -> None:
    store, calls = MemoryStore(), list[Any]()
    interp = interp_for(effect_graph({"amount": 5}), store, services={"calls": calls})
    done = await interp.run()
    assert calls == [{"amount": 5}]

    replayed = await interp.replay(done.run_id)
    assert replayed.status == "completed"
    assert replayed.run_id != done.run_id
    assert replayed.state == done.state == Effects(results=({"charged": 5, "id": "tx-1"}, "after"))
    assert calls == [{"amount": 5}]  # served from the journal, never called again
    assert replayed.trace == done.trace
    run = await interp.get_run(replayed.run_id)
    assert (run.kind, run.replay_of) == ("replay", done.run_id)


async def test_replay_of_a_graph_that_asks_differently_diverges() -> None:
    store, calls = MemoryStore(), list[Any]()
    done = await interp_for(effect_graph({"amount": 5}), store, services={"calls": calls}).run()
    changed = Interpreter(effect_graph({"amount": 6}), store=store, clock=FakeClock(), services={"calls": calls})
    result = await changed.replay(done.run_id)
    assert result.status == "failed"
    assert result.error is not None
    assert "ReplayDivergence: replay diverged at node 'call' step 1 call #0 'charge'" in result.error
    assert calls == [{"amount": 5}]


async def test_a_rewind_across_a_migration_migrates_where_the_new_branch_starts(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    paused = await interp_for(versioned_graph(V1), SQLiteStore(db)).run({"count": 5})  # 1 first, 2 wait
    migrated = interp_for(versioned_graph(V2, {1: upgrade}), SQLiteStore(db))

    again = await migrated.resume(paused.run_id, at=2)  # migrates, and re-runs 'wait' (which asks again)

    assert again.status == "interrupted"
    assert again.state == V2(total=6, log=("first",), extra="migrated")
    fresh = interp_for(versioned_graph(V2, {1: upgrade}), SQLiteStore(db))
    assert await fresh.state(paused.run_id) == again.state  # the new branch loads (it broke for good)
    done = await fresh.resume(paused.run_id, value="go")
    assert done.state == V2(total=16, log=("first", "wait"), extra="migrated")
