"""LangGraph agent-level worker: ``langgraph.prebuilt.create_react_agent`` with a fake chat model and a tool.

Adapted from the peer harness (``shared/bench/peers/peer_langgraph.py``, variant ``prebuilt``): a
``BaseChatModel`` fake (``bind_tools`` supported) that decides from the last message only, exactly like
``common.fake_model_dict`` (tool call ``lookup(q="query k")`` with id ``call_k`` for turn k < N, else a
text answer), and an async ``@tool`` ``lookup``: the full typical stack, LangChain messages, callbacks
and ``ToolNode`` included. Runs in LangGraph's own virtualenv (``bench/requirements-langgraph.txt``).

persist modes (``lg_common.py`` says what each one sets): none memory sqlite-normal

workloads: w1 w2 w4-prepare w4-resume rss (variant: prebuilt)
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

# the checkpointers lg_common opens: imported here, so that T_IMPORT counts them
import aiosqlite  # noqa: E402, F401
from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.tools import BaseTool, tool  # noqa: E402
from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402, F401
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402, F401
from langgraph.prebuilt import create_react_agent  # noqa: E402

T_IMPORT = time.perf_counter() - T0

import lg_common as lg  # noqa: E402
from common import (  # noqa: E402
    W1_ANSWER_BYTES,
    W1_PROMPT,
    W1_TOOL_RESULT_BYTES,
    W1_TOOL_TURNS,
    W2_MSG_BYTES,
    crashing,
    fresh_path,
    in_loop,
    json_bytes,
    maybe_crash,
    next_turn_from_last,
    peak_rss,
    run_worker,
    store_bytes,
    text,
    timed,
)

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


def build(saver: lg.Saver, n_tool_turns: int = W1_TOOL_TURNS, answer_bytes: int = W1_ANSWER_BYTES) -> Any:
    model = FakeToolChatModel(n_tool_turns=n_tool_turns, answer_bytes=answer_bytes)
    tools: list[BaseTool] = [lookup]
    return create_react_agent(model, tools, checkpointer=saver)


def as_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The conversation in the common plain-dict form (the same final-state measure on every side)."""
    return [{"role": ROLE.get(m.type, m.type), "content": m.content} for m in messages]


# -------------------------------------------------------------------- W1
def w1_input() -> dict[str, Any]:
    return {"messages": [HumanMessage(W1_PROMPT)]}


def w1_once(persist: str, name: str = "lga-w1.db") -> float:
    return lg.timed_invoke(build, persist, name, "t1", w1_input, lg.check_w1)


# -------------------------------------------------------------------- W2
def build_w2(saver: lg.Saver) -> Any:
    return build(saver, n_tool_turns=0, answer_bytes=W2_MSG_BYTES)


def user_turn(turn: int) -> dict[str, Any]:
    return {"messages": [HumanMessage(text(turn, W2_MSG_BYTES))]}


async def w2_run(persist: str, res: dict[str, Any]) -> None:
    path = fresh_path("lga-w2.db")
    graph, conn = await lg.open_graph(build_w2, persist, path)
    out = await lg.w2_turns(graph, persist, user_turn, res)
    if conn is not None:
        await conn.close()
    store_bytes(res, path)
    res["state_bytes"] = json_bytes({"messages": as_dicts(out["messages"])})


# -------------------------------------------------------------------- W4
async def w4_prepare(persist: str) -> None:
    await lg.w4_prepare(build, persist, "lga-w4.db", w1_input())


async def w4_resume(persist: str, res: dict[str, Any]) -> None:
    await lg.w4_resume(build, persist, "lga-w4.db", res)


def main() -> None:
    workloads = {
        "w1": timed(w1_once),
        "w2": in_loop(w2_run),
        "w4-prepare": crashing(w4_prepare),
        "w4-resume": in_loop(w4_resume),
        "rss": peak_rss(lambda persist: w1_once(persist, name="lga-rss.db")),
    }
    run_worker("langgraph-agent", "langgraph", T_IMPORT, workloads, lg.LANGGRAPH_VERSION)


if __name__ == "__main__":
    main()
