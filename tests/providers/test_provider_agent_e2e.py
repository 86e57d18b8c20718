"""End to end: an ``Agent`` on a real provider adapter and SDK client, over 127.0.0.1, runs a tool turn and
answers; the run's journal holds both model calls and the cost comes from the price table."""

from __future__ import annotations

from typing import Any

import pytest

from loomflow import Agent, MemoryStore, Model, tool
from loomflow.testing.fake_providers import FakeProvider, ToolUse, Turn


@tool(description="Add two integers", read_only=True)
async def add(a: int, b: int) -> str:
    return str(a + b)


def models(kind: str, url: str, key: str) -> Any:
    if kind == "anthropic":
        return Model.anthropic("claude-sonnet-4-5", base_url=url, api_key=key)
    return Model.openai(
        "gpt-5.4", api="responses" if kind == "responses" else "chat", base_url=url + "/v1", api_key=key
    )


@pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated:DeprecationWarning")
@pytest.mark.parametrize("kind", ["anthropic", "chat", "responses"])
async def test_agent_runs_a_tool_turn_then_answers(kind: str, api_key: str) -> None:
    fake = FakeProvider(
        [
            Turn(text="Let me add.", tool_calls=[ToolUse("add", {"a": 2, "b": 3}), ToolUse("add", {"a": 10, "b": 5})]),
            Turn(text="2 + 3 = 5 and 10 + 5 = 15.", input_tokens=900, output_tokens=20),
        ],
        api_key=api_key,
    )
    with fake:
        agent = Agent(
            model=models(kind, fake.url, api_key),
            instructions="You add numbers.",
            tools=[add],
            checkpoint_store=MemoryStore(),
        )
        result = await agent.run("What are 2+3 and 10+5?")
    assert result.status == "completed", result.error
    assert result.output == "2 + 3 = 5 and 10 + 5 = 15."
    fake.assert_complete()
    second = fake.requests[1].body
    if kind == "anthropic":
        results = second["messages"][-1]["content"]
        assert [(r["tool_use_id"], r["content"]) for r in results] == [("toolu_0001", "5"), ("toolu_0002", "15")]
        assert second["system"].startswith("You add numbers.")
    elif kind == "chat":
        assert [(m["tool_call_id"], m["content"]) for m in second["messages"][-2:]] == [
            ("call_0001", "5"),
            ("call_0002", "15"),
        ]
    else:
        outputs = [i for i in second["input"] if i.get("type") == "function_call_output"]
        assert [(o["call_id"], o["output"]) for o in outputs] == [("call_0001", "5"), ("call_0002", "15")]
    assert result.usage.get("cost", 0) > 0  # priced from the table, summed over both calls
    assert api_key not in repr(agent) + repr(result.state.messages)


async def test_malformed_arguments_from_a_local_model_are_told_to_the_model() -> None:
    fake = FakeProvider(
        [Turn(tool_calls=[ToolUse("add", '{"a": 1, "b":')]), Turn(tool_calls=[ToolUse("add", {"a": 1, "b": 2})]), "3"]
    )
    with fake:
        agent = Agent(
            model=Model.openai_compatible("qwen3", base_url=fake.url + "/v1"),
            tools=[add],
            checkpoint_store=MemoryStore(),
        )
        result = await agent.run("1+2?")
    assert (result.status, result.output) == ("completed", "3")
    told = fake.requests[1].body["messages"][-1]
    assert told["role"] == "tool"
    assert "not valid JSON" in told["content"]
    assert "cost" not in result.usage  # no price for a local model: no cost, never a guess


def test_run_sync_twice_gets_a_client_per_event_loop(api_key: str) -> None:
    fake = FakeProvider(["one", "two"], api_key=api_key)
    with fake:
        agent = Agent(
            model=Model.anthropic("claude-haiku-4-5", base_url=fake.url, api_key=api_key),
            checkpoint_store=MemoryStore(),
        )
        outputs = [agent.run_sync("first").output, agent.run_sync("second").output]
    assert outputs == ["one", "two"]
