"""Transport retries, error mapping, keys and cancellation (``loomflow.providers._http``), through the real
SDK clients against the fake (both seams)."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from loomflow.messages import ModelDelta, ModelRequest, ModelResponse
from loomflow.model import Model
from loomflow.providers import errors as e
from loomflow.providers._http import RetryPolicy, retry_after
from loomflow.testing.fake_providers import Fail, FakeProvider, ToolUse, Turn

Make = Callable[..., Any]
Ask = Callable[..., ModelRequest]
kinds = pytest.mark.parametrize("kind", ["anthropic", "chat", "responses"])


@kinds
async def test_429_waits_as_retry_after_says_then_succeeds(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float], kind: str
) -> None:
    fake.add(
        Fail(429, "slow down", retry_after=2), Fail(529 if kind == "anthropic" else 503, retry_after_ms=1500), "Done."
    )
    response = await make_model(kind).request(request_for())
    assert response.message.text == "Done."
    assert sleeps == [2.0, 1.5]
    assert len(fake.requests) == 3


async def test_without_retry_after_the_backoff_is_exponential(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float]
) -> None:
    fake.add(Fail(500, "boom"), Fail(502, "bad gateway"), Fail(503, "unavailable"), "ok")
    await make_model("chat").request(request_for())
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):  # 0.5 * 2**n, less up to 25% jitter
        assert 0.375 * 2**attempt <= slept <= 0.5 * 2**attempt


@kinds
async def test_giving_up_names_the_status_and_the_attempts(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float], kind: str
) -> None:
    fake.add(*[Fail(429, "Rate limit reached for requests", retry_after=1)] * 3)
    with pytest.raises(e.RateLimited) as caught:
        await make_model(kind, max_retries=2).request(request_for())
    err = caught.value
    assert (err.status, err.attempts, err.retry_after, err.request_id) == (429, 3, 1.0, "req_0003")
    assert "HTTP 429" in str(err)
    assert "Rate limit reached" in str(err)
    assert "gave up after 3 attempts" in str(err)
    assert sleeps == [1.0, 1.0]


async def test_a_retry_after_beyond_the_cap_is_raised_at_once(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float]
) -> None:
    fake.add(Fail(429, "come back in ten minutes", retry_after=600))
    with pytest.raises(e.RateLimited) as caught:
        await make_model("anthropic").request(request_for())
    assert caught.value.retry_after == 600
    assert sleeps == []


@pytest.mark.parametrize(
    ("fail", "kind", "error"),
    [
        (Fail(400, "messages: roles must alternate"), "anthropic", e.BadRequest),
        (Fail(404, "model: claude-nope"), "anthropic", e.BadRequest),
        (Fail(400, "prompt is too long: 250000 tokens > 200000 maximum"), "anthropic", e.ContextWindowExceeded),
        (
            Fail(400, "This model's maximum context length is 128000 tokens", code="context_length_exceeded"),
            "chat",
            e.ContextWindowExceeded,
        ),
        (
            Fail(429, "You exceeded your current quota", type="insufficient_quota", code="insufficient_quota"),
            "chat",
            e.QuotaExceeded,
        ),
        (Fail(403, "not allowed"), "responses", e.AuthError),
        (Fail(500, "do not retry me", headers={"x-should-retry": "false"}), "chat", e.ProviderUnavailable),
    ],
)
async def test_errors_that_are_not_retried(
    fake: FakeProvider,
    make_model: Make,
    request_for: Ask,
    sleeps: list[float],
    fail: Fail,
    kind: str,
    error: type[Exception],
) -> None:
    fake.add(fail)
    with pytest.raises(error) as caught:
        await make_model(kind).request(request_for())
    assert type(caught.value) is error
    assert fail.message in str(caught.value)  # the provider's own reason
    assert sleeps == []
    assert len(fake.requests) == 1


@kinds
async def test_a_mid_stream_error_is_retried(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float], kind: str
) -> None:
    fake.add(
        Turn(text="Hello there, partial", error_after=4, input_tokens=500), Turn(text="Hello again.", input_tokens=500)
    )
    items = [item async for item in make_model(kind).stream(request_for())]
    final = items[-1]
    assert isinstance(final, ModelResponse)
    assert final.message.text == "Hello again."
    assert len(sleeps) == 1
    assert len(fake.requests) == 2
    assert any(isinstance(d, ModelDelta) and d.text == "Hello" for d in items)  # the failed attempt's deltas came first


async def test_a_failed_attempts_usage_is_kept(fake: FakeProvider, make_model: Make, request_for: Ask) -> None:
    fake.add(Turn(text="abcdefghij", error_after=4, input_tokens=1000))
    with pytest.raises(e.Overloaded) as caught:
        await make_model("anthropic", max_retries=0).request(request_for())
    assert "overloaded_error" in str(caught.value)
    assert "mid-stream" in str(caught.value)
    assert caught.value.usage is not None
    assert caught.value.usage.input_tokens == 1000
    fake.add(
        Turn(text="abcdefghij", error_after=4, input_tokens=1000), Turn(text="ok", input_tokens=1000, output_tokens=1)
    )
    response = await make_model("anthropic").request(request_for())
    # sonnet 5.5 at $2/M input: both attempts' 1000 prompt tokens are paid for, and counted in the cost
    assert response.usage.input_tokens == 1000
    assert response.usage.cost == pytest.approx((2 * 1000 * 2 + 1 * 10 + 1 * 10) / 1e6)


@pytest.mark.parametrize(
    ("kind", "kind_error"), [("anthropic", "invalid_request_error"), ("responses", "invalid_prompt")]
)
async def test_a_mid_stream_error_that_is_not_transient_is_raised(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float], kind: str, kind_error: str
) -> None:
    fake.add(Turn(text="Hello", error_after=3, error_type=kind_error, error_message="bad prompt"))
    with pytest.raises(e.BadRequest, match="bad prompt"):
        await make_model(kind).request(request_for())
    assert sleeps == []


@kinds
async def test_a_dropped_connection_is_retried(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float], kind: str
) -> None:
    fake.add(Turn(text="cut short", tool_calls=[ToolUse("get_weather", {"city": "Paris"})], drop_after=3), "whole")
    response = await make_model(kind).request(request_for())
    assert response.message.text == "whole"
    assert len(sleeps) == 1


async def test_a_dropped_connection_that_persists_is_provider_unavailable(
    fake: FakeProvider, make_model: Make, request_for: Ask
) -> None:
    fake.add(*[Turn(text="cut", drop_after=2)] * 2)
    with pytest.raises(e.ProviderUnavailable, match="gave up after 2 attempts"):
        await make_model("anthropic", max_retries=1).request(request_for())


@kinds
async def test_a_missing_key_fails_at_the_first_call_naming_the_variable(
    fake: FakeProvider, make_model: Make, request_for: Ask, kind: str, monkeypatch: pytest.MonkeyPatch, api_key: str
) -> None:
    model = make_model(kind, api_key=None)  # construction never needs the key
    variable = "ANTHROPIC_API_KEY" if kind == "anthropic" else "OPENAI_API_KEY"
    with pytest.raises(e.MissingAPIKey, match=variable):
        await model.request(request_for())
    assert fake.requests == []
    monkeypatch.setenv(variable, api_key)
    fake.add("now it works")
    assert (await model.request(request_for())).message.text == "now it works"


@kinds
async def test_the_key_never_leaks(
    fake: FakeProvider, make_model: Make, request_for: Ask, kind: str, api_key: str
) -> None:
    model = make_model(kind)
    fake.add(Fail(401, f"Incorrect API key provided: {api_key}"), "fine")
    with pytest.raises(e.AuthError) as caught:
        await model.request(request_for())
    err = caught.value
    assert "***" in str(err)
    assert "check the key in" in str(err)
    response = await model.request(request_for())
    assert err.__cause__ is None
    assert err.__context__ is None  # the SDK's exception (its request, its headers) is not kept
    for text in (repr(model), str(err), repr(err.args), response.model_dump_json(), repr(vars(model))):
        assert api_key not in text
    assert api_key in fake.last.headers.get("authorization", "") + fake.last.headers.get("x-api-key", "")


async def test_a_wrong_key_is_an_auth_error(make_model: Make, request_for: Ask, sleeps: list[float]) -> None:
    with pytest.raises(e.AuthError, match="HTTP 401") as caught:
        await make_model("anthropic", api_key="not-the-key").request(request_for())
    assert "not-the-key" not in str(caught.value)
    assert sleeps == []


@kinds
async def test_cancellation_stops_an_in_flight_request(
    fake: FakeProvider, make_model: Make, request_for: Ask, kind: str
) -> None:
    fake.add(Turn(text="a slow answer, piece by piece", delay=3.0, chunk=3))
    task = asyncio.create_task(make_model(kind).request(request_for()))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2.0  # well before the first piece would arrive


async def test_a_read_timeout_is_provider_timeout(fake: FakeProvider, request_for: Ask, api_key: str) -> None:
    fake.add(Turn(text="too late", delay=1.0))
    model = Model.anthropic("claude-sonnet-5-5", api_key=api_key, base_url=fake.start(), timeout=0.2, max_retries=0)
    with pytest.raises(e.ProviderTimeout, match=r"0\.2s"):
        await model.request(request_for())
    await model.aclose()


def test_retry_after_headers() -> None:
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "3"}) == 3.0
    assert retry_after({}) is None
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after({"retry-after": date}) or 0) <= 30


def test_retry_policy() -> None:
    policy = RetryPolicy(initial=1.0, maximum=5.0, jitter=0.0)
    rng = random.Random(0)
    assert [policy.delay(n, None, rng) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(0, 7.0, rng) == 7.0
    assert policy.delay(0, 121.0, rng) is None


@kinds
async def test_a_retry_after_that_is_neither_seconds_nor_a_date_is_ignored(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float], kind: str
) -> None:
    fake.add(Fail(429, "slow down", headers={"retry-after": "soon"}), "Done.")
    response = await make_model(kind).request(request_for())  # retried on the usual backoff
    assert response.message.text == "Done."
    assert len(sleeps) == 1
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00"}) == 0.0  # no zone: GMT, long past


@kinds
async def test_a_retry_policy_with_no_retries_is_kept(
    fake: FakeProvider, make_model: Make, request_for: Ask, sleeps: list[float], kind: str
) -> None:
    fake.add(Fail(500, "boom"), Fail(500, "boom"))
    model = make_model(kind, retry=RetryPolicy(max_retries=0))
    with pytest.raises(e.ProviderUnavailable):
        await model.request(request_for())
    assert (len(fake.requests), sleeps) == (1, [])
    assert make_model(kind, retry=RetryPolicy(max_retries=0), max_retries=2).retry.max_retries == 2  # explicit wins


async def test_an_error_that_cannot_be_read_does_not_carry_the_sdk_exception(
    fake: FakeProvider, make_model: Make, request_for: Ask, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add(Fail(500, "boom"))
    model = make_model("anthropic", max_retries=0)

    def unreadable(exc: BaseException) -> None:
        raise KeyError("a field the mapping expected")

    monkeypatch.setattr(model, "map_error", unreadable)
    with pytest.raises(e.ProviderUnavailable, match="unreadable error from the provider") as caught:
        await model.request(request_for())
    # the SDK's exception holds the request, whose headers hold the key: nothing links to it
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
