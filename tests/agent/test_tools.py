"""``tool_dispatch``: every call of the model's turn gets exactly one result, whatever goes wrong.

Unknown tools, arguments that are not JSON, schema violations, exceptions and timeouts become error
results the model sees; sync tools run off the event loop; parallel calls respect the concurrency cap
and keep request order; a tool that is not parallel-safe runs alone; artifacts are kept with the run.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent, pairing_problems, result_texts, tool_calls

from loomflow import Artifact, Message, ModelResponse, Runtime, ToolCall, ToolCallPart, tool
from loomflow.messages import ToolResultPart
from loomflow.tools import Tool


def _results(messages: Any) -> dict[str, ToolResultPart]:
    return {p.call_id: p for m in messages for p in m.tool_results}


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


@tool
def broken(text: str) -> str:
    """Always fails."""
    raise ValueError(f"cannot handle {text}")


async def test_errors_become_results_the_model_sees_and_every_call_is_answered_once() -> None:
    bad_json = ModelResponse(
        message=Message(role="assistant", parts=(ToolCallPart(id="bad", name="add", raw_arguments='{"a": 1, "b": '),)),
        finish_reason="tool_calls",
    )
    turn = [
        ToolCall("search_web", {"q": "x"}, id="unknown"),
        ToolCall("add", {"a": "one", "b": 2}, id="wrong-type"),
        ToolCall("add", {"a": 1}, id="missing"),
        ToolCall("add", {"a": 1, "b": 2, "c": 3}, id="extra"),
        ToolCall("broken", {"text": "this"}, id="raises"),
        ToolCall("add", {"a": 2, "b": 3}, id="fine"),
    ]
    model = RecordingModel([turn, bad_json, "done"])
    result = await make_agent(model, tools=[add, broken]).run("go")

    assert result.status == "completed", result.error
    results = _results(result.state.messages)
    assert results["unknown"].is_error
    assert "unknown tool 'search_web'" in results["unknown"].content
    assert "add, broken" in results["unknown"].content  # the model is told what exists
    assert results["wrong-type"].is_error
    assert "invalid arguments for tool 'add'" in results["wrong-type"].content
    assert "a:" in results["wrong-type"].content
    assert results["missing"].is_error
    assert "b:" in results["missing"].content
    assert results["extra"].is_error
    assert "c:" in results["extra"].content
    assert results["raises"].is_error
    assert "ValueError: cannot handle this" in results["raises"].content
    assert (results["fine"].is_error, results["fine"].content) == (False, "5")
    assert results["bad"].is_error
    assert "not valid JSON" in results["bad"].content
    assert '{"a": 1, "b": ' in results["bad"].content
    # The model saw each error, in the order it made the calls, in its next request.
    second = model.requests[1]
    assert [p.call_id for m in second.messages for p in m.tool_results] == [c.id for c in turn]
    assert pairing_problems(result.state.messages) == []
    assert len(_results(result.state.messages)) == len(tool_calls(result.state.messages)) == 7


async def test_a_sync_tool_runs_in_a_worker_thread() -> None:
    threads: list[int] = []

    @tool
    def where() -> str:
        """Report the thread."""
        threads.append(threading.get_ident())
        return "here"

    @tool
    async def where_async() -> str:
        """Report the thread (async)."""
        threads.append(threading.get_ident())
        return "here"

    loop_thread = threading.get_ident()
    model = RecordingModel([[ToolCall("where"), ToolCall("where_async")], "done"])
    result = await make_agent(model, tools=[where, where_async]).run("go")

    assert result.status == "completed"
    assert len(threads) == 2
    assert threads[0] != loop_thread
    assert threads[1] == loop_thread


@pytest.mark.parametrize("idempotent", [False, True])
async def test_a_tool_past_its_timeout_is_an_error_result_and_journaled_as_timed_out(idempotent: bool) -> None:
    release = asyncio.Event()

    @tool(timeout=0.05, idempotent=idempotent)
    async def slow_call(n: int) -> str:
        """Takes too long."""
        await release.wait()
        return "finished"

    model = RecordingModel([ToolCall("slow_call", {"n": 1}, id="slow"), "done"])
    agent = make_agent(model, tools=[slow_call])
    result = await agent.run("go")

    assert result.status == "completed", result.error
    content = result_texts(result.state.messages)["slow"]
    assert "timed out" in content
    assert "0.05" in content
    assert ("may have taken effect" in content) is (not idempotent)
    assert _results(result.state.messages)["slow"].is_error
    entries = [e for e in await agent.interpreter.store.journal(result.run_id) if e.name == "tool:slow_call"]
    assert [e.status for e in entries] == ["timed_out"]


async def test_a_sync_tool_past_its_timeout_is_an_error_result() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def blocking(n: int) -> str:
        """Blocks its thread."""
        release.wait(10)
        return "finished"

    model = RecordingModel([ToolCall("blocking", {"n": 1}, id="b"), "done"])
    try:
        result = await make_agent(model, tools=[blocking]).run("go")
    finally:
        release.set()  # let the worker thread end
    assert result.status == "completed"
    assert "timed out" in result_texts(result.state.messages)["b"]


async def test_a_tool_raising_timeout_error_itself_is_reported_as_a_failure() -> None:
    @tool
    def connect() -> str:
        """Connect somewhere."""
        raise TimeoutError("connect timed out")

    model = RecordingModel([ToolCall("connect", id="c"), "done"])
    result = await make_agent(model, tools=[connect]).run("go")
    content = result_texts(result.state.messages)["c"]
    assert "None" not in content
    assert "TimeoutError: connect timed out" in content


def _tracked(name: str, stats: dict[str, Any], *, parallel_safe: bool = True, yields: int = 3) -> Tool:
    """An async tool that counts how many tools run at once while it runs."""

    async def body(i: int) -> str:
        stats["running"] += 1
        stats["peak"] = max(stats["peak"], stats["running"])
        if not parallel_safe:
            stats["solo_saw"].append(stats["running"])
        elif stats["solo_running"]:
            stats["overlapped_solo"] = True
        stats["solo_running"] = stats["solo_running"] or not parallel_safe
        for _ in range(yields + (10 - i)):  # later calls finish sooner: completion order != request order
            await asyncio.sleep(0)
        if not parallel_safe:
            stats["solo_running"] = False
        stats["running"] -= 1
        stats["order"].append(i)
        return f"{name} {i}"

    body.__name__ = name
    body.__doc__ = f"Tracked tool {name}."
    return tool(parallel_safe=parallel_safe)(body)


def _stats() -> dict[str, Any]:
    return {"running": 0, "peak": 0, "order": [], "solo_saw": [], "solo_running": False, "overlapped_solo": False}


async def test_parallel_calls_respect_the_concurrency_cap_and_keep_request_order() -> None:
    stats = _stats()
    work = _tracked("work", stats)
    turn = [ToolCall("work", {"i": i}, id=f"w{i}") for i in range(6)]
    model = RecordingModel([turn, "done"])
    result = await make_agent(model, tools=[work], runtime=Runtime(tool_concurrency=2)).run("go")

    assert result.status == "completed"
    assert stats["peak"] == 2
    assert stats["order"] != sorted(stats["order"]), "calls finished out of request order"
    tool_messages = [m for m in result.state.messages if m.role == "tool"]
    assert [m.tool_results[0].call_id for m in tool_messages] == [f"w{i}" for i in range(6)]
    assert [m.tool_results[0].content for m in tool_messages] == [f"work {i}" for i in range(6)]


async def test_a_tool_that_is_not_parallel_safe_runs_alone() -> None:
    stats = _stats()
    work = _tracked("work", stats)
    solo = _tracked("solo", stats, parallel_safe=False)
    turn = [
        ToolCall("work", {"i": 0}),
        ToolCall("work", {"i": 1}),
        ToolCall("solo", {"i": 2}),
        ToolCall("work", {"i": 3}),
        ToolCall("solo", {"i": 4}),
        ToolCall("work", {"i": 5}),
    ]
    model = RecordingModel([turn, "done"])
    result = await make_agent(model, tools=[work, solo], runtime=Runtime(tool_concurrency=4)).run("go")

    assert result.status == "completed"
    assert stats["solo_saw"] == [1, 1]
    assert not stats["overlapped_solo"]
    assert stats["peak"] == 2  # the parallel-safe neighbours still ran together
    contents = [m.tool_results[0].content for m in result.state.messages if m.role == "tool"]
    assert contents == ["work 0", "work 1", "solo 2", "work 3", "solo 4", "work 5"]


async def test_artifacts_returned_by_tools_are_kept_with_the_run() -> None:
    @tool
    def write_report(title: str) -> Artifact:
        """Write a report."""
        return Artifact(name=f"{title}.md", content=f"# {title}\n", media_type="text/markdown", summary="a report")

    turn = [ToolCall("write_report", {"title": "alpha"}, id="a"), ToolCall("write_report", {"title": "beta"}, id="b")]
    model = RecordingModel([turn, "done"])
    agent = make_agent(model, tools=[write_report])

    handle = agent.start("Write two reports")
    artifacts = await handle.artifacts()
    result = await handle.wait()

    assert result.status == "completed"
    common = {"media_type": "text/markdown", "summary": "a report"}
    expected = (
        {"name": "alpha.md", "content": "# alpha\n", **common, "call_id": "a"},
        {"name": "beta.md", "content": "# beta\n", **common, "call_id": "b"},
    )
    assert artifacts == expected
    assert result.state.artifacts == expected
    assert (await agent.state(result.run_id)).artifacts == expected  # survives a reload from the store
    seen = result_texts(model.requests[1].messages)
    assert seen["a"] == "saved artifact 'alpha.md' (text/markdown, a report)"


def test_the_schema_comes_from_the_signature_and_docstring() -> None:
    spec = add.spec()
    assert spec.name == "add"
    assert spec.description == "Add two numbers."
    assert spec.parameters["required"] == ["a", "b"]
    assert spec.parameters["properties"]["a"]["type"] == "integer"
    assert spec.parameters["properties"]["a"]["description"] == "the first number"


async def test_the_model_is_offered_every_tool_spec() -> None:
    model = RecordingModel(["done"])
    await make_agent(model, tools=[add, broken]).run("go")
    assert [t.name for t in model.requests[0].tools] == ["add", "broken"]


def test_tool_declarations_are_checked() -> None:
    def nameless() -> str:
        return ""

    with pytest.raises(ValueError, match="needs a description"):
        tool(nameless)
    with pytest.raises(ValueError, match="cannot be both read_only and destructive"):
        tool(read_only=True, destructive=True, description="x")(nameless)
    with pytest.raises(ValueError, match="must match"):
        tool(name="has space", description="x")(nameless)
    assert tool(read_only=True, description="x")(nameless).idempotent  # read-only implies idempotent
