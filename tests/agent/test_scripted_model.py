"""The scripted model: response *n* answers model call *n* of the run (never a FIFO cursor), so a fresh
agent or process resuming a run gets the right response; it fails loudly when the script runs out."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import RecordingModel, make_agent

from loomflow import (
    Agent,
    Message,
    Model,
    ModelDelta,
    ModelRequest,
    ModelResponse,
    ScriptedModel,
    ToolCall,
    tool,
)
from loomflow.providers import ScriptExhausted


def _request(index: int | None) -> ModelRequest:
    metadata = {"call_index": index} if index is not None else {}
    return ModelRequest(messages=(Message.user("hi"),), metadata=metadata)


async def test_the_response_is_chosen_by_the_call_index_not_by_order_of_asking() -> None:
    model = Model.scripted(["zero", "one", "two"])
    assert isinstance(model, ScriptedModel)
    assert (await model.request(_request(2))).message.text == "two"
    assert (await model.request(_request(0))).message.text == "zero"
    assert (await model.request(_request(2))).message.text == "two"
    assert model.unused() == [1]
    with pytest.raises(AssertionError, match=r"\[1\]"):
        model.assert_all_used()


async def test_without_a_call_index_the_script_is_read_in_order() -> None:
    model = Model.scripted(["a", "b"])
    assert [(await model.request(_request(None))).message.text for _ in range(2)] == ["a", "b"]
    model.assert_all_used()


async def test_running_out_of_script_names_the_call_index_and_the_script_length() -> None:
    model = Model.scripted(["only"])
    with pytest.raises(ScriptExhausted, match=r"1 response\(s\).*#3") as err:
        await model.request(_request(3))
    assert "Model.scripted" in str(err.value)


async def test_an_agent_run_past_its_script_fails_with_that_message() -> None:
    result = await make_agent(Model.scripted([ToolCall("nothing")])).run("go")
    assert result.status == "failed"
    assert result.error is not None
    assert "1 response(s)" in result.error
    assert "#1" in result.error


async def test_response_kinds() -> None:
    seen: list[ModelRequest] = []

    def from_request(request: ModelRequest) -> ToolCall:
        seen.append(request)
        return ToolCall("search", {"q": request.messages[-1].text})

    done = ModelResponse(message=Message.assistant("complete"), model="m")
    model = Model.scripted(
        ["text", ToolCall("a", {"x": 1}), [ToolCall("b"), ToolCall("c", id="mine")], from_request, done]
    )
    text = await model.request(_request(0))
    assert (text.message.text, text.finish_reason) == ("text", "stop")
    assert text.usage.input_tokens > 0
    assert text.usage.output_tokens > 0
    one = await model.request(_request(1))
    assert one.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in one.message.tool_calls] == [("call_1_0", "a", {"x": 1})]
    two = await model.request(_request(2))
    assert [c.id for c in two.message.tool_calls] == ["call_2_0", "mine"]
    three = await model.request(_request(3))
    assert three.message.tool_calls[0].arguments == {"q": "hi"}
    assert len(seen) == 1
    assert await model.request(_request(4)) is done


def test_a_response_of_the_wrong_kind_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="scripted response #0 must be"):
        Model.scripted([{"not": "a response"}])


def test_a_non_iterable_response_is_the_same_clear_error() -> None:
    with pytest.raises(TypeError, match="scripted response #0 must be"):
        Model.scripted([42])


async def test_streaming_yields_text_deltas_then_the_response() -> None:
    model = Model.scripted(["abcdefghij"], chunk=3)
    items = [item async for item in model.stream(_request(0))]
    deltas = [i for i in items if isinstance(i, ModelDelta)]
    assert [d.text for d in deltas] == ["abc", "def", "ghi", "j"]
    assert isinstance(items[-1], ModelResponse)
    assert items[-1].message.text == "abcdefghij"


def test_model_is_a_factory() -> None:
    with pytest.raises(TypeError, match=r"Model\.scripted"):
        Model()


async def test_a_fresh_agent_resuming_a_run_gets_the_right_response(tmp_path: Path) -> None:
    @tool(require_approval=True)
    def publish(text: str) -> str:
        """Publish text."""
        return "published"

    script = [ToolCall("publish", {"text": "v1"}), "published v1"]
    db = tmp_path / "runs.db"
    first = Agent(Model.scripted(script), tools=[publish], checkpoint_store=db)
    paused = await first.run("Publish v1")
    assert paused.status == "interrupted"
    await first.close()

    fresh_model = Model.scripted(script)
    fresh = Agent(fresh_model, tools=[publish], checkpoint_store=db)
    result = await fresh.resume(paused.run_id, "approve")
    await fresh.close()

    assert (result.status, result.output) == ("completed", "published v1")
    assert fresh_model.unused() == [0], "call 0 was served from the journal, call 1 by index"


async def test_a_session_continues_the_script_across_its_runs() -> None:
    @tool
    def lookup(key: str) -> str:
        """Look a key up."""
        return f"value of {key}"

    model = RecordingModel([ToolCall("lookup", {"key": "a"}), "first answer", "second answer", "third answer"])
    session = make_agent(model, tools=[lookup]).session("s")

    first = await session.run("one")
    second = await session.run("two")
    third = await session.run("three")

    assert [r.output for r in (first, second, third)] == ["first answer", "second answer", "third answer"]
    assert [r.state.call_offset for r in (first, second, third)] == [0, 2, 3]
    assert [r.metadata["call_index"] for r in model.requests] == [0, 1, 2, 3]
    assert model.unused() == []
