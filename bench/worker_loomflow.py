"""loomflow worker: the workloads as hand-written loomflow graphs, run by the checkpointing interpreter.

Same fake model and payloads as the LangGraph and baseline workers (``common.py``). Messages are plain
dicts in an ``append`` channel. Graph construction, store opening and table creation are outside the
timed region (as ``compile()`` is for LangGraph); ``Interpreter.run`` / ``resume`` are inside it.

persist modes (loomflow has no "off": every step is encoded to JSON and handed to a store):
  none          MemoryStore, durability="exit" (records buffered, handed over once at the end)
  memory        MemoryStore, durability="sync"
  sqlite        SQLiteStore, synchronous="normal", durability="sync" (the defaults: a commit per step)
  sqlite-full   SQLiteStore, synchronous="full", durability="sync"
  sqlite-async  SQLiteStore, synchronous="normal", durability="async" (a commit every 64 steps)

variants:
  default       tool / model calls are plain function calls inside the node
  journaled     each tool / sub-task call goes through ``ctx.effect(..., idempotent=True)`` (the journal)
  session       (W2) one run that pauses at an interrupt for every user turn; each turn is one resume()
  loop          (W2) one run whose loop makes all 200 turns in one drive

workloads: w1 w2 w3 w4-prepare w4-resume rss k-steps k-append
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
import asyncio  # noqa: E402
from collections.abc import Callable, Coroutine  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any, TypeVar  # noqa: E402

import loomflow  # noqa: E402
from loomflow import (  # noqa: E402
    END,
    FunctionNode,
    Graph,
    Interpreter,
    MemoryStore,
    NodeContext,
    Pause,
    SQLiteStore,
    State,
    Update,
    add,
    append,
    node,
)

T_IMPORT = time.perf_counter() - T0

import argparse  # noqa: E402

import lf_common as lf  # noqa: E402
from common import (  # noqa: E402
    K_APPEND_BYTES,
    K_APPEND_STEPS,
    K_STEPS,
    SCRATCH,
    W1_PROMPT,
    W1_TOOL_TURNS,
    W2_MSG_BYTES,
    W2_TURNS,
    W3_CONCURRENCY,
    W3_FANOUT,
    W3_RESULT_BYTES,
    Handler,
    Message,
    crashing,
    fake_model_dict,
    fake_tool,
    fresh_path,
    in_loop,
    measure_store,
    peak_rss,
    run_worker,
    text,
    time_reps,
)

S = TypeVar("S", bound=State)
W1_INPUT: Message = {"role": "user", "content": W1_PROMPT}


# ------------------------------------------------------------------ W1: react-100
class ReactState(State):
    messages: Annotated[tuple[Message, ...], append] = ()


@node(max_visits=W1_TOOL_TURNS + 1, routes=("tool", "done"))
async def model(ctx: NodeContext[ReactState]) -> Update:
    msg = fake_model_dict(ctx.state.messages, W1_TOOL_TURNS)
    return Update({"messages": [msg]}, route="tool" if msg["tool_calls"] else "done")


@node(name="tool")
async def plain_tool(ctx: NodeContext[ReactState]) -> Update:
    return Update({"messages": [fake_tool(c) for c in ctx.state.messages[-1]["tool_calls"]]})


@node(name="tool")
async def journaled_tool(ctx: NodeContext[ReactState]) -> Update:
    out = []
    for c in ctx.state.messages[-1]["tool_calls"]:

        async def call(c: Message = c) -> Message:
            return fake_tool(c)

        out.append(await ctx.effect("lookup", call, request=c["args"], idempotent=True))
    return Update({"messages": out})


def w1_graph(variant: str) -> Graph[ReactState]:
    return Graph(
        "react",
        state=ReactState,
        nodes=[model, journaled_tool if variant == "journaled" else plain_tool],
        edges=[("model", "tool", "tool"), ("model", END, "done"), ("tool", "model")],
        start="model",
    )


# ------------------------------------------------------------------ W2: long history
class Chat(State):
    messages: Annotated[tuple[Message, ...], append] = ()


@node(max_visits=W2_TURNS + 1, interrupts=True)
async def user(ctx: NodeContext[Chat]) -> Update | Pause:
    """Session form: wait for the next user message (each turn of the session is one resume)."""
    if not ctx.answered("message"):
        return ctx.interrupt("message", prompt="next user message")
    return Update({"messages": [{"role": "user", "content": ctx.answer("message")}]})


@node(name="user", max_visits=W2_TURNS)
async def scripted_user(ctx: NodeContext[Chat]) -> Update:
    """Loop form: the user's turns come from a script, all in one drive."""
    ctx.services["marks"].append(time.perf_counter())
    turn = len(ctx.state.messages) // 2
    return Update({"messages": [{"role": "user", "content": text(turn, W2_MSG_BYTES)}]})


@node(routes=("next", "done"))
async def agent(ctx: NodeContext[Chat]) -> Update:
    """Session form: answer, then wait for the next user message (the session never ends by itself)."""
    return Update({"messages": [fake_model_dict(ctx.state.messages, 0, W2_MSG_BYTES)]}, route="next")


@node(name="agent", routes=("next", "done"))
async def scripted_agent(ctx: NodeContext[Chat]) -> Update:
    """Loop form: answer, and end the run after the last scripted turn."""
    msg = fake_model_dict(ctx.state.messages, 0, W2_MSG_BYTES)
    return Update({"messages": [msg]}, route="done" if len(ctx.state.messages) + 1 >= 2 * W2_TURNS else "next")


def w2_graph(variant: str) -> Graph[Chat]:
    if variant == "session":  # agent answers the message the run was started or resumed with
        return Graph(
            "chat",
            state=Chat,
            nodes=[agent, user],
            edges=[("agent", "user", "next"), ("agent", END, "done"), ("user", "agent")],
            start="agent",
        )
    return Graph(
        "chat",
        state=Chat,
        nodes=[scripted_user, scripted_agent],
        edges=[("user", "agent"), ("agent", "user", "next"), ("agent", END, "done")],
        start="user",
    )


# ------------------------------------------------------------------ W3: fanout-50
class Fan(State):
    results: Annotated[tuple[Message, ...], append] = ()
    summary: str = ""


async def sub_task(i: int) -> Message:
    return fake_model_dict([{"role": "user", "content": f"sub-task {i}"}], 0, W3_RESULT_BYTES)


def fan_node(journaled: bool) -> FunctionNode:
    @node(name="fan")
    async def fan(ctx: NodeContext[Fan]) -> Update:
        bound = asyncio.Semaphore(W3_CONCURRENCY)

        async def one(i: int) -> Message:
            async with bound:
                if journaled:
                    return await ctx.effect("model", lambda: sub_task(i), request={"i": i}, idempotent=True)  # type: ignore[no-any-return]
                return await sub_task(i)

        results = await asyncio.gather(*(one(i) for i in range(W3_FANOUT)))
        return Update({"results": results})

    return fan


@node
async def reduce(ctx: NodeContext[Fan]) -> Update:
    return Update({"summary": f"reduced {len(ctx.state.results)}"})


def w3_graph(variant: str) -> Graph[Fan]:
    return Graph(
        "fanout",
        state=Fan,
        nodes=[fan_node(variant == "journaled"), reduce],
        edges=[("fan", "reduce"), ("reduce", END)],
        start="fan",
    )


# ------------------------------------------------------------------ kernel micro-benchmarks
class Tick(State):
    n: Annotated[int, add] = 0


@node(max_visits=K_STEPS, routes=("again", "done"))
async def tick(ctx: NodeContext[Tick]) -> Update:
    return Update({"n": 1}, route="again" if ctx.state.n + 1 < K_STEPS else "done")


class Log(State):
    log: Annotated[tuple[str, ...], append] = ()


@node(max_visits=K_APPEND_STEPS, routes=("again", "done"))
async def grow(ctx: NodeContext[Log]) -> Update:
    i = len(ctx.state.log)
    return Update({"log": [text(i, K_APPEND_BYTES)]}, route="again" if i + 1 < K_APPEND_STEPS else "done")


def loop_graph(name: str, state: type[S], step: FunctionNode) -> Graph[S]:
    return Graph(
        name,
        state=state,
        nodes=[step],
        edges=[(step.name, step.name, "again"), (step.name, END, "done")],
        start=step.name,
    )


# ------------------------------------------------------------------ helpers
def open_store(persist: str, path: Path) -> MemoryStore | SQLiteStore:
    if persist in ("none", "memory"):
        return MemoryStore()
    return SQLiteStore(path, synchronous="full" if persist == "sqlite-full" else "normal")


def interpreter(graph: Graph[S], persist: str, path: Path, **kwargs: Any) -> Interpreter[S]:
    durability = {"none": "exit", "sqlite-async": "async"}.get(persist, "sync")
    return Interpreter(graph, store=open_store(persist, path), durability=durability, **kwargs)  # type: ignore[arg-type]


async def close(interp: Interpreter[Any]) -> None:
    # Interpreter._reserve_later schedules fire-and-forget store updates (event seq reservations); a run
    # whose nodes never really await returns before they ran, so let them run before closing the store.
    await asyncio.sleep(0)
    await interp.store.close()


def timed_run(graph: Graph[Any], persist: str, name: str, inp: dict[str, Any], check: Callable[[Any], None]) -> float:
    async def go() -> float:
        interp = interpreter(graph, persist, fresh_path(name))
        t = time.perf_counter()
        result = await interp.run(inp)
        dt = time.perf_counter() - t
        assert result.status == "completed", (result.status, result.error)
        check(result.state)
        await close(interp)
        return dt

    return asyncio.run(go())


def check_w1(state: ReactState) -> None:
    assert len(state.messages) == 2 * W1_TOOL_TURNS + 2, len(state.messages)


def check_w3(state: Fan) -> None:
    assert len(state.results) == W3_FANOUT, len(state.results)
    assert state.summary == f"reduced {W3_FANOUT}", state.summary


def check_k_steps(state: Tick) -> None:
    assert state.n == K_STEPS, state.n


def timed_workload(workload: str, variant: str) -> tuple[Graph[Any], dict[str, Any], Callable[[Any], None]]:
    """The graph, input and result check of a workload timed run by run (W1, W3, k-steps)."""
    if workload == "w1":
        return w1_graph(variant), {"messages": [W1_INPUT]}, check_w1
    if workload == "w3":
        return w3_graph(variant), {}, check_w3
    return loop_graph("ticks", Tick, tick), {}, check_k_steps


# ------------------------------------------------------------------ W2, k-append
async def w2_session(persist: str, path: Path, res: dict[str, Any]) -> dict[str, Any]:
    interp = interpreter(w2_graph("session"), persist, path)
    per_turn = []
    t = time.perf_counter()
    result = await interp.run({"messages": [{"role": "user", "content": text(0, W2_MSG_BYTES)}]}, run_id="t2")
    per_turn.append(time.perf_counter() - t)
    for turn in range(1, W2_TURNS):
        t = time.perf_counter()
        result = await interp.resume("t2", value=text(turn, W2_MSG_BYTES))
        per_turn.append(time.perf_counter() - t)
        assert result.status == "interrupted", (result.status, result.error)
    res["per_turn"] = per_turn
    await close(interp)
    return result.state.values()


async def w2_loop(persist: str, path: Path, res: dict[str, Any]) -> dict[str, Any]:
    marks: list[float] = []
    interp = interpreter(w2_graph("loop"), persist, path, services={"marks": marks})
    result = await interp.run({}, run_id="t2")
    end = time.perf_counter()
    assert result.status == "completed", (result.status, result.error)
    res["per_turn"] = [b - a for a, b in zip(marks, [*marks[1:], end], strict=True)]
    await close(interp)
    return result.state.values()


async def k_append(persist: str, path: Path, res: dict[str, Any]) -> dict[str, Any]:
    interp = interpreter(loop_graph("append", Log, grow), persist, path)
    result = await interp.run({})
    assert result.status == "completed", (result.status, result.error)
    assert len(result.state.log) == K_APPEND_STEPS, len(result.state.log)
    await close(interp)
    return result.state.values()


# ------------------------------------------------------------------ W4
async def w4_prepare(persist: str) -> None:
    interp = interpreter(w1_graph("default"), persist, fresh_path("lf-w4.db"))
    await interp.run({"messages": [W1_INPUT]}, run_id="w4")  # exits inside the tool call (BENCH_CRASH_AT)


async def w4_resume(persist: str, res: dict[str, Any]) -> None:
    interp, result = await lf.w4_resume(lambda: interpreter(w1_graph("default"), persist, SCRATCH / "lf-w4.db"), res)
    check_w1(result.state)
    await close(interp)


# ------------------------------------------------------------------ main
def graph_reps(a: argparse.Namespace, res: dict[str, Any]) -> None:
    """W1, W3 and k-steps: the variant's graph, built once, timed run by run."""
    graph, inp, check = timed_workload(a.workload, a.variant)
    name = f"lf-{a.workload}.db"
    time_reps(res, lambda: timed_run(graph, a.persist, name, inp, check), a)


def history(
    a: argparse.Namespace,
    res: dict[str, Any],
    run: Callable[[str, Path, dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]],
) -> None:
    """W2 and k-append: one run of ``run(persist, path, res)``; its time and the bytes stored and written."""
    path = fresh_path(f"lf-{a.workload}.db")
    measure_store(res, path, lambda: asyncio.run(run(a.persist, path, res)), lambda final: final)


def rss_run(persist: str) -> None:
    timed_run(w1_graph("default"), persist, "lf-rss.db", {"messages": [W1_INPUT]}, check_w1)


def main() -> None:
    workloads: dict[str, Handler] = {
        "w1": graph_reps,
        "w2": lambda a, res: history(a, res, w2_session if a.variant == "session" else w2_loop),
        "w3": graph_reps,
        "w4-prepare": crashing(w4_prepare),
        "w4-resume": in_loop(w4_resume),
        "rss": peak_rss(rss_run),
        "k-steps": graph_reps,
        "k-append": lambda a, res: history(a, res, k_append),
    }
    run_worker("loomflow", "loomflow", T_IMPORT, workloads, loomflow.__version__)


if __name__ == "__main__":
    main()
