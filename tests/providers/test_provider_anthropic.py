"""``Model.anthropic``: the real ``anthropic`` client against the fake Messages API (both seams)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loomflow.messages import (
    ImagePart,
    Message,
    ModelDelta,
    ModelRequest,
    ModelResponse,
    TextPart,
    ThinkingPart,
    ToolCallPart,
)
from loomflow.testing.fake_providers import FakeProvider, ToolUse, Turn

Make = Callable[..., Any]
Ask = Callable[..., ModelRequest]


async def test_plain_answer(fake: FakeProvider, make_model: Make, request_for: Ask, api_key: str) -> None:
    fake.add(Turn(text="Sunny, 21°C.", input_tokens=40, output_tokens=6))
    response = await make_model("anthropic").request(request_for())
    assert response.message.text == "Sunny, 21°C."
    assert (response.finish_reason, response.model, response.response_id) == ("stop", "claude-sonnet-5-5", "msg_0001")
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 6)
    sent = fake.last
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {api_key}"
    assert sent.body["system"] == "Be brief."
    assert sent.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What's the weather in Paris?"}]}
    ]
    assert sent.body["stream"] is True
    assert sent.body["max_tokens"] == 4096
    assert sent.body["tools"][0]["input_schema"]["required"] == ["city"]
    fake.assert_complete()


async def test_parallel_tool_calls_and_their_results_round_trip(
    fake: FakeProvider, make_model: Make, request_for: Ask
) -> None:
    fake.add(
        Turn(
            text="Checking both.",
            tool_calls=[ToolUse("get_weather", {"city": "Paris"}), ToolUse("get_weather", {"city": "Rome"})],
        ),
        "Paris 21°C, Rome 25°C.",
    )
    model = make_model("anthropic")
    first = await model.request(request_for())
    calls = first.message.tool_calls
    assert first.finish_reason == "tool_calls"
    assert [(c.id, c.arguments) for c in calls] == [("toolu_0001", {"city": "Paris"}), ("toolu_0002", {"city": "Rome"})]
    results = (Message.tool_result(calls[0].id, "21°C"), Message.tool_result(calls[1].id, "no data", is_error=True))
    final = await model.request(request_for("What's the weather in Paris?", first.message, *results))
    assert final.message.text == "Paris 21°C, Rome 25°C."
    assistant, answers = fake.last.body["messages"][1:]
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use", "tool_use"]
    assert assistant["content"][1] == {
        "type": "tool_use",
        "id": "toolu_0001",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert answers == {  # both results in one user turn, as the API requires
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_0001", "content": "21°C", "is_error": False},
            {"type": "tool_result", "tool_use_id": "toolu_0002", "content": "no data", "is_error": True},
        ],
    }


async def test_a_dropped_tool_result_is_the_real_apis_400(
    fake: FakeProvider, make_model: Make, request_for: Ask
) -> None:
    from loomflow.providers.errors import BadRequest

    call = ToolCallPart(id="toolu_9", name="get_weather", arguments={"city": "Paris"})
    with pytest.raises(BadRequest, match="toolu_9") as caught:
        await make_model("anthropic").request(
            request_for("hi", Message.assistant(tool_calls=(call,)), Message.user("?"))
        )
    assert caught.value.status == 400
    assert caught.value.attempts == 1


async def test_streaming_yields_text_and_tool_input_deltas(
    fake: FakeProvider, make_model: Make, request_for: Ask
) -> None:
    # a whitespace-only text block before the call, as real models send: not an answer, and never sent back
    fake.add(
        Turn(text=" \n", tool_calls=[ToolUse("get_weather", {"city": "Paris"})], chunk=3),
        Turn(text="It is sunny in Paris.", chunk=4),
    )
    model = make_model("anthropic")
    items = [item async for item in model.stream(request_for())]
    deltas, response = items[:-1], items[-1]
    assert isinstance(response, ModelResponse)
    assert all(isinstance(d, ModelDelta) for d in deltas)
    tool_input = "".join(d.text for d in deltas if isinstance(d, ModelDelta) and d.kind == "tool_input")
    assert tool_input == '{"city": "Paris"}'
    assert {d.call_id for d in deltas if isinstance(d, ModelDelta) and d.kind == "tool_input"} == {"toolu_0001"}
    assert [type(p) for p in response.message.parts] == [ToolCallPart]
    call = response.message.tool_calls[0]
    follow = request_for("weather?", response.message, Message.tool_result(call.id, "sunny"))
    items = [item async for item in model.stream(follow)]
    texts = [d.text for d in items if isinstance(d, ModelDelta) and d.kind == "text"]
    assert texts == ["It i", "s su", "nny ", "in P", "aris", "."]
    final = items[-1]
    assert isinstance(final, ModelResponse)
    assert final.message.text == "It is sunny in Paris."


async def test_thinking_blocks_are_kept_and_sent_back_unchanged(
    fake: FakeProvider, make_model: Make, request_for: Ask
) -> None:
    fake.add(
        Turn(
            thinking="The user wants Paris.",
            signature="sig-abc==",
            redacted_thinking="ENCRYPTED",
            tool_calls=[ToolUse("get_weather", {"city": "Paris"})],
        ),
        "Sunny.",
    )
    model = make_model("anthropic", thinking=2048)
    first = await model.request(request_for())
    assert fake.last.body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert fake.last.body["max_tokens"] == 4096 + 2048  # the answer's room, plus the thinking budget
    redacted, thought = first.message.parts[:2]
    assert thought == ThinkingPart(provider="anthropic", data="The user wants Paris.", signature="sig-abc==")
    assert redacted == ThinkingPart(provider="anthropic", data="ENCRYPTED", signature=None)
    call = first.message.tool_calls[0]
    await model.request(request_for("weather?", first.message, Message.tool_result(call.id, "sunny")))
    sent = fake.last.body["messages"][1]["content"]
    assert sent[:2] == [
        {"type": "redacted_thinking", "data": "ENCRYPTED"},
        {"type": "thinking", "thinking": "The user wants Paris.", "signature": "sig-abc=="},
    ]


async def test_thinking_streams_as_thinking_deltas(fake: FakeProvider, make_model: Make, request_for: Ask) -> None:
    fake.add(Turn(thinking="Think again.", text="ok", chunk=5))
    items = [item async for item in make_model("anthropic", thinking="adaptive").stream(request_for(tools=False))]
    assert fake.last.body["thinking"] == {"type": "adaptive"}
    assert [d.text for d in items if isinstance(d, ModelDelta) and d.kind == "thinking"] == ["Think", " agai", "n."]


async def test_other_providers_thinking_is_not_sent_to_claude(
    fake: FakeProvider, make_model: Make, request_for: Ask
) -> None:
    fake.add("ok")
    earlier = Message(role="assistant", parts=(ThinkingPart(provider="openai", data="{}"), TextPart(text="Hi.")))
    await make_model("anthropic").request(request_for("hello", earlier, Message.user("again")))
    assert fake.last.body["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]}


async def test_prompt_caching_marks_system_and_tools_and_usage_counts_the_cache(
    fake: FakeProvider, make_model: Make, request_for: Ask
) -> None:
    fake.add(Turn(text="ok", input_tokens=10_000, cache_read_tokens=6_000, cache_write_tokens=3_000, output_tokens=100))
    response = await make_model("anthropic", cache=True).request(request_for())
    body = fake.last.body
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    usage = response.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (10_000, 6_000, 3_000)
    # sonnet 5.5: 1000 fresh x $2 + 6000 read x $0.20 + 3000 written x $2.50 + 100 out x $10, per million
    assert usage.cost == pytest.approx((1000 * 2 + 6000 * 0.2 + 3000 * 2.5 + 100 * 10) / 1e6)


@pytest.mark.parametrize(("stop", "finish"), [("length", "length"), ("content_filter", "content_filter")])
async def test_stop_reasons(fake: FakeProvider, make_model: Make, request_for: Ask, stop: Any, finish: str) -> None:
    fake.add(Turn(text="I can't help with that.", stop=stop))
    assert (await make_model("anthropic").request(request_for())).finish_reason == finish


async def test_malformed_tool_json_keeps_the_raw_text(fake: FakeProvider, make_model: Make, request_for: Ask) -> None:
    fake.add(Turn(tool_calls=[ToolUse("get_weather", '{"city": "Par')], stop="length"))
    response = await make_model("anthropic").request(request_for())
    call = response.message.tool_calls[0]
    assert (call.arguments, call.raw_arguments, response.finish_reason) == ({}, '{"city": "Par', "length")


async def test_generation_schema_and_images_reach_the_wire(fake: FakeProvider, make_model: Make) -> None:
    fake.add('{"city": "Paris"}')
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": False}
    image = Message(role="user", parts=(TextPart(text="Where?"), ImagePart(media_type="image/png", data="iVBOR")))
    request = ModelRequest(
        messages=(image,),
        generation={"temperature": 0.2, "max_output_tokens": 300, "stop": ["\n\n"]},
        output_schema=schema,
    )
    await make_model("anthropic").request(request)
    body = fake.last.body
    assert (body["temperature"], body["max_tokens"], body["stop_sequences"]) == (0.2, 300, ["\n\n"])
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert body["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"},
    }
