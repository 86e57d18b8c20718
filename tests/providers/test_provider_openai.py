"""``Model.openai`` (Chat Completions and Responses) and ``Model.openai_compatible``: the real ``openai``
client against the fake (both seams)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from loomflow.messages import Message, ModelDelta, ModelRequest, ModelResponse, ThinkingPart
from loomflow.model import Model
from loomflow.testing.fake_providers import FakeProvider, ToolUse, Turn

Make = Callable[..., Any]
Ask = Callable[..., ModelRequest]
apis = pytest.mark.parametrize("api", ["chat", "responses"])


@apis
async def test_plain_answer(fake: FakeProvider, make_model: Make, request_for: Ask, api: str, api_key: str) -> None:
    fake.add(Turn(text="Sunny, 21°C.", input_tokens=40, output_tokens=6))
    model = make_model(api)
    response = await model.request(request_for())
    assert model.name == ("openai:gpt-4o" if api == "chat" else "openai-responses:gpt-4o")
    assert (response.message.text, response.finish_reason, response.model) == ("Sunny, 21°C.", "stop", "gpt-4o")
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 6)
    sent = fake.last
    assert sent.headers["authorization"] == f"Bearer {api_key}"
    if api == "chat":
        assert sent.path == "/v1/chat/completions"
        assert sent.body["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What's the weather in Paris?"},
        ]
        assert sent.body["stream_options"] == {"include_usage": True}
        assert sent.body["tools"][0]["function"]["name"] == "get_weather"
    else:
        assert sent.path == "/v1/responses"
        assert sent.body["instructions"] == "Be brief."
        assert sent.body["input"] == [
            {"role": "user", "content": [{"type": "input_text", "text": "What's the weather in Paris?"}]}
        ]
        assert sent.body["tools"][0] == {
            "type": "function",
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": sent.body["tools"][0]["parameters"],
            "strict": False,
        }


@apis
async def test_parallel_tool_calls_and_results_round_trip(
    fake: FakeProvider, make_model: Make, request_for: Ask, api: str
) -> None:
    fake.add(
        Turn(
            text="Checking.",
            tool_calls=[ToolUse("get_weather", {"city": "Paris"}), ToolUse("get_weather", {"city": "Rome"})],
        ),
        "Paris 21°C, Rome 25°C.",
    )
    model = make_model(api)
    first = await model.request(request_for())
    calls = first.message.tool_calls
    assert first.finish_reason == "tool_calls"
    assert [(c.id, c.arguments) for c in calls] == [("call_0001", {"city": "Paris"}), ("call_0002", {"city": "Rome"})]
    results = (Message.tool_result(calls[0].id, "21°C"), Message.tool_result(calls[1].id, "25°C"))
    final = await model.request(request_for("weather?", first.message, *results))
    assert final.message.text == "Paris 21°C, Rome 25°C."
    body = fake.last.body
    if api == "chat":
        assistant, *tools = body["messages"][2:]
        assert assistant["content"] == "Checking."
        assert [c["function"]["arguments"] for c in assistant["tool_calls"]] == [
            '{"city": "Paris"}',
            '{"city": "Rome"}',
        ]
        assert tools == [
            {"role": "tool", "tool_call_id": "call_0001", "content": "21°C"},
            {"role": "tool", "tool_call_id": "call_0002", "content": "25°C"},
        ]
    else:
        kinds = [item.get("type", item.get("role")) for item in body["input"]]
        assert kinds == [
            "user",
            "assistant",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output",
        ]
        assert body["input"][4] == {"type": "function_call_output", "call_id": "call_0001", "output": "21°C"}


@apis
async def test_streaming_deltas(fake: FakeProvider, make_model: Make, request_for: Ask, api: str) -> None:
    fake.add(Turn(text="Let me look.", tool_calls=[ToolUse("get_weather", {"city": "Paris"})], chunk=4))
    items = [item async for item in make_model(api).stream(request_for())]
    final = items[-1]
    assert isinstance(final, ModelResponse)
    deltas = [d for d in items[:-1] if isinstance(d, ModelDelta)]
    assert [d.text for d in deltas if d.kind == "text"] == ["Let ", "me l", "ook."]
    assert "".join(d.text for d in deltas if d.kind == "tool_input") == '{"city": "Paris"}'
    assert {d.call_id for d in deltas if d.kind == "tool_input"} == {final.message.tool_calls[0].id}


@apis
async def test_malformed_tool_arguments_keep_the_raw_text(
    fake: FakeProvider, make_model: Make, request_for: Ask, api: str
) -> None:
    fake.add(Turn(tool_calls=[ToolUse("get_weather", '{"city": Paris}')]), "Sorry.")
    model = make_model(api)
    first = await model.request(request_for())
    call = first.message.tool_calls[0]
    assert (call.arguments, call.raw_arguments) == ({}, '{"city": Paris}')
    error = Message.tool_result(call.id, "arguments are not valid JSON", is_error=True)
    await model.request(request_for("weather?", first.message, error))
    body = fake.last.body
    sent = body["messages"][2]["tool_calls"][0]["function"] if api == "chat" else body["input"][1]
    assert sent["arguments"] == '{"city": Paris}'  # the model's own text goes back unchanged


@apis
async def test_structured_output(fake: FakeProvider, make_model: Make, api: str) -> None:
    schema = {
        "title": "Weather report",
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    fake.add('{"city": "Paris"}')
    response = await make_model(api).request(ModelRequest(messages=(Message.user("Report"),), output_schema=schema))
    assert json.loads(response.message.text) == {"city": "Paris"}
    expected = {"name": "Weather_report", "schema": schema, "strict": True}
    if api == "chat":
        assert fake.last.body["response_format"] == {"type": "json_schema", "json_schema": expected}
    else:
        assert fake.last.body["text"] == {"format": {"type": "json_schema", **expected}}


@apis
async def test_usage_with_cached_and_reasoning_tokens_and_cost(
    fake: FakeProvider, make_model: Make, request_for: Ask, api: str
) -> None:
    fake.add(Turn(text="ok", input_tokens=1000, cache_read_tokens=400, output_tokens=300, reasoning_tokens=200))
    usage = (await make_model(api).request(request_for())).usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens, usage.reasoning_tokens) == (
        1000,
        400,
        300,
        200,
    )
    # gpt-4o: 600 fresh x $2.50 + 400 cached x $1.25 + 300 out (reasoning included) x $10, per million
    assert usage.cost == pytest.approx((600 * 2.5 + 400 * 1.25 + 300 * 10) / 1e6)
    assert usage.latency_s > 0


@apis
async def test_an_unknown_model_costs_none(fake: FakeProvider, make_model: Make, request_for: Ask, api: str) -> None:
    fake.add("ok")
    response = await make_model(api, "my-finetune-7").request(request_for())
    assert response.usage.cost is None
    assert response.usage.input_tokens > 0


@apis
@pytest.mark.parametrize("stop", ["length", "content_filter"])
async def test_stop_reasons(fake: FakeProvider, make_model: Make, request_for: Ask, api: str, stop: Any) -> None:
    fake.add(Turn(text="Partial", stop=stop))
    assert (await make_model(api).request(request_for())).finish_reason == stop


async def test_responses_reasoning_items_go_back_unchanged(
    fake: FakeProvider, make_model: Make, request_for: Ask
) -> None:
    fake.add(
        Turn(
            thinking="Paris is in France.",
            signature="gAAAA-encrypted",
            tool_calls=[ToolUse("get_weather", {"city": "Paris"})],
        ),
        "Sunny.",
    )
    model = make_model("responses")
    items = [item async for item in model.stream(request_for())]
    assert "".join(d.text for d in items if isinstance(d, ModelDelta) and d.kind == "thinking") == "Paris is in France."
    first = items[-1]
    assert isinstance(first, ModelResponse)
    thought = first.message.parts[0]
    assert isinstance(thought, ThinkingPart)
    assert thought.provider == "openai"
    call = first.message.tool_calls[0]
    await model.request(request_for("weather?", first.message, Message.tool_result(call.id, "sunny")))
    reasoning = fake.last.body["input"][1]
    assert reasoning == {
        "type": "reasoning",
        "id": "rs_0001",
        "summary": [{"type": "summary_text", "text": "Paris is in France."}],
        "encrypted_content": "gAAAA-encrypted",
    }


async def test_generation_settings(fake: FakeProvider, make_model: Make, request_for: Ask) -> None:
    fake.add("a", "b")
    gen = {"temperature": 0.1, "top_p": 0.9, "max_output_tokens": 200, "stop": ["END"], "seed": 7}
    await make_model("chat").request(request_for(generation=gen))
    body = fake.last.body
    assert (body["temperature"], body["top_p"], body["max_completion_tokens"], body["stop"], body["seed"]) == (
        0.1,
        0.9,
        200,
        ["END"],
        7,
    )
    await make_model("responses").request(request_for(generation=gen))
    body = fake.last.body
    assert (body["max_output_tokens"], body["seed"], "stop" in body) == (200, 7, False)


async def test_openai_compatible_needs_no_key(seam: str) -> None:
    fake = FakeProvider([Turn(text="Hi from a local model.", thinking="short thought")])
    with fake:
        options: dict[str, Any] = {"base_url": "http://fake.test/v1", "http_client": fake.http_client()}
        if seam == "loopback":
            options = {"base_url": fake.url + "/v1"}
        model = Model.openai_compatible("qwen3:8b", **options)
        response = await model.request(
            ModelRequest(messages=(Message.user("hi"),), generation={"max_output_tokens": 50})
        )
    assert model.name == "openai-compatible:qwen3:8b"
    assert response.message.text == "Hi from a local model."
    assert response.usage.cost is None
    assert response.message.parts[0] == ThinkingPart(provider="openai-compatible", data="short thought")
    assert fake.last.body["max_tokens"] == 50  # the spelling local servers understand
    assert fake.last.headers["authorization"] == "Bearer no-key"


async def test_chat_reasoning_text_is_not_sent_to_the_responses_api(
    fake: FakeProvider, make_model: Callable[..., Any], request_for: Callable[..., ModelRequest]
) -> None:
    fake.add(Turn(text="Paris.", thinking="The user asks about Paris."))  # a Chat server streaming reasoning
    first = await make_model("chat").request(request_for(tools=False))
    assert isinstance(first.message.parts[0], ThinkingPart)
    fake.add("Sunny.")
    history = request_for("Weather?", first.message, Message.user("And tomorrow?"), tools=False)

    answer = await make_model("responses").request(history)  # the same conversation, on the Responses API

    assert answer.message.text == "Sunny."
    assert all(item.get("type") != "reasoning" for item in fake.requests[-1].body["input"])
