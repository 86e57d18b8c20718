"""loomflow agent-level worker: ``Agent`` (the ``agent_run`` graph) with a ``@tool`` and a fake model provider.

The counterpart of LangGraph's ``create_react_agent`` (``worker_langgraph_agent.py``): the user-side API
with everything a default agent runs (intake, context build, the model call through the journal,
governance, tool dispatch, quality gate, finalize). The fake provider implements the ``ModelProvider``
protocol (``name``, ``request``, ``stream``) and decides from the last message only, O(1) per call, exactly
like ``common.fake_model_dict``: tool call ``lookup(q="query k")`` with id ``call_k`` for turn k < N, else
a text answer. Building the ``Agent`` and opening its store are outside the timed region (as LangGraph's
``create_react_agent(...)`` and ``saver.setup()`` are); ``agent.run`` / ``session.run`` / ``resume`` are
inside it.

persist modes:
  none     MemoryStore, durability="exit"
  memory   MemoryStore, durability="sync"
  sqlite   SQLiteStore (synchronous="normal"), durability="sync": the defaults

workloads: w1 w2 (a Session of 200 runs) w4-prepare w4-resume rss (variant: agent)
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
import asyncio  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Literal  # noqa: E402

import loomflow  # noqa: E402
from loomflow import (  # noqa: E402
    Agent,
    MemoryStore,
    Message,
    ModelDelta,
    ModelRequest,
    ModelResponse,
    Runtime,
    SQLiteStore,
    TextPart,
    Tool,
    ToolCallPart,
    tool,
)

T_IMPORT = time.perf_counter() - T0

import lf_common as lf  # noqa: E402
from common import (  # noqa: E402
    SCRATCH,
    W1_ANSWER_BYTES,
    W1_PROMPT,
    W1_TOOL_RESULT_BYTES,
    W1_TOOL_TURNS,
    W2_MSG_BYTES,
    W2_TURNS,
    crashing,
    fresh_path,
    in_loop,
    maybe_crash,
    measure_store,
    next_turn_from_last,
    peak_rss,
    run_worker,
    text,
    timed,
)


class FakeProvider:
    """A ``ModelProvider`` that decides from the last message only (O(1) per call)."""

    def __init__(self, n_tool_turns: int = W1_TOOL_TURNS, answer_bytes: int = W1_ANSWER_BYTES) -> None:
        self.n_tool_turns = n_tool_turns
        self.answer_bytes = answer_bytes

    @property
    def name(self) -> str:
        return "bench-fake"

    async def request(self, request: ModelRequest) -> ModelResponse:
        messages = request.messages
        last = messages[-1]
        results = last.tool_results if last.role == "tool" else ()
        k = next_turn_from_last(last.role, results[0].call_id if results else None)
        if k < self.n_tool_turns:
            call = ToolCallPart(id=f"call_{k}", name="lookup", arguments={"q": f"query {k}"})
            return ModelResponse(message=Message(role="assistant", parts=(call,)), finish_reason="tool_calls")
        # the seed counts the conversation's messages, as LangGraph's fake does (the system message aside)
        seed = len(messages) - (messages[0].role == "system")
        answer = TextPart(text=text(seed, self.answer_bytes))
        return ModelResponse(message=Message(role="assistant", parts=(answer,)), finish_reason="stop")

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta | ModelResponse]:
        yield await self.request(request)


@tool(read_only=True)  # read-only, so idempotent: a call cut by the W4 crash is re-run on resume
async def lookup(q: str) -> str:
    """Look something up."""
    k = int(q.rsplit(" ", 1)[1])
    maybe_crash(k)
    return text(k, W1_TOOL_RESULT_BYTES)


def make_agent(
    persist: str, path: Path, n_tool_turns: int = W1_TOOL_TURNS, answer_bytes: int = W1_ANSWER_BYTES
) -> Agent:
    """The same configuration on every call (W4 resumes with a fresh one); the store opened here."""
    store = MemoryStore() if persist in ("none", "memory") else SQLiteStore(path)
    durability: Literal["exit", "sync"] = "exit" if persist == "none" else "sync"
    tools: list[Tool] = [lookup]
    agent = Agent(
        FakeProvider(n_tool_turns, answer_bytes),
        tools=tools,
        runtime=Runtime(max_iterations=10 * W1_TOOL_TURNS),  # the default, 50 model calls, is under W1's 101
        checkpoint_store=store,
        durability=durability,
    )
    agent.interpreter  # noqa: B018 - opens the interpreter outside the timed region
    agent.session_store  # noqa: B018
    return agent


def check_w1(state: Any) -> None:
    assert len(state.messages) == 2 * W1_TOOL_TURNS + 2, len(state.messages)
    assert state.output is not None
    assert len(state.output) == W1_ANSWER_BYTES, state.output


# -------------------------------------------------------------------- W1
def w1_once(persist: str, name: str = "lfa-w1.db") -> float:
    async def go() -> float:
        agent = make_agent(persist, fresh_path(name))
        t = time.perf_counter()
        result = await agent.run(W1_PROMPT)
        dt = time.perf_counter() - t
        assert result.status == "completed", (result.status, result.error)
        check_w1(result.state)
        await asyncio.sleep(0)  # let fire-and-forget store updates run before the store closes
        await agent.close()
        return dt

    return asyncio.run(go())


# -------------------------------------------------------------------- W2
async def w2_session(persist: str, path: Path, res: dict[str, Any]) -> list[dict[str, Any]]:
    """200 ``session.run`` turns; each run sees the session's earlier turns (transcript restore)."""
    agent = make_agent(persist, path, n_tool_turns=0, answer_bytes=W2_MSG_BYTES)
    session = agent.session("s2")
    per_turn = []
    for turn in range(W2_TURNS):
        t = time.perf_counter()
        result = await session.run(text(turn, W2_MSG_BYTES))
        per_turn.append(time.perf_counter() - t)
        assert result.status == "completed", (result.status, result.error)
        assert result.state.restored == 2 * turn, (turn, result.state.restored)  # it saw every earlier turn
    res["per_turn"] = per_turn
    transcript = await session.transcript()
    assert len(transcript) == 2 * W2_TURNS, len(transcript)
    await asyncio.sleep(0)
    await agent.close()
    return [{"role": m.role, "content": m.text} for m in transcript]


# -------------------------------------------------------------------- W4
async def w4_prepare(persist: str) -> None:
    agent = make_agent(persist, fresh_path("lfa-w4.db"))
    await agent.run(W1_PROMPT, run_id="w4")  # exits inside the tool call (BENCH_CRASH_AT)


async def w4_resume(persist: str, res: dict[str, Any]) -> None:
    agent, result = await lf.w4_resume(lambda: make_agent(persist, SCRATCH / "lfa-w4.db"), res)
    check_w1(result.state)
    await asyncio.sleep(0)
    await agent.close()


def w2_run(persist: str, res: dict[str, Any]) -> None:
    path = fresh_path("lfa-w2.db")
    measure_store(res, path, lambda: asyncio.run(w2_session(persist, path, res)), lambda m: {"messages": m})


def main() -> None:
    workloads = {
        "w1": timed(w1_once),
        "w2": lambda a, res: w2_run(a.persist, res),
        "w4-prepare": crashing(w4_prepare),
        "w4-resume": in_loop(w4_resume),
        "rss": peak_rss(lambda persist: w1_once(persist, name="lfa-rss.db")),
    }
    run_worker("loomflow-agent", "loomflow", T_IMPORT, workloads, loomflow.__version__)


if __name__ == "__main__":
    main()
