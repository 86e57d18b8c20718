"""Rewinds, forks, replays and cancels at the edges of a run's history: after a crash, on an abandoned branch,
at a step that re-ran a paused node, at a fork's first step, and across executors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import pytest

from loomflow import (
    END,
    End,
    Graph,
    Interpreter,
    Limits,
    MemoryStore,
    NodeContext,
    RunError,
    SQLiteStore,
    State,
    Update,
    add,
    append,
    node,
)


class Loop(State):
    n: Annotated[int, add] = 0
    log: Annotated[tuple[Any, ...], append] = ()


@node
async def a(ctx: NodeContext[Loop]) -> Update:
    return Update({"n": 1, "log": ["a"]})


@node
async def b(ctx: NodeContext[Loop]) -> Update:
    return Update({"n": 10, "log": [f"b saw n={ctx.state.n}"]})


@node
async def c(ctx: NodeContext[Loop]) -> Update:
    return Update({"n": 100, "log": [f"c saw n={ctx.state.n}"]})


@node(interrupts=True)
async def gate(ctx: NodeContext[Loop]) -> Any:
    return ctx.interrupt("ok") if not ctx.answered("ok") else Update({"log": [ctx.answer("ok")]})


def a_b_gate() -> Graph[Loop]:
    return Graph("abg", state=Loop, nodes=[a, b, gate], edges=[("a", "b"), ("b", "gate"), ("gate", END)], start="a")


async def test_a_rewind_after_a_crash_mid_effect_does_not_reuse_the_crashed_steps_journal() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls: list[int] = []

    @node(max_visits=10, routes=("again", "done"))
    async def spin(ctx: NodeContext[Loop]) -> Update:
        async def charge() -> dict[str, int]:
            calls.append(ctx.state.n)
            if ctx.state.n == 1 and not release.is_set():
                started.set()
                await asyncio.sleep(3600)  # the process dies while this call is in flight
            return {"charged": ctx.state.n}

        result = await ctx.effect("charge", charge, request={"n": ctx.state.n}, idempotent=False)
        return Update({"n": 1, "log": [result]}, route="again" if ctx.state.n < 2 else "done")

    graph = Graph(
        "spin", state=Loop, nodes=[spin], edges=[("spin", "spin", "again"), ("spin", END, "done")], start="spin"
    )
    store = MemoryStore()
    interp = Interpreter(graph, store=store, ids=lambda: "r1")
    task = asyncio.create_task(interp.run())
    await started.wait()
    task.cancel()  # stopped from outside: resumable, like a crash; step 2 left an intent in the journal
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(e.visit, e.status) for e in await store.journal("r1")] == [(1, "done"), (2, "intent")]
    release.set()

    done = await interp.resume("r1", at=1)  # re-run step 1's node from the start: step 2 is history

    assert done.status == "completed", done.error
    assert done.state.log == ({"charged": 0}, {"charged": 1}, {"charged": 2})
    assert [r.step for r in done.records] == [3, 4, 5]  # numbered after every step the run ever used


async def test_a_cancel_from_another_executor_is_not_overwritten_when_the_run_pauses(tmp_path: Path) -> None:
    entered = asyncio.Event()

    @node
    async def slow(ctx: NodeContext[Loop]) -> Update:
        entered.set()
        await asyncio.sleep(0.2)
        return Update({"n": 1})

    graph = Graph("g", state=Loop, nodes=[slow, gate], edges=[("slow", "gate"), ("gate", END)], start="slow")
    here = Interpreter(graph, store=SQLiteStore(tmp_path / "s.db"), ids=lambda: "r1")
    elsewhere = Interpreter(graph, store=SQLiteStore(tmp_path / "s.db"))
    task = asyncio.create_task(here.run())
    await entered.wait()
    await elsewhere.cancel("r1")  # marks the stored run; `here` would see it at its next heartbeat

    result = await task  # ... but the run pauses at the gate first

    assert result.status == "cancelled"
    assert (await elsewhere.get_run("r1")).status == "cancelled"


class _DiesBeforeMarkingTheRun(SQLiteStore):
    async def update_run(self, run_id: str, **fields: Any) -> None:
        if fields.get("status") == "completed":
            raise KeyboardInterrupt("the process died after the last step was committed")
        await super().update_run(run_id, **fields)


async def test_an_end_output_survives_a_crash_between_the_last_step_and_the_run_record(tmp_path: Path) -> None:
    @node
    async def finish(ctx: NodeContext[Loop]) -> End:
        return End({"n": 10}, output={"answer": 42})

    graph = Graph("g", state=Loop, nodes=[a, finish], edges=[("a", "finish"), ("finish", END)], start="a")
    with pytest.raises(KeyboardInterrupt):
        await Interpreter(graph, store=_DiesBeforeMarkingTheRun(tmp_path / "s.db"), ids=lambda: "r1").run()
    fresh = Interpreter(graph, store=SQLiteStore(tmp_path / "s.db"))
    assert (await fresh.get_run("r1")).status == "running"

    done = await fresh.resume("r1")

    assert (done.status, done.output) == ("completed", {"answer": 42})
    assert (await fresh.result("r1")).output == {"answer": 42}


async def test_replay_follows_the_final_path_of_a_rewound_run() -> None:
    calls: list[int] = []

    @node
    async def charge(ctx: NodeContext[Loop]) -> Update:
        async def call() -> str:
            calls.append(1)
            return f"tx-{len(calls)}"

        return Update({"log": [await ctx.effect("charge", call, request={"amount": 5})]})

    graph = Graph(
        "pay",
        state=Loop,
        nodes=[a, charge, gate],
        edges=[("a", "charge"), ("charge", "gate"), ("gate", END)],
        start="a",
    )
    interp = Interpreter(graph, store=MemoryStore())
    first = await interp.run()
    await interp.resume(first.run_id, at=2)  # charge again (tx-2); steps 2 and 3 are superseded
    done = await interp.resume(first.run_id, value="approve")
    assert done.state.log == ("a", "tx-2", "approve")

    replayed = await interp.replay(first.run_id)

    assert (replayed.status, replayed.state.log) == ("completed", ("a", "tx-2", "approve"))
    assert len(calls) == 2  # served from the journal: no third call


@pytest.mark.parametrize("how", ["failed", "limit"])
async def test_replay_of_a_run_that_failed_or_stopped_at_a_limit_and_was_resumed(how: str) -> None:
    attempts: list[int] = []

    @node
    async def flaky(ctx: NodeContext[Loop]) -> Update:
        attempts.append(1)
        if how == "failed" and len(attempts) == 1:
            raise ValueError("first attempt fails")
        return Update({"log": ["flaky"]})

    @node
    async def charge(ctx: NodeContext[Loop]) -> Update:
        async def call() -> str:
            return "tx"

        return Update({"log": [await ctx.effect("charge", call, request={"amount": 5})]})

    graph = Graph("g", state=Loop, nodes=[flaky, charge], edges=[("flaky", "charge"), ("charge", END)], start="flaky")
    interp = Interpreter(graph, store=MemoryStore())
    if how == "failed":
        stopped = await interp.run()
        assert stopped.status == "failed"
        done = await interp.resume(stopped.run_id)
    else:
        stopped = await interp.run(limits=Limits(max_steps=1))
        assert stopped.status == "limit_reached"
        done = await interp.resume(stopped.run_id, limits=Limits(max_steps=10))
    assert done.state.log == ("flaky", "tx")

    replayed = await interp.replay(done.run_id)

    assert (replayed.status, replayed.state.log) == ("completed", ("flaky", "tx")), replayed.error


async def test_forking_a_fork_at_its_first_step_keeps_that_forks_update() -> None:
    graph = Graph(
        "abcg",
        state=Loop,
        nodes=[a, b, c, gate],
        edges=[("a", "b"), ("b", "c"), ("c", "gate"), ("gate", END)],
        start="a",
    )
    interp = Interpreter(graph, store=MemoryStore())
    parent = await interp.run()
    fork = await interp.fork(parent.run_id, at=2, update={"n": 1000})  # waits at the gate
    assert fork.state.log == ("a", "b saw n=1001", "c saw n=1011")

    again = await interp.fork(fork.run_id, at=2, update={"log": ["g"]})
    rewound = await interp.resume(fork.run_id, at=2)

    assert again.state.log == ("a", "g", "b saw n=1001", "c saw n=1011")
    assert rewound.state.log == ("a", "b saw n=1001", "c saw n=1011")
    assert (await interp.state(again.run_id)).log == again.state.log  # the same when read back


async def test_a_rewind_refuses_a_step_of_an_abandoned_branch_and_says_to_fork_it() -> None:
    interp = Interpreter(a_b_gate(), store=MemoryStore())
    first = await interp.run()  # 1 a, 2 b, 3 gate (waits)
    await interp.resume(first.run_id, at=2)  # supersedes 2 and 3; 4 b, 5 gate

    with pytest.raises(RunError, match=r"superseded by a rewind.*current path \(steps 1, 4\.\.5\).*fork"):
        await interp.resume(first.run_id, at=3)
    fork = await interp.fork(first.run_id, at=3)  # going on from the abandoned branch is a fork

    assert [r.step for r in fork.records] == [1, 2, 3]
    assert fork.status == "interrupted"


async def test_a_fork_sees_only_the_branch_it_shares() -> None:
    interp = Interpreter(a_b_gate(), store=MemoryStore())
    first = await interp.run()
    await interp.resume(first.run_id, at=2)  # 2 and 3 abandoned; 4 b, 5 gate
    fork = await interp.fork(first.run_id, at=5)  # shares steps 1 and 4

    with pytest.raises(RunError, match=r"has no step 2; its steps are 1, 4\.\.5"):
        await interp.state(fork.run_id, at=2)
    assert [r.step for r in await interp.history(fork.run_id)] == [1, 4, 5]


async def test_rewinding_or_forking_at_a_step_that_re_ran_a_paused_node_re_runs_that_visit() -> None:
    @node(interrupts=True, max_visits=1)
    async def once(ctx: NodeContext[Loop]) -> Any:
        return ctx.interrupt("ok") if not ctx.answered("ok") else Update({"log": [ctx.answer("ok")]})

    graph = Graph(
        "g", state=Loop, nodes=[a, once, gate], edges=[("a", "once"), ("once", "gate"), ("gate", END)], start="a"
    )
    interp = Interpreter(graph, store=MemoryStore())
    first = await interp.run()  # 1 a, 2 once (waits)
    resumed = await interp.resume(first.run_id, value="yes")  # 3 once (visit 2), 4 gate (waits)
    assert [(r.step, r.visit) for r in resumed.records] == [(1, 1), (2, 2), (3, 2), (4, 4)]

    fork = await interp.fork(first.run_id, at=3)  # step 3 continued visit 2: the fork re-runs that visit
    rewound = await interp.resume(first.run_id, at=3)

    for result in (fork, rewound):
        assert result.status == "interrupted", result.error  # asks again; not stopped at max_visits=1
        assert [i.node_path for i in result.interrupts] == ["once"]
