"""The fake itself: routes, auth, invariants, recording, scripts; and its JSON and SSE renderings read by the
SDKs' own strict parsers (non-streaming calls and the ``stream()`` helpers the adapters do not use)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loomflow.testing.fake_providers import Fail, FakeProvider, Received, ToolUse, Turn

KEY = "k-123"
TOOL_TURN = Turn(text="Checking.", tool_calls=[ToolUse("get_weather", {"city": "Paris"}), ToolUse("get_time", {})])


def claude(fake: FakeProvider) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(
        api_key=KEY,
        base_url="http://fake.test",
        http_client=fake.http_client(),
        max_retries=0,
        _strict_response_validation=True,
    )


def gpt(fake: FakeProvider) -> Any:
    import openai

    return openai.AsyncOpenAI(
        api_key=KEY,
        base_url="http://fake.test/v1",
        http_client=fake.http_client(),
        max_retries=0,
        _strict_response_validation=True,
    )


async def post(fake: FakeProvider, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    async with fake.http_client() as client:
        return await client.post(path, json=body, headers={"x-api-key": KEY} if headers is None else headers)


async def test_anthropic_json_parses_strictly() -> None:
    fake = FakeProvider([TOOL_TURN], api_key=KEY)
    message = await claude(fake).messages.create(
        model="claude-sonnet-5-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert message.stop_reason == "tool_use"
    assert message.id == "msg_0001"


async def test_anthropic_sse_works_with_the_sdk_stream_helper() -> None:
    fake = FakeProvider([TOOL_TURN], api_key=KEY)
    async with claude(fake).messages.stream(
        model="claude-sonnet-5-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = await stream.get_final_message()
    assert [getattr(b, "input", None) for b in final.content] == [None, {"city": "Paris"}, {}]


@pytest.mark.parametrize("streamed", [False, True])
async def test_chat_json_and_the_stream_helper_parse_strictly(streamed: bool) -> None:
    fake = FakeProvider([TOOL_TURN], api_key=KEY)
    client = gpt(fake)
    messages: Any = [{"role": "user", "content": "hi"}]
    if streamed:
        async with client.chat.completions.stream(model="gpt-4o", messages=messages) as stream:
            completion = await stream.get_final_completion()
    else:
        completion = await client.chat.completions.create(model="gpt-4o", messages=messages)
    calls = completion.choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments) for c in calls if c.type == "function"] == [{"city": "Paris"}, {}]
    assert completion.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("streamed", [False, True])
async def test_responses_json_and_the_stream_helper_parse_strictly(streamed: bool) -> None:
    fake = FakeProvider([Turn(text="Hi!", thinking="greet", tool_calls=[ToolUse("f", {"x": 1})])], api_key=KEY)
    client = gpt(fake)
    if streamed:
        async with client.responses.stream(model="gpt-5.4", input="hi") as stream:
            response = await stream.get_final_response()
    else:
        response = await client.responses.create(model="gpt-5.4", input="hi")
    assert [item.type for item in response.output] == ["reasoning", "message", "function_call"]
    assert response.output_text == "Hi!"


async def test_routes_auth_and_count_tokens() -> None:
    fake = FakeProvider(api_key=KEY)
    missing = await post(fake, "/v1/nowhere", {})
    assert missing.status_code == 404
    assert "no route" in missing.json()["error"]["message"]
    anonymous = await post(fake, "/v1/messages", {}, headers={})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"
    wrong = await post(fake, "/chat/completions", {}, headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    counted = await post(fake, "/v1/messages/count_tokens", {"messages": [{"role": "user", "content": "hi"}]})
    assert counted.status_code == 200
    assert counted.json()["input_tokens"] > 0
    # an unknown route is not recorded; the rest are, rejected or not
    assert [r.path for r in fake.requests] == ["/v1/messages", "/chat/completions", "/v1/messages/count_tokens"]


async def test_invariants_answer_400_without_spending_the_script() -> None:
    fake = FakeProvider(["kept"], api_key=KEY)
    no_max = await post(fake, "/v1/messages", {"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert no_max.status_code == 400
    assert "max_tokens" in no_max.text
    orphan = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "user", "content": "y"},
        ],
    }
    chat = await post(fake, "/v1/chat/completions", orphan)
    assert chat.status_code == 400
    assert "call_1" in chat.json()["error"]["message"]
    responses = await post(
        fake,
        "/v1/responses",
        {"model": "m", "input": [{"type": "function_call", "call_id": "c9", "name": "f", "arguments": "{}"}]},
    )
    assert responses.status_code == 400
    assert "No tool output found for function call c9." in responses.text
    assert fake.pending == 1


async def test_scripts_functions_failures_and_exhaustion() -> None:
    seen: list[Received] = []

    def answer(received: Received) -> str:
        seen.append(received)
        return f"you said {received.body['messages'][-1]['content']}"

    fake = FakeProvider([answer, Fail(429, "wait", retry_after_ms=5)], api_key=KEY)
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hello"}]}
    first = await post(fake, "/v1/messages", body)
    assert first.json()["content"][0]["text"] == "you said hello"
    assert seen[0].api_key == KEY
    limited = await post(fake, "/v1/messages", body)
    assert (limited.status_code, limited.headers["retry-after-ms"]) == (429, "5")
    assert limited.json()["error"]["type"] == "rate_limit_error"
    exhausted = await post(fake, "/v1/messages", body)
    assert exhausted.status_code == 400
    assert "script is exhausted" in exhausted.text
    fake.add("left over")
    with pytest.raises(AssertionError, match="never requested"):
        fake.assert_complete()


def test_the_loopback_server_starts_and_stops() -> None:
    import httpx2

    fake = FakeProvider(["hi"])
    with pytest.raises(RuntimeError, match="not serving"):
        _ = fake.url
    with fake:
        assert fake.url.startswith("http://127.0.0.1:")
        response = httpx2.post(
            fake.url + "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "q"}]},
            headers={"authorization": "Bearer anything"},
        )
        assert response.json()["choices"][0]["message"]["content"] == "hi"
        assert "1 received" in repr(fake)
    fake.assert_complete()
