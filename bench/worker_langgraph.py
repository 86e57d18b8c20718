"""LangGraph worker: a hand-written async ``StateGraph`` (agent -> tools -> agent ...), run with ``ainvoke``.

Adapted from the peer harness (``shared/bench/peers/peer_langgraph.py``, variant ``raw``): messages
are plain dicts in an ``operator.add`` channel and the fake model is a plain function, so what is
measured is the engine. Runs in its own virtualenv (``bench/requirements-langgraph.txt``), never in
loomflow's.

persist modes (``lg_common.py`` says what each one sets): none memory sqlite sqlite-dsync sqlite-normal

workloads: w1 w2 w3 w4-prepare w4-resume rss
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import operator  # noqa: E402
from typing import Annotated, Any, TypedDict  # noqa: E402

# the checkpointers lg_common opens: imported here, so that T_IMPORT counts them
import aiosqlite  # noqa: E402, F401
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402, F401
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402, F401
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Send  # noqa: E402

T_IMPORT = time.perf_counter() - T0

import lg_common as lg  # noqa: E402
from common import (  # noqa: E402
    W1_PROMPT,
    W1_TOOL_TURNS,
    W2_MSG_BYTES,
    W3_FANOUT,
    W3_RESULT_BYTES,
    crashing,
    fake_model_dict,
    fake_tool,
    file_bytes,
    fresh_path,
    in_loop,
    json_bytes,
    peak_rss,
    run_worker,
    text,
    timed,
)


class RawState(TypedDict):
    messages: Annotated[list[dict[str, Any]], operator.add]


class FanState(TypedDict):
    results: Annotated[list[dict[str, Any]], operator.add]
    summary: str


class WorkerIn(TypedDict):
    i: int


def build_w1(saver: lg.Saver) -> Any:
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


def build_w2(saver: lg.Saver) -> Any:
    g = StateGraph(RawState)

    async def agent(s: RawState) -> dict[str, Any]:
        return {"messages": [fake_model_dict(s["messages"], 0, W2_MSG_BYTES)]}

    g.add_node("agent", agent)
    g.add_edge(START, "agent")
    g.add_edge("agent", END)
    return g.compile(checkpointer=saver)


def build_w3(saver: lg.Saver) -> Any:
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


# -------------------------------------------------------------------- W1, W3
def w1_input() -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": W1_PROMPT}]}


def check_w3(out: dict[str, Any]) -> None:
    assert len(out["results"]) == W3_FANOUT


def w1_once(persist: str, name: str = "lg-w1.db") -> float:
    return lg.timed_invoke(build_w1, persist, name, "t1", w1_input, lg.check_w1)


def w3_once(persist: str) -> float:
    return lg.timed_invoke(build_w3, persist, "lg-w3.db", "t3", lambda: {"results": []}, check_w3)


# -------------------------------------------------------------------- W2
def user_turn(turn: int) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text(turn, W2_MSG_BYTES)}]}


async def w2_run(persist: str, res: dict[str, Any]) -> None:
    path = fresh_path("lg-w2.db")
    graph, conn = await lg.open_graph(build_w2, persist, path)
    out = await lg.w2_turns(graph, persist, user_turn, res)
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
    res["db_bytes"] = file_bytes(path)
    res["state_bytes"] = json_bytes({"messages": out["messages"]})


# -------------------------------------------------------------------- W4
async def w4_prepare(persist: str) -> None:
    await lg.w4_prepare(build_w1, persist, "lg-w4.db", w1_input())


async def w4_resume(persist: str, res: dict[str, Any]) -> None:
    await lg.w4_resume(build_w1, persist, "lg-w4.db", res, record_step=True)


def main() -> None:
    workloads = {
        "w1": timed(w1_once),
        "w2": in_loop(w2_run),
        "w3": timed(w3_once),
        "w4-prepare": crashing(w4_prepare),
        "w4-resume": in_loop(w4_resume),
        "rss": peak_rss(lambda persist: w1_once(persist, name="lg-rss.db")),
    }
    run_worker("langgraph", "langgraph", T_IMPORT, workloads, lg.LANGGRAPH_VERSION)


if __name__ == "__main__":
    main()
