"""Budgets end a run ``limit_reached`` with its partial output, never ``completed``; a larger budget
given to ``resume`` continues it."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent, pairing_problems, result_texts

from loomflow import (
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
    Usage,
    tool,
)


@tool
def work(n: int) -> str:
    """Do a unit of work."""
    return f"worked {n}"


def _turn(i: int, calls: int = 1, cost: float | None = None) -> ModelResponse:
    parts = (
        TextPart(text=f"progress {i}"),
        *(ToolCallPart(id=f"c{i}_{j}", name="work", arguments={"n": j}) for j in range(calls)),
    )
    usage = Usage(input_tokens=40, output_tokens=10, cost=cost)
    return ModelResponse(message=Message(role="assistant", parts=parts), usage=usage, finish_reason="tool_calls")


async def test_the_stored_budget_holds_on_a_plain_resume_and_a_larger_one_continues() -> None:
    model = RecordingModel([_turn(0), _turn(1), _turn(2), "done"])
    agent = make_agent(model, tools=[work], runtime=Runtime(max_iterations=1))
    result = await agent.run("go")
    assert (result.status, result.output) == ("limit_reached", "progress 0")

    again = await agent.resume(result.run_id)
    assert again.status == "limit_reached"
    assert len(model.requests) == 1, "a spent budget asks the model nothing"

    more = await agent.resume(result.run_id, limits=Limits(budgets={"max_iterations": 3}))
    assert (more.status, more.output) == ("limit_reached", "progress 2")
    assert more.error is not None
    assert "max_iterations=3" in more.error
    done = await agent.resume(result.run_id, limits=Limits(budgets={"max_iterations": 4}))
    assert (done.status, done.output) == ("completed", "done")


async def test_limits_given_to_run_override_the_runtime() -> None:
    model = RecordingModel([_turn(0), _turn(1), "done"])
    agent = make_agent(model, tools=[work], runtime=Runtime(max_iterations=50))
    result = await agent.run("go", limits=Limits(budgets={"max_iterations": 2}))
    assert (result.status, result.output) == ("limit_reached", "progress 1")


async def test_max_tokens() -> None:
    model = RecordingModel([_turn(0), _turn(1), "done"])
    result = await make_agent(model, tools=[work], runtime=Runtime(max_tokens=60)).run("go")
    assert result.status == "limit_reached"
    assert result.error is not None
    assert "max_tokens=60" in result.error
    assert result.state.tokens == 100
    assert result.output == "progress 1"


async def test_max_cost() -> None:
    model = RecordingModel([_turn(0, cost=0.4), _turn(1, cost=0.4), _turn(2, cost=0.4), "done"])
    result = await make_agent(model, tools=[work], runtime=Runtime(max_cost=0.75)).run("go")
    assert result.status == "limit_reached"
    assert result.error is not None
    assert "max_cost" in result.error
    assert result.state.cost == pytest.approx(0.8)
    assert result.usage["cost"] == pytest.approx(0.8)


async def test_max_tool_calls_refuses_a_turn_that_would_exceed_it_and_answers_every_call() -> None:
    model = RecordingModel([_turn(0, calls=3), _turn(1, calls=3), "done"])
    agent = make_agent(model, tools=[work], runtime=Runtime(max_tool_calls=2))
    result = await agent.run("go")

    assert result.status == "limit_reached"
    assert result.error is not None
    assert "max_tool_calls=2" in result.error
    assert pairing_problems(result.state.messages) == []
    assert all("not run" in text for text in result_texts(result.state.messages).values())
    assert result.state.tool_calls == 0

    resumed = await agent.resume(result.run_id, limits=Limits(budgets={"max_tool_calls": 10}))
    assert resumed.status == "completed", resumed.error
    assert resumed.state.tool_calls == 3
    assert result_texts(resumed.state.messages)["c1_2"] == "worked 2"
    assert pairing_problems(resumed.state.messages) == []


async def test_max_tool_calls_reached_inside_a_turn_keeps_the_partial_output() -> None:
    model = RecordingModel([_turn(0, calls=3), "done"])
    result = await make_agent(model, tools=[work], runtime=Runtime(max_tool_calls=2)).run("go")
    assert result.status == "limit_reached"
    assert result.output == "progress 0"


async def test_a_summary_call_counts_against_max_iterations() -> None:
    @tool(read_only=True)
    def big() -> str:
        """A large result."""
        return "q" * 5000

    def respond(request: ModelRequest) -> Any:
        return "summary"

    model = RecordingModel([ToolCall("big"), respond, "done"])
    runtime = Runtime(
        max_iterations=2,
        context=ContextProtocol.manager(max_tokens=1000),
        continuity=ContinuityPolicy.handoff(summarizer="model"),
    )
    result = await make_agent(model, tools=[big], runtime=runtime).run("go")
    assert result.status == "limit_reached"
    assert result.state.iterations == 2


def test_runtime_budgets_are_validated() -> None:
    with pytest.raises(ValueError, match="max_iterations"):
        Runtime(max_iterations=0)
    with pytest.raises(ValueError, match="tool_concurrency"):
        Runtime(tool_concurrency=0)
    assert Runtime.sdk(max_tokens=10).budgets() == {"max_iterations": 50.0, "max_tokens": 10.0}
