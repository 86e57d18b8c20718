"""LangGraph agent-level worker: ``langgraph.prebuilt.create_react_agent`` with a fake chat model and a tool.

Adapted from the peer harness (``shared/bench/peers/peer_langgraph.py``, variant ``prebuilt``): a
``BaseChatModel`` fake (``bind_tools`` supported) that decides from the last message only, exactly like
``common.fake_model_dict`` (tool call ``lookup(q="query k")`` with id ``call_k`` for turn k < N, else a
text answer), and an async ``@tool`` ``lookup``: the full typical stack, LangChain messages, callbacks
and ``ToolNode`` included. Runs in LangGraph's own virtualenv (``bench/requirements-langgraph.txt``).

persist modes:
  none          no checkpointer
  memory        InMemorySaver
  sqlite-normal AsyncSqliteSaver, durability="sync", WAL, synchronous=NORMAL (loomflow's default setting)

workloads: w1 w2 w4-prepare w4-resume rss (variant: prebuilt)
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import asyncio  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, TypeAlias  # noqa: E402

import aiosqlite  # noqa: E402
from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.tools import BaseTool, tool  # noqa: E402
from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402
from langgraph.prebuilt import create_react_agent  # noqa: E402

T_IMPORT = time.perf_counter() - T0
LANGGRAPH_VERSION = version("langgraph")

from common import (  # noqa: E402
    SCRATCH,
    W1_ANSWER_BYTES,
    W1_PROMPT,
    W1_TOOL_RESULT_BYTES,
    W1_TOOL_TURNS,
    W2_MSG_BYTES,
    W2_TURNS,
    base_args,
    emit,
    file_bytes,
    fresh_path,
    json_bytes,
    maybe_crash,
    next_turn_from_last,
    proc_io,
    result_header,
    rss_peak_kib,
    sqlite_payload_bytes,
    text,
    time_reps,
)

Saver: TypeAlias = InMemorySaver | AsyncSqliteSaver | None
ROLE = {"tool": "tool", "ai": "assistant", "human": "user"}


class FakeToolChatModel(BaseChatModel):
    """Decides from the last message only (O(1) per call), like ``common.fake_model_dict``."""

    n_tool_turns: int = W1_TOOL_TURNS
    answer_bytes: int = W1_ANSWER_BYTES

    @property
    def _llm_type(self) -> str:
        return "loomflow-bench-fake"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _decide(self, messages: list[BaseMessage]) -> ChatResult:
        last = messages[-1]
        k = next_turn_from_last(ROLE.get(last.type, last.type), getattr(last, "tool_call_id", None))
        if k < self.n_tool_turns:
            call = {"name": "lookup", "args": {"q": f"query {k}"}, "id": f"call_{k}", "type": "tool_call"}
            msg = AIMessage(content="", tool_calls=[call])
        else:
            msg = AIMessage(content=text(len(messages), self.answer_bytes))
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return self._decide(messages)

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return self._decide(messages)


@tool
async def lookup(q: str) -> str:
    """Look something up."""
    k = int(q.rsplit(" ", 1)[1])
    maybe_crash(k)
    return text(k, W1_TOOL_RESULT_BYTES)


def build(saver: Saver, n_tool_turns: int = W1_TOOL_TURNS, answer_bytes: int = W1_ANSWER_BYTES) -> Any:
    model = FakeToolChatModel(n_tool_turns=n_tool_turns, answer_bytes=answer_bytes)
    tools: list[BaseTool] = [lookup]
    return create_react_agent(model, tools, checkpointer=saver)


async def make_saver(persist: str, path: Path) -> tuple[Saver, aiosqlite.Connection | None]:
    if persist == "none":
        return None, None
    if persist == "memory":
        return InMemorySaver(), None
    conn = await aiosqlite.connect(str(path))
    saver = AsyncSqliteSaver(conn)
    await saver.setup()  # sets journal_mode=WAL
    await conn.execute("PRAGMA synchronous=NORMAL")
    return saver, conn


def config(thread: str) -> dict[str, Any]:
    return {"recursion_limit": 10_000, "configurable": {"thread_id": thread}}


def durability(persist: str) -> str | None:
    return "sync" if persist == "sqlite-normal" else None


def as_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The conversation in the common plain-dict form (the same final-state measure on every side)."""
    return [{"role": ROLE.get(m.type, m.type), "content": m.content} for m in messages]


# -------------------------------------------------------------------- W1
def w1_once(persist: str, name: str = "lga-w1.db") -> float:
    async def go() -> float:
        saver, conn = await make_saver(persist, fresh_path(name))
        graph = build(saver)
        t = time.perf_counter()
        out = await graph.ainvoke({"messages": [HumanMessage(W1_PROMPT)]}, config("t1"), durability=durability(persist))
        dt = time.perf_counter() - t
        assert len(out["messages"]) == 2 * W1_TOOL_TURNS + 2, len(out["messages"])
        if conn is not None:
            await conn.close()
        return dt

    return asyncio.run(go())


# -------------------------------------------------------------------- W2
async def w2_run(persist: str, res: dict[str, Any]) -> None:
    path = fresh_path("lga-w2.db")
    saver, conn = await make_saver(persist, path)
    graph = build(saver, n_tool_turns=0, answer_bytes=W2_MSG_BYTES)
    cfg = config("t2")
    per_turn = []
    io0 = proc_io()
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    for turn in range(W2_TURNS):
        t = time.perf_counter()
        inp = {"messages": [HumanMessage(text(turn, W2_MSG_BYTES))]}
        out = await graph.ainvoke(inp, cfg, durability=durability(persist))
        per_turn.append(time.perf_counter() - t)
    res["total"] = time.perf_counter() - t0
    io1 = proc_io()
    assert len(out["messages"]) == 2 * W2_TURNS, len(out["messages"])
    if conn is not None:
        await conn.close()
    res["per_turn"] = per_turn
    res["db_bytes"] = file_bytes(path)
    res["row_bytes_by_table"] = sqlite_payload_bytes(path)
    res["row_bytes"] = sum(res["row_bytes_by_table"].values())
    res["state_bytes"] = json_bytes({"messages": as_dicts(out["messages"])})
    res["wchar"] = io1.get("wchar", 0) - io0.get("wchar", 0)


# -------------------------------------------------------------------- W4
async def w4_prepare(persist: str) -> None:
    saver, _ = await make_saver(persist, fresh_path("lga-w4.db"))
    graph = build(saver)
    await graph.ainvoke({"messages": [HumanMessage(W1_PROMPT)]}, config("w4"), durability=durability(persist))


async def w4_resume(persist: str, res: dict[str, Any]) -> None:
    t = time.perf_counter()
    saver, conn = await make_saver(persist, SCRATCH / "lga-w4.db")
    assert conn is not None
    graph = build(saver)
    cfg = config("w4")
    t1 = time.perf_counter()
    snap = await graph.aget_state(cfg)
    res["t_load"] = time.perf_counter() - t1
    res["messages_at_load"] = len(snap.values.get("messages", []))
    t2 = time.perf_counter()
    out = await graph.ainvoke(None, cfg, durability=durability(persist))
    res["t_continue"] = time.perf_counter() - t2
    res["t_resume_total"] = time.perf_counter() - t
    res["final_messages"] = len(out["messages"])
    assert res["final_messages"] == 2 * W1_TOOL_TURNS + 2, res["final_messages"]
    await conn.close()


def main() -> None:
    a = base_args("langgraph-agent")
    res = result_header("langgraph", a, T_IMPORT, LANGGRAPH_VERSION)
    if a.workload == "w1":
        time_reps(res, lambda: w1_once(a.persist), a)
    elif a.workload == "rss":
        rss0 = rss_peak_kib()
        w1_once(a.persist, name="lga-rss.db")
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
