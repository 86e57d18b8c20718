"""The real ``anthropic`` and ``openai`` clients against ``FakeProvider``, in-process and over 127.0.0.1.

``make_model("anthropic" | "chat" | "responses" | "compatible", **options)`` builds a model wired to the
``fake`` through the current ``seam``; its backoff sleeps are recorded in ``sleeps`` instead of waited.
No test touches the network or needs a real key.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from loomflow.messages import Message, ModelRequest, ToolSpec
from loomflow.model import Model
from loomflow.testing.fake_providers import FakeProvider

KEY = "test-key-s3cr3t-0123456789"


def _need_sdks() -> None:
    missing = [name for name in ("anthropic", "openai", "httpx2") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    if os.environ.get("LOOMFLOW_REQUIRE_ALL") == "1":
        pytest.fail(
            f"{', '.join(missing)} missing, and LOOMFLOW_REQUIRE_ALL=1 requires them (pip install -e '.[providers]')"
        )
    pytest.skip(f"{', '.join(missing)} not installed (the 'providers' extra)")


@pytest.fixture(autouse=True)
def _sdks_and_clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    _need_sdks()
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """A fake accepting ``KEY`` only; it serves on 127.0.0.1 once ``start()`` is called (the loopback seam)."""
    provider = FakeProvider(api_key=KEY)
    yield provider
    provider.close()


@pytest.fixture(params=["inprocess", "loopback"])
def seam(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api_key() -> str:
    """The key the fake accepts (and that must never leak)."""
    return KEY


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_model(fake: FakeProvider, seam: str, sleeps: list[float]) -> Callable[..., Any]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def make(kind: str, name: str | None = None, **options: Any) -> Any:
        options.setdefault("api_key", KEY)
        options.setdefault("sleep", sleep)
        options.setdefault("client_options", {"_strict_response_validation": True})
        if seam == "inprocess":
            options.setdefault("http_client", fake.http_client())
            options.setdefault("base_url", "http://fake.test" + ("" if kind == "anthropic" else "/v1"))
        else:
            options.setdefault("base_url", fake.start() + ("" if kind == "anthropic" else "/v1"))
        if kind == "anthropic":
            return Model.anthropic(name or "claude-sonnet-5-5", **options)
        if kind == "compatible":
            return Model.openai_compatible(name or "qwen3", **options)
        return Model.openai(name or "gpt-4o", api="responses" if kind == "responses" else "chat", **options)

    return make


WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def ask(text: str = "What's the weather in Paris?", *extra: Message, tools: bool = True, **fields: Any) -> ModelRequest:
    """A request with a system prompt, a user turn, ``extra`` messages and (by default) one tool."""
    messages = (Message.system("Be brief."), Message.user(text), *extra)
    return ModelRequest(messages=messages, tools=(WEATHER,) if tools else (), **fields)


@pytest.fixture
def request_for() -> Callable[..., ModelRequest]:
    return ask
