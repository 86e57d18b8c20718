"""The defects verified in the seed project (loom-agent 0.8.1), each made impossible by one test.

- tool calls dropped when the context was rebuilt between the model call and tool dispatch;
- compaction stripping tool-call ids (a call without its result, or a result without its call);
- user prompts missing from session history;
- instructions duplicated across a session's runs;
- context shared between sessions;
- a limit reached or a provider error reported as ``completed``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import (
    RecordingModel,
    is_summary_request,
    make_agent,
    pairing_problems,
    result_texts,
    roles_and_texts,
    system_text,
    tool_calls,
)

from loomflow import (
    Agent,
    ContextProtocol,
    ContinuityPolicy,
    Limits,
    Message,
    ModelRequest,
    ModelResponse,
    Runtime,
    TextPart,
    ToolCall,
    ToolCallPart,
    tool,
)
from loomflow.agent.context import DROPPED
from loomflow.tools import Tool

# ---------------------------------------------------------------------- tool calls survive a rebuilt context


def _workspace(log: list[str]) -> list[Tool]:
    @tool(read_only=True)
    def fetch(n: int) -> str:
        """Fetch a large document."""
        log.append(f"fetch-{n}")
        return f"doc {n}: " + "x" * 4000

    @tool(require_approval=True)
    def act(n: int) -> str:
        """Do something that needs a human's approval."""
        log.append(f"act-{n}")
        return f"acted {n}"

    return [fetch, act]


PRESSURE = {
    # past `hard`: the context is renewed with a handoff
    "renew": ContextProtocol.manager(max_tokens=1000),
    # past `soft` only: compaction by each strategy
    "drop_tool_outputs": ContextProtocol.manager(1500, strategy="drop_tool_outputs", soft=0.5, hard=1.0, keep_recent=0),
    "sliding_window": ContextProtocol.manager(1500, strategy="sliding_window", soft=0.5, hard=1.0),
}
TURNS = [
    ToolCall("fetch", {"n": 0}),
    [ToolCall("fetch", {"n": 1}), ToolCall("act", {"n": 2})],
    "done",
]


@pytest.mark.parametrize("pressure", list(PRESSURE))
async def test_tool_calls_of_the_turn_run_after_compaction_and_an_approval_resumed_elsewhere(
    tmp_path: Path, pressure: str
) -> None:
    db = tmp_path / "runs.db"
    log: list[str] = []
    runtime = Runtime(context=PRESSURE[pressure])
    first_model = RecordingModel(TURNS)
    compactions: list[str] = []
    agent = Agent(first_model, tools=_workspace(log), runtime=runtime, checkpoint_store=db)
    agent.on("on_context_compact", lambda **event: compactions.append(event["strategy"]))

    paused = await agent.run("Read both documents, then act")

    assert paused.status == "interrupted"
    assert compactions == [pressure], "the context was compacted between the two model turns"
    # The turn's calls are state, carried past the compaction to governance and the pause.
    turn = paused.state.messages[-1]
    assert turn.role == "assistant"
    assert [c.id for c in paused.state.pending_calls] == [c.id for c in turn.tool_calls]
    assert [(c.name, c.arguments) for c in paused.state.pending_calls] == [("fetch", {"n": 1}), ("act", {"n": 2})]
    assert paused.interrupt is not None
    assert paused.interrupt.payload["call_id"] == turn.tool_calls[1].id
    assert log == ["fetch-0"]
    await agent.close()

    # Another Agent object on the same file answers, as another process would.
    second_model = RecordingModel(TURNS)
    again = Agent(second_model, tools=_workspace(log), runtime=runtime, checkpoint_store=db)
    stored = await again.state(paused.run_id)
    assert [c.id for c in stored.pending_calls] == [c.id for c in turn.tool_calls]
    result = await again.resume(paused.run_id, "approve")
    await again.close()

    assert result.status == "completed", result.error
    assert result.output == "done"
    assert Counter(log) == Counter({"fetch-0": 1, "fetch-1": 1, "act-2": 1})
    answers = result_texts(result.state.messages)
    assert answers[turn.tool_calls[0].id].startswith("doc 1: ")
    assert answers[turn.tool_calls[1].id] == "acted 2"
    assert pairing_problems(result.state.messages) == []
    assert result.state.pending_calls == ()
    # The fresh model was asked only for the call after the resume; earlier ones came from the journal.
    assert second_model.unused() == [0, 1]
    for request in [*first_model.requests, *second_model.requests]:
        assert pairing_problems(request.messages) == []


# ---------------------------------------------------------------------- compaction keeps calls and results paired


def _compaction_run(strategy: str) -> tuple[RecordingModel, Agent]:
    turns = itertools.count()

    def respond(request: ModelRequest) -> Any:
        if is_summary_request(request):
            return "SUMMARY-OF-EARLIER-WORK"
        n = next(turns)
        if n < 8:
            return [ToolCall("big", {"n": 2 * n}), ToolCall("big", {"n": 2 * n + 1})]
        return "done"

    @tool(read_only=True)
    def big(n: int) -> str:
        """A large result."""
        return f"result {n}: " + "y" * 600

    model = RecordingModel([respond] * 20)
    runtime = Runtime(
        context=ContextProtocol.manager(2000, strategy=strategy, soft=0.5, hard=0.99, keep_recent=1),  # type: ignore[arg-type]
        continuity=ContinuityPolicy.handoff(summarizer="model"),
    )
    return model, make_agent(model, tools=[big], runtime=runtime)


@pytest.mark.parametrize("strategy", ["drop_tool_outputs", "sliding_window", "summarize"])
async def test_compaction_never_separates_a_tool_call_from_its_result(strategy: str) -> None:
    model, agent = _compaction_run(strategy)
    handle = agent.start("Collect the results")
    events = [e async for e in handle.events()]
    result = await handle.wait()

    assert result.status == "completed", result.error
    compacted = [e.data for e in events if e.kind == "context_compacted"]
    assert compacted, "the test must put the context under pressure"
    assert {c["strategy"] for c in compacted} == {strategy}
    assert all(c["after"] < c["before"] for c in compacted)
    assert result.state.renewals == 0
    run_requests = model.run_requests()
    assert len(run_requests) == 9
    for request in model.requests:
        assert pairing_problems(request.messages) == [], roles_and_texts(request)
    # Something left the model's view, while the run's own record kept everything.
    assert len(tool_calls(result.state.messages)) == 16
    assert pairing_problems(result.state.messages) == []
    last = run_requests[-1]
    if strategy == "drop_tool_outputs":
        dropped = [p for m in last.messages for p in m.tool_results if p.content == DROPPED]
        assert dropped, "old outputs are shown as a placeholder that keeps the call id"
        assert result.state.dropped_outputs
    else:
        assert len(tool_calls(last.messages)) < 16
        assert result.state.window_start > 0
    if strategy == "summarize":
        summaries = [r for r in model.requests if is_summary_request(r)]
        assert summaries, "the summarize strategy asked the model for a summary"
        assert "SUMMARY-OF-EARLIER-WORK" in system_text(last)


async def test_summarize_strategy_asks_the_model_with_the_default_continuity() -> None:
    turns = itertools.count()

    def respond(request: ModelRequest) -> Any:
        if is_summary_request(request):
            return "SUMMARY-OF-EARLIER-WORK"
        n = next(turns)
        return ToolCall("big", {"n": n}) if n < 6 else "done"

    @tool(read_only=True)
    def big(n: int) -> str:
        """A large result."""
        return "z" * 1200

    model = RecordingModel([respond] * 20)
    runtime = Runtime(context=ContextProtocol.manager(2000, strategy="summarize", soft=0.5, hard=0.99))
    result = await make_agent(model, tools=[big], runtime=runtime).run("go")
    assert result.status == "completed"
    assert any(is_summary_request(r) for r in model.requests)


# ---------------------------------------------------------------------- sessions


async def test_a_sessions_next_run_sees_the_earlier_user_prompt_and_answer() -> None:
    model = RecordingModel(["Clarity, consistency, small surface.", "A good API is clear and small."])
    session = make_agent(model).session("demo-user")

    first = await session.run("List three qualities of a good API")
    second = await session.run("Summarise the previous answer in one sentence")

    assert (first.status, second.status) == ("completed", "completed")
    conversation = [rt for rt in roles_and_texts(model.requests[1]) if rt[0] != "system"]
    assert conversation == [
        ("user", "List three qualities of a good API"),
        ("assistant", "Clarity, consistency, small surface."),
        ("user", "Summarise the previous answer in one sentence"),
    ]


async def test_instructions_appear_once_in_a_sessions_third_run() -> None:
    instructions = "You are a concise coding assistant. INSTRUCTIONS-MARK"
    model = RecordingModel(["one", "two", "three"])
    session = make_agent(model, instructions=instructions).session("s")
    for prompt in ("first", "second", "third"):
        assert (await session.run(prompt)).status == "completed"

    third = model.requests[2]
    everything = "\n".join(text for _, text in roles_and_texts(third))
    assert everything.count("INSTRUCTIONS-MARK") == 1
    assert third.messages[0].role == "system"
    assert [m.role for m in third.messages].count("system") == 1
    assert [text for role, text in roles_and_texts(third) if role == "user"] == ["first", "second", "third"]


async def test_two_sessions_interleaved_on_one_agent_never_see_each_others_turns() -> None:
    def echo(request: ModelRequest) -> str:
        users = [m.text for m in request.messages if m.role == "user"]
        return f"answer to {users[-1]}"

    model = RecordingModel([echo] * 4)
    agent = make_agent(model)
    alice, bob = agent.session("alice"), agent.session("bob")

    await alice.run("alice-1")
    await bob.run("bob-1")
    await alice.run("alice-2")
    await bob.run("bob-2")

    seen = ["\n".join(text for _, text in roles_and_texts(r)) for r in model.requests]
    for alices, bobs in ((seen[0], seen[1]), (seen[2], seen[3])):
        assert "bob" not in alices
        assert "alice" not in bobs
    assert [t for r, t in roles_and_texts(model.requests[2]) if r != "system"] == [
        "alice-1",
        "answer to alice-1",
        "alice-2",
    ]
    assert [m.text for m in await bob.transcript()] == ["bob-1", "answer to bob-1", "bob-2", "answer to bob-2"]


async def test_sessions_running_at_the_same_time_on_one_agent_stay_apart() -> None:
    order: list[str] = []

    @tool
    def think(who: str) -> str:
        """Think in a worker thread (so the two conversations interleave on the loop)."""
        order.append(who)
        return f"thought for {who}"

    def answer(request: ModelRequest) -> str:
        users = [m.text for m in request.messages if m.role == "user"]
        return f"answer to {users[-1]}"

    def ask(request: ModelRequest) -> ToolCall:
        users = [m.text for m in request.messages if m.role == "user"]
        return ToolCall("think", {"who": users[-1].split("-")[0]})

    model = RecordingModel([ask, answer] * 3)
    agent = make_agent(model, tools=[think])

    async def conversation(name: str) -> list[str]:
        session = agent.session(name)
        return [str((await session.run(f"{name}-{i}")).output) for i in range(3)]

    alice, bob = await asyncio.gather(conversation("alice"), conversation("bob"))

    assert alice == [f"answer to alice-{i}" for i in range(3)]
    assert bob == [f"answer to bob-{i}" for i in range(3)]
    assert order != sorted(order), "the two sessions really ran interleaved"
    for request in model.requests:
        text = "\n".join(t for _, t in roles_and_texts(request))
        assert not ("alice" in text and "bob" in text), text


# ---------------------------------------------------------------------- honest statuses


def _turn(i: int) -> ModelResponse:
    """A turn with some text and a tool call: the text is the run's partial output so far."""
    parts = (TextPart(text=f"progress {i}"), ToolCallPart(id=f"c{i}", name="step", arguments={"i": i}))
    return ModelResponse(message=Message(role="assistant", parts=parts), finish_reason="tool_calls")


@tool
def step(i: int) -> str:
    """One step of work."""
    return f"step {i} done"


async def test_max_iterations_ends_limit_reached_with_partial_output_and_resumes_to_completion() -> None:
    model = RecordingModel([_turn(0), _turn(1), _turn(2), "all done"])
    agent = make_agent(model, tools=[step], runtime=Runtime(max_iterations=2))

    result = await agent.run("Work through the steps")

    assert result.status == "limit_reached"
    assert result.output == "progress 1"
    assert result.error is not None
    assert "max_iterations" in result.error
    assert result.state.iterations == 2
    assert (await agent.result(result.run_id)).status == "limit_reached"

    resumed = await agent.resume(result.run_id, limits=Limits(budgets={"max_iterations": 10}))
    assert resumed.status == "completed", resumed.error
    assert resumed.output == "all done"
    assert resumed.state.iterations == 4
    assert model.unused() == []


async def test_a_provider_running_out_of_script_fails_the_run() -> None:
    model = RecordingModel([ToolCall("step", {"i": 1})])
    result = await make_agent(model, tools=[step]).run("go")

    assert result.status == "failed"
    assert result.error is not None
    assert "ScriptExhausted" in result.error
    assert result.output is None


async def test_a_provider_raising_fails_the_run_never_completes_it() -> None:
    def down(request: ModelRequest) -> str:
        raise ConnectionError("provider unreachable")

    agent = make_agent(RecordingModel(["first answer", down]))
    session = agent.session("s")
    assert (await session.run("one")).status == "completed"
    result = await session.run("two")

    assert result.status == "failed"
    assert result.error is not None
    assert "provider unreachable" in result.error
    assert (await agent.result(result.run_id)).status == "failed"


async def test_a_run_failed_by_the_provider_resumes_once_it_is_back() -> None:
    outage = {"on": True}

    def flaky(request: ModelRequest) -> str:
        if outage["on"]:
            raise ConnectionError("provider unreachable")
        return "answer"

    ran: list[int] = []

    @tool
    def once(i: int) -> str:
        """Work that must run once."""
        ran.append(i)
        return f"ran {i}"

    agent = make_agent(RecordingModel([ToolCall("once", {"i": 1}), flaky]), tools=[once])
    failed = await agent.run("go")
    assert (failed.status, failed.output) == ("failed", None)
    assert result_texts(failed.state.messages) == {"call_0_0": "ran 1"}

    outage["on"] = False
    resumed = await agent.resume(failed.run_id)
    assert (resumed.status, resumed.output) == ("completed", "answer")
    assert ran == [1], "the finished tool call was not made again"


async def test_a_content_filtered_response_fails_the_run() -> None:
    refused = ModelResponse(message=Message.assistant("I cannot help."), finish_reason="content_filter")
    result = await make_agent(RecordingModel([refused])).run("go")
    assert result.status == "failed"
    assert result.error is not None
    assert "content_filter" in result.error
