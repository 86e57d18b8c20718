"""LangGraph worker: a hand-written async ``StateGraph`` (agent -> tools -> agent ...), run with ``ainvoke``.

Adapted from the peer harness (``shared/bench/peers/peer_langgraph.py``, variant ``raw``): messages
are plain dicts in an ``operator.add`` channel and the fake model is a plain function, so what is
measured is the engine. Runs in its own virtualenv (``bench/requirements-langgraph.txt``), never in
loomflow's.

persist modes:
  none          no checkpointer
  memory        InMemorySaver
  sqlite        AsyncSqliteSaver as users get it: durability="async", WAL, synchronous=FULL
  sqlite-dsync  AsyncSqliteSaver, durability="sync", WAL, synchronous=FULL
  sqlite-normal AsyncSqliteSaver, durability="sync", WAL, synchronous=NORMAL (loomflow's default setting)
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import asyncio  # noqa: E402
import operator  # noqa: E402
import sys  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any, TypeAlias, TypedDict  # noqa: E402

import aiosqlite  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Send  # noqa: E402

T_IMPORT = time.perf_counter() - T0
LANGGRAPH_VERSION = version("langgraph")

from common import (  # noqa: E402
    SCRATCH,
    W1_TOOL_TURNS,
    W2_MSG_BYTES,
    W2_TURNS,
    W3_FANOUT,
    W3_RESULT_BYTES,
    base_args,
    emit,
    fake_model_dict,
    fake_tool,
    file_bytes,
    fresh_path,
    json_bytes,
    proc_io,
    result_header,
    rss_peak_kib,
    text,
    time_reps,
)

Saver: TypeAlias = InMemorySaver | AsyncSqliteSaver | None


class RawState(TypedDict):
    messages: Annotated[list[dict[str, Any]], operator.add]


class FanState(TypedDict):
    results: Annotated[list[dict[str, Any]], operator.add]
    summary: str


class WorkerIn(TypedDict):
    i: int


def build_w1(saver: Saver) -> Any:
    g = StateGraph(RawState)

    async def agent(s: RawState) -> dict[str, Any]:
        return {"messages": [fake_model_dict(s["messages"], W1_TOOL_TURNS)]}

    async def tools(s: RawState) -> dict[str, Any]:
        return {"messages": [fake_tool(c) for c in s["messages"][-1]["tool_calls"]]}

    def route(s: RawState) -> str:
        return "tools" if s["messages"][-1]["tool_calls"] else END

    g.add_node("agent", agent)
    g.add_node("tools", tools)
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", route, ["tools", END])
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=saver)


def build_w2(saver: Saver) -> Any:
    g = StateGraph(RawState)

    async def agent(s: RawState) -> dict[str, Any]:
        return {"messages": [fake_model_dict(s["messages"], 0, W2_MSG_BYTES)]}

    g.add_node("agent", agent)
    g.add_edge(START, "agent")
    g.add_edge("agent", END)
    return g.compile(checkpointer=saver)


def build_w3(saver: Saver) -> Any:
    g = StateGraph(FanState)

    async def plan(s: FanState) -> dict[str, Any]:
        return {}

    def fan(s: FanState) -> list[Send]:
        return [Send("worker", {"i": i}) for i in range(W3_FANOUT)]

    async def worker(s: WorkerIn) -> dict[str, Any]:
        msg = fake_model_dict([{"role": "user", "content": f"sub-task {s['i']}"}], 0, W3_RESULT_BYTES)
        return {"results": [msg]}

    async def reduce(s: FanState) -> dict[str, Any]:
        return {"summary": f"reduced {len(s['results'])}"}

    g.add_node("plan", plan)
    g.add_node("worker", worker)
    g.add_node("reduce", reduce)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", fan, ["worker"])
    g.add_edge("worker", "reduce")
    g.add_edge("reduce", END)
    return g.compile(checkpointer=saver)


# ---------------------------------------------------------------- helpers
async def make_saver(persist: str, path: Path) -> tuple[Saver, aiosqlite.Connection | None]:
    if persist == "none":
        return None, None
    if persist == "memory":
        return InMemorySaver(), None
    conn = await aiosqlite.connect(str(path))
    saver = AsyncSqliteSaver(conn)
    await saver.setup()  # sets journal_mode=WAL; synchronous stays at SQLite's default, FULL
    if persist == "sqlite-normal":
        await conn.execute("PRAGMA synchronous=NORMAL")
    return saver, conn


def config(thread: str) -> dict[str, Any]:
    return {"recursion_limit": 10_000, "configurable": {"thread_id": thread}}


def durability(persist: str) -> str | None:
    return "sync" if persist in ("sqlite-dsync", "sqlite-normal") else None


def w1_input() -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "please use the lookup tool 100 times"}]}


# -------------------------------------------------------------------- W1, W3
def w1_once(persist: str, name: str = "lg-w1.db") -> float:
    async def go() -> float:
        saver, conn = await make_saver(persist, fresh_path(name))
        graph = build_w1(saver)
        t = time.perf_counter()
        out = await graph.ainvoke(w1_input(), config("t1"), durability=durability(persist))
        dt = time.perf_counter() - t
        assert len(out["messages"]) == 2 * W1_TOOL_TURNS + 2, len(out["messages"])
        if conn is not None:
            await conn.close()
        return dt

    return asyncio.run(go())


def w3_once(persist: str) -> float:
    async def go() -> float:
        saver, conn = await make_saver(persist, fresh_path("lg-w3.db"))
        graph = build_w3(saver)
        t = time.perf_counter()
        out = await graph.ainvoke({"results": []}, config("t3"), durability=durability(persist))
        dt = time.perf_counter() - t
        assert len(out["results"]) == W3_FANOUT
        if conn is not None:
            await conn.close()
        return dt

    return asyncio.run(go())


# -------------------------------------------------------------------- W2
async def w2_run(persist: str, res: dict[str, Any]) -> None:
    path = fresh_path("lg-w2.db")
    saver, conn = await make_saver(persist, path)
    graph = build_w2(saver)
    cfg = config("t2")
    per_turn = []
    io0 = proc_io()
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    for turn in range(W2_TURNS):
        t = time.perf_counter()
        inp = {"messages": [{"role": "user", "content": text(turn, W2_MSG_BYTES)}]}
        out = await graph.ainvoke(inp, cfg, durability=durability(persist))
        per_turn.append(time.perf_counter() - t)
    res["total"] = time.perf_counter() - t0
    io1 = proc_io()
    assert len(out["messages"]) == 2 * W2_TURNS
    if conn is not None:
        cur = await conn.execute(
            "SELECT count(*), coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints"
        )
        ckpts = await cur.fetchone()
        cur = await conn.execute("SELECT count(*), coalesce(sum(length(value)), 0) FROM writes")
        writes = await cur.fetchone()
        assert ckpts is not None
        assert writes is not None
        (n_ckpt, ckpt_bytes), (n_writes, write_bytes) = ckpts, writes
        res.update(n_checkpoints=n_ckpt, n_writes=n_writes, row_bytes=ckpt_bytes + write_bytes)
        await conn.close()
    res["per_turn"] = per_turn
    res["db_bytes"] = file_bytes(path)
    res["state_bytes"] = json_bytes({"messages": out["messages"]})
    res["wchar"] = io1.get("wchar", 0) - io0.get("wchar", 0)


# -------------------------------------------------------------------- W4
async def w4_prepare(persist: str) -> None:
    saver, _ = await make_saver(persist, fresh_path("lg-w4.db"))
    graph = build_w1(saver)
    await graph.ainvoke(w1_input(), config("w4"), durability=durability(persist))


async def w4_resume(persist: str, res: dict[str, Any]) -> None:
    t = time.perf_counter()
    saver, conn = await make_saver(persist, SCRATCH / "lg-w4.db")
    assert conn is not None
    graph = build_w1(saver)
    cfg = config("w4")
    t1 = time.perf_counter()
    snap = await graph.aget_state(cfg)
    res["t_load"] = time.perf_counter() - t1
    res["resumed_from_step"] = snap.metadata.get("step") if snap.metadata else None
    res["messages_at_load"] = len(snap.values.get("messages", []))
    t2 = time.perf_counter()
    out = await graph.ainvoke(None, cfg, durability=durability(persist))
    res["t_continue"] = time.perf_counter() - t2
    res["t_resume_total"] = time.perf_counter() - t
    res["final_messages"] = len(out["messages"])
    await conn.close()


def main() -> None:
    a = base_args("langgraph")
    res = result_header("langgraph", a, T_IMPORT, LANGGRAPH_VERSION)
    if a.workload == "w1":
        time_reps(res, lambda: w1_once(a.persist), a)
    elif a.workload == "w3":
        time_reps(res, lambda: w3_once(a.persist), a)
    elif a.workload == "rss":
        rss0 = rss_peak_kib()
        w1_once(a.persist, name="lg-rss.db")
        res.update(rss_after_import_kib=rss0, rss_peak_kib=rss_peak_kib())
    elif a.workload == "w2":
        asyncio.run(w2_run(a.persist, res))
    elif a.workload == "w4-prepare":
        asyncio.run(w4_prepare(a.persist))
        sys.exit("expected to crash")
    elif a.workload == "w4-resume":
        asyncio.run(w4_resume(a.persist, res))
    else:
        raise SystemExit(f"unknown workload {a.workload!r}")
    emit(res)


if __name__ == "__main__":
    main()
