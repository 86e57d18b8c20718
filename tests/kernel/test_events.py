"""Events: one monotonically increasing seq per run, never reused; streaming is a view of the same loop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import pytest

from loomflow import (
    END,
    Event,
    FakeClock,
    Graph,
    Interpreter,
    MemoryStore,
    NodeContext,
    Pause,
    RunError,
    SQLiteStore,
    State,
    Update,
    add,
    node,
    sequential_ids,
)
from loomflow.events import EventLog


class Counter(State):
    count: Annotated[int, add] = 0
    answer: str = ""


@node(max_visits=5, routes=("again", "done"))
async def count(ctx: NodeContext[Counter]) -> Update:
    ctx.emit("tick", n=ctx.state.count)
    if ctx.state.count >= 2:
        return Update(route="done")
    return Update({"count": 1}, route="again")


@node(interrupts=True)
async def ask(ctx: NodeContext[Counter]) -> Update | Pause:
    if not ctx.answered("q"):
        return ctx.interrupt("q", kind="input", prompt="go on?")
    return Update({"answer": ctx.answer("q")})


def graph() -> Graph[Counter]:
    return Graph(
        "events",
        state=Counter,
        nodes=[count, ask],
        edges=[("count", "count", "again"), ("count", "ask", "done"), ("ask", END)],
        start="count",
    )


def interp_for(store: Any = None) -> Interpreter[Counter]:
    return Interpreter(graph(), store=store or MemoryStore(), clock=FakeClock(), ids=sequential_ids())


async def all_events(interp: Interpreter[Any], run_id: str, after: int = 0) -> list[Event]:
    return [e async for e in interp.events(run_id, after=after)]


def shape(events: list[Event]) -> list[tuple[Any, ...]]:
    return [(e.kind, e.node_path, e.step) for e in events]


async def test_seqs_increase_by_one_and_kinds_follow_the_steps() -> None:
    interp = interp_for()
    result = await interp.run()
    assert result.status == "interrupted"
    events = await all_events(interp, result.run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.run_id == result.run_id for e in events)
    assert shape(events) == [
        ("run_started", None, None),
        ("node_started", "count", 1),
        ("tick", "count", 1),
        ("node_finished", "count", 1),
        ("node_started", "count", 2),
        ("tick", "count", 2),
        ("node_finished", "count", 2),
        ("node_started", "count", 3),
        ("tick", "count", 3),
        ("node_finished", "count", 3),
        ("node_started", "ask", 4),
        ("node_finished", "ask", 4),
        ("interrupt", "ask", 4),
        ("run_finished", None, 4),
    ]
    assert events[2].data == {"n": 0}
    assert events[3].data == {"status": "ok", "route": "again", "target": "count"}
    assert events[-2].data == {"id": "ask@4:q", "kind": "input", "prompt": "go on?"}
    assert events[-1].data == {"status": "interrupted", "error": None}
    assert events[0].to_json()["kind"] == "run_started"


async def test_step_records_point_at_their_node_finished_event() -> None:
    interp = interp_for()
    result = await interp.run()
    finished = {e.step: e.seq for e in await all_events(interp, result.run_id) if e.kind == "node_finished"}
    assert {r.step: r.seq for r in await interp.history(result.run_id)} == finished


async def test_node_events_carry_the_step_s_facts() -> None:
    interp = interp_for()
    result = await interp.run(run_id="r")
    events = await all_events(interp, "r")
    steps = await interp.history("r")
    started = [(e.node_path, e.step, e.time, e.data) for e in events if e.kind == "node_started"]
    assert started == [(r.node_path, r.step, r.started_at, {}) for r in steps]
    finished = [e for e in events if e.kind == "node_finished"]
    assert [(e.seq, e.node_path, e.step, e.time) for e in finished] == [
        (r.seq, r.node_path, r.step, r.started_at + r.duration) for r in steps
    ]
    assert [e.data for e in finished] == [{"status": r.status, "route": r.route, "target": r.target} for r in steps]
    assert result.status == "interrupted"
    assert finished[-1].data == {"status": "interrupted", "route": None, "target": None}


async def test_events_after_a_seq() -> None:
    interp = interp_for()
    result = await interp.run()
    events = await all_events(interp, result.run_id)
    for n in (0, 1, 5, len(events) - 1, len(events)):
        assert await all_events(interp, result.run_id, after=n) == events[n:]


async def test_seqs_continue_after_pause_and_resume(tmp_path: Path) -> None:
    db = tmp_path / "ev.db"
    first = interp_for(SQLiteStore(db))
    paused = await first.run()
    before = await all_events(first, paused.run_id)

    second = interp_for(SQLiteStore(db))  # a new process: its own event log, continuing the seqs
    done = await second.resume(paused.run_id, value="yes")
    assert done.status == "completed"
    after = await all_events(second, paused.run_id)
    assert after[0].seq == before[-1].seq + 1
    assert [e.seq for e in after] == list(range(after[0].seq, after[0].seq + len(after)))
    assert shape(after) == [
        ("run_resumed", None, None),
        ("node_started", "ask", 5),
        ("node_finished", "ask", 5),
        ("run_finished", None, 5),
    ]
    assert after[0].data == {"from_step": 4, "at": None}
    assert {r.seq for r in await second.history(paused.run_id)} <= {e.seq for e in before + after}


async def test_seqs_are_not_reused_after_a_crash_mid_run(tmp_path: Path) -> None:
    class Crash(BaseException):
        pass

    crash = {"armed": True}

    @node(interrupts=True)
    async def ask(ctx: NodeContext[Counter]) -> Update:
        if crash["armed"]:
            crash["armed"] = False
            raise Crash
        return Update({"answer": "after crash"})

    g = Graph(
        "events",
        state=Counter,
        nodes=[count, ask],
        edges=[("count", "count", "again"), ("count", "ask", "done"), ("ask", END)],
        start="count",
    )
    db = tmp_path / "crash.db"
    first = Interpreter(g, store=SQLiteStore(db), clock=FakeClock(), ids=sequential_ids())
    exe = await first.start()
    with pytest.raises(Crash):
        await first.drive(exe)
    handed_out = [e.seq for e in exe.events.events]

    second = Interpreter(g, store=SQLiteStore(db), clock=FakeClock())
    done = await second.resume(exe.run_id)
    assert done.status == "completed"
    assert min(e.seq for e in await all_events(second, exe.run_id)) > max(handed_out)


async def test_stream_yields_the_same_events_as_run() -> None:
    streamed_interp = interp_for()
    streamed = [e async for e in streamed_interp.stream(run_id="r")]
    ran_interp = interp_for()
    result = await ran_interp.run(run_id="r")
    assert streamed == await all_events(ran_interp, result.run_id)
    assert await all_events(streamed_interp, "r") == streamed
    assert (await streamed_interp.get_run("r")).status == "interrupted"


async def test_a_consumer_that_reconnects_gets_what_it_missed() -> None:
    interp = interp_for()
    exe = await interp.start()
    task = asyncio.create_task(interp.drive(exe))
    seen: list[Event] = []
    async for event in interp.events(exe.run_id):
        seen.append(event)
        if event.kind == "node_finished":
            break  # the client drops the connection mid-run
    rest = await all_events(interp, exe.run_id, after=seen[-1].seq)
    await task
    assert seen + rest == await all_events(interp, exe.run_id)
    assert rest[-1].kind == "run_finished"


async def test_events_of_a_run_this_process_never_ran() -> None:
    with pytest.raises(RunError, match="has no events in this process"):
        await all_events(interp_for(), "elsewhere")


async def test_event_log_after_and_follow() -> None:
    log = EventLog("r", first_seq=10)
    for i in range(3):
        log.add("k", None, None, 0.0, {"i": i})
    assert [e.seq for e in log.after(0)] == [10, 11, 12]
    assert [e.seq for e in log.after(11)] == [12]
    assert log.after(12) == []

    got: list[int] = []

    async def consume() -> None:
        async for e in log.follow(10):
            got.append(e.seq)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    log.add("k", None, None, 0.0, {})
    await asyncio.sleep(0)
    log.close()
    await task
    assert got == [11, 12, 13]
