"""What the SDK adapters share: API keys, transport retries with backoff, error mapping, usage and cost.

Each adapter (``anthropic.py``, ``openai.py``) subclasses ``SDKModel`` and writes two things: how to build
its SDK client, and one *attempt* (translate the request, stream the answer, assemble the response).
``SDKModel.stream`` wraps attempts in the retry loop: transient errors (429, 5xx/529, a dropped
connection, a mid-stream ``error`` event) are retried after ``retry-after-ms`` / ``retry-after`` or an
exponential backoff; everything else becomes a ``ProviderError`` subclass at once. The SDK clients are built
with ``max_retries=0``, so this loop is the only one.

A retried stream starts over: deltas already emitted by a failed attempt are followed by the new attempt's.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import datetime
import email.utils
import importlib
import json
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypedDict

from loomflow.messages import ModelDelta, ModelRequest, ModelResponse, Usage
from loomflow.providers import errors as e
from loomflow.providers.pricing import Price, cost, price_for

__all__ = ["ClientOptions", "RetryPolicy", "SDKModel", "Sleep", "parse_arguments", "retry_after"]

Sleep = Callable[[float], Awaitable[None]]
#: the key sent to OpenAI-compatible servers that need none (the SDK refuses an empty key)
NO_KEY = "no-key"


class ClientOptions(TypedDict, total=False):
    """The options every SDK-backed model takes besides its base URL and key variable (see ``Model``)."""

    api_key: str | None
    timeout: float
    max_retries: int
    http_client: Any
    sleep: Sleep | None
    price: Price | None
    retry: RetryPolicy | None
    client_options: Mapping[str, Any] | None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``initial * multiplier**attempt`` capped at ``maximum``, less up to ``jitter``
    of it at random. A server's ``retry-after`` wins, unless it asks for more than ``max_retry_after``
    seconds: then the error is raised at once (with ``retry_after`` set) rather than blocking the run."""

    max_retries: int = 3
    initial: float = 0.5
    multiplier: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
        if retry_after is not None:
            return max(retry_after, 0.0) if retry_after <= self.max_retry_after else None
        base = min(self.maximum, self.initial * self.multiplier**attempt)
        return base * (1 - self.jitter * rng.random())


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # neither seconds nor a date (a proxy's "soon"): no advice
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(when.timestamp() - time.time(), 0.0)


def parse_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """Tool-call arguments as a dict, and the raw text when it is not a JSON object (else ``None``)."""
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except ValueError:
        return {}, raw
    return (value, None) if isinstance(value, dict) else ({}, raw)


class _Secret:
    """An API key that does not print."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "'***'"


@dataclasses.dataclass
class Spent:
    """Usage an attempt has learnt so far (set by the adapter), kept when the attempt fails."""

    usage: Usage | None = None


def _error_fields(body: object) -> tuple[str | None, str | None, str | None]:
    """(type, code, message) of a provider error body, whichever SDK and dialect produced it."""
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, dict):
        kind, code, message = err.get("type"), err.get("code"), err.get("message")
        return (
            str(kind) if kind is not None else None,
            str(code) if code is not None else None,
            str(message) if message is not None else None,
        )
    if isinstance(err, str) and err.strip():
        return None, None, err.strip()[:500]
    return None, None, None


_CONTEXT_MARKERS = ("context_length_exceeded", "context window", "prompt is too long", "maximum context length")


def _error_class(status: int | None, kind: str | None, code: str | None, message: str | None) -> type[e._Detailed]:
    text = f"{kind} {code} {message}".lower()
    if status in (401, 403) or kind in ("authentication_error", "permission_error"):
        return e.AuthError
    if status == 402 or "insufficient_quota" in text or kind == "billing_error":
        return e.QuotaExceeded
    if status == 429 or kind == "rate_limit_error" or code == "rate_limit_exceeded":
        return e.RateLimited
    if status in (503, 529) or kind == "overloaded_error":
        return e.Overloaded
    if status in (408, 409) or (status or 0) >= 500 or kind in ("api_error", "server_error", "timeout_error"):
        return e.ProviderUnavailable
    if any(marker in text for marker in _CONTEXT_MARKERS):
        return e.ContextWindowExceeded
    if (status is not None and 400 <= status < 500) or (kind or "").startswith("invalid") or kind == "not_found_error":
        return e.BadRequest
    return e.ProviderUnavailable


_WHAT: dict[type[e._Detailed], str] = {
    e.AuthError: "the provider refused the API key",
    e.QuotaExceeded: "the account's quota or credit is spent",
    e.RateLimited: "rate limited",
    e.Overloaded: "the provider is overloaded",
    e.ProviderUnavailable: "the provider failed",
    e.ContextWindowExceeded: "the prompt does not fit the model's context window",
    e.BadRequest: "the provider rejected the request",
}


class SDKModel(abc.ABC):
    """A model behind an official SDK client, with loomflow's retries, error mapping and pricing."""

    #: who serves the model: in errors, and (with ``name``) in usage records
    provider: str = ""
    #: the price table the model is looked up in ("anthropic", "openai"; "" for none)
    price_table: str = ""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 60.0,
        max_retries: int | None = None,
        http_client: Any = None,
        sleep: Sleep | None = None,
        price: Price | None = None,
        retry: RetryPolicy | None = None,
        client_options: Mapping[str, Any] | None = None,
        key_optional: bool = False,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.retry = retry or RetryPolicy()  # max_retries, when given, overrides the policy's
        if max_retries is not None:
            self.retry = dataclasses.replace(self.retry, max_retries=max_retries)
        self.price = price if price is not None else price_for(self.price_table, model)
        self._api_key = _Secret(api_key) if api_key else None
        self._key_optional = key_optional
        self._http_client = http_client
        self._sleep: Sleep = sleep or asyncio.sleep
        self._client_options = dict(client_options or {})
        self._rng = random.Random()
        self._cached: tuple[asyncio.AbstractEventLoop, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}"

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        key = "api_key='***'" if self._api_key else f"api_key_env={self.api_key_env!r}"
        return f"{type(self).__name__}({self.model!r}{where}, {key})"

    # ------------------------------------------------------------------ what an adapter writes
    #: the SDK's module and its async client class (imported at the first call, not with loomflow)
    sdk_module: str = ""
    client_class: str = ""

    @abc.abstractmethod
    def _attempt(self, client: Any, request: ModelRequest, spent: Spent) -> AsyncIterator[ModelDelta | ModelResponse]:
        """One attempt: deltas, then the ``ModelResponse`` (usage without cost or latency)."""

    def _sdk(self) -> Any:
        """The SDK module, for its client and exception classes."""
        return importlib.import_module(self.sdk_module)

    def _build_client(self, api_key: str) -> Any:
        """The SDK client, built with ``max_retries=0``: retries are this adapter's."""
        return getattr(self._sdk(), self.client_class)(
            api_key=api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=0,
            http_client=self._http_client,
            **self._client_options,
        )

    # ------------------------------------------------------------------ the protocol
    async def request(self, request: ModelRequest) -> ModelResponse:
        response = None
        async for item in self.stream(request):
            if isinstance(item, ModelResponse):
                response = item
        assert response is not None  # stream() always ends with the response or raises
        return response

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta | ModelResponse]:
        client = self._client()  # the first call imports the SDK: not part of the request's latency
        started = time.monotonic()
        wasted = Usage()
        attempt = 0
        while True:
            spent = Spent()
            final: ModelResponse | None = None
            failure: e._Detailed | None = None
            try:
                async for item in self._attempt(client, request, spent):
                    if isinstance(item, ModelResponse):
                        final = item
                    else:
                        yield item
                if final is None:
                    raise self.error(e.ProviderUnavailable, "the stream ended before the response was complete")
                break
            except Exception as exc:
                try:
                    error = exc if isinstance(exc, e._Detailed) else self.map_error(exc)
                except Exception as bug:  # raised here it would carry the SDK's exception, which holds the key
                    error = self.error(e.ProviderUnavailable, f"unreadable error from the provider ({bug!r})")
                if error is None:
                    raise
                wasted = _add(wasted, spent.usage)
                delay = None
                if error.retryable and attempt < self.retry.max_retries:
                    delay = self.retry.delay(attempt, error.retry_after, self._rng)
                if delay is None:
                    failure = self._gave_up(error, attempt + 1, wasted)
            if failure is not None:
                # raised outside the except block, so it keeps no link to the SDK's exception: that holds
                # the request, and the request holds the key
                raise failure
            await self._sleep(delay or 0.0)
            attempt += 1
        usage = final.usage
        spent_cost = cost(usage, self.price)
        if spent_cost is not None and (wasted_cost := cost(wasted, self.price)):
            spent_cost += wasted_cost
        usage = usage.model_copy(update={"latency_s": round(time.monotonic() - started, 6), "cost": spent_cost})
        yield final.model_copy(update={"usage": usage})

    async def aclose(self) -> None:
        """Close the SDK client this model built (not an ``http_client`` you passed in)."""
        if self._cached is not None and self._http_client is None:
            await self._cached[1].close()
        self._cached = None

    # ------------------------------------------------------------------ helpers for adapters
    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        # An httpx client's pool belongs to the loop that opened it: a new loop (another run_sync) gets a
        # new client, unless the caller supplied the http_client.
        if self._cached is not None and (self._http_client is not None or self._cached[0] is loop):
            return self._cached[1]
        client = self._build_client(self._key())
        self._cached = (loop, client)
        return client

    def _key(self) -> str:
        if self._api_key is not None:
            return self._api_key.value
        value = os.environ.get(self.api_key_env) if self.api_key_env else None
        if value:
            self._api_key = _Secret(value)
            return value
        if self._key_optional and self.api_key_env is None:
            return NO_KEY
        where = f"set the {self.api_key_env} environment variable or " if self.api_key_env else ""
        raise e.MissingAPIKey(
            f"{self.provider} model {self.model!r} has no API key: {where}pass api_key= to the factory",
            provider=self.provider,
            model=self.model,
        )

    def _redact(self, text: str) -> str:
        key = self._api_key.value if self._api_key is not None else None
        return text.replace(key, "***") if key else text

    def error(self, cls: type[e._Detailed], what: str, **facts: Any) -> e._Detailed:
        """A ``cls`` error about this model, its message naming the provider and model, key redacted."""
        return cls(
            self._redact(f"{self.provider} model {self.model!r}: {what}"),
            provider=self.provider,
            model=self.model,
            **facts,
        )

    def classify(self, status: int | None, body: object, headers: Mapping[str, str] | None = None) -> e._Detailed:
        """The error for an HTTP status (``None`` for a mid-stream error event) and the provider's body."""
        headers = headers or {}
        kind, code, message = _error_fields(body)
        cls = _error_class(status, kind, code, message)
        request_id = headers.get("request-id") or headers.get("x-request-id")
        detail = ", ".join(str(x) for x in (f"HTTP {status}" if status else "mid-stream", kind, code) if x)
        what = f"{_WHAT[cls]} ({detail})" + (f": {message}" if message else "")
        if request_id:
            what += f" [request {request_id}]"
        if cls is e.AuthError:
            what += f"; check the key in {self.api_key_env}" if self.api_key_env else "; check api_key="
        err = self.error(cls, what, status=status, error_type=kind or code, request_id=request_id)
        err.retry_after = retry_after(headers)
        should = headers.get("x-should-retry")
        if should in ("true", "false"):
            err.retryable = should == "true"
        return err

    def map_error(self, exc: Exception) -> e._Detailed | None:
        """An SDK or transport exception as a ``ProviderError``; ``None`` for anything else (a bug)."""
        import httpx2

        sdk = self._sdk()
        if isinstance(exc, sdk.APIResponseValidationError):
            return self.error(e.InvalidResponse, f"the response did not match the API's schema: {exc.message}")
        if isinstance(exc, sdk.APIStatusError):
            status = exc.status_code if exc.status_code >= 400 else None  # 200: an error event mid-stream
            return self.classify(status, exc.body, exc.response.headers)
        if isinstance(exc, sdk.APITimeoutError | httpx2.TimeoutException):
            return self.error(e.ProviderTimeout, f"no answer within {self.timeout:g}s (timeout=)")
        if isinstance(exc, sdk.APIConnectionError | httpx2.TransportError):
            cause = exc.__cause__ or exc
            return self.error(e.ProviderUnavailable, f"the connection failed: {type(cause).__name__}: {cause}")
        if isinstance(exc, sdk.APIError):
            return self.classify(None, exc.body)
        return None

    def _gave_up(self, error: e._Detailed, attempts: int, wasted: Usage) -> e._Detailed:
        error.attempts = attempts
        error.usage = wasted if wasted != Usage() else None
        if attempts > 1:
            error.args = (f"{error.args[0]} (gave up after {attempts} attempts)",)
        return error


def _add(total: Usage, more: Usage | None) -> Usage:
    if more is None:
        return total
    return Usage(
        input_tokens=total.input_tokens + more.input_tokens,
        output_tokens=total.output_tokens + more.output_tokens,
        cache_read_tokens=total.cache_read_tokens + more.cache_read_tokens,
        cache_write_tokens=total.cache_write_tokens + more.cache_write_tokens,
        reasoning_tokens=total.reasoning_tokens + more.reasoning_tokens,
    )
