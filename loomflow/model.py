"""``Model``: the user-side way to name a model.

    Model.scripted(["hello"])                        # deterministic, offline (tests, examples, the demo)
    Model.anthropic("claude-sonnet-4-5")             # key from ANTHROPIC_API_KEY, read at the first call
    Model.openai("gpt-5.4", api="responses")         # key from OPENAI_API_KEY
    Model.openai_compatible("qwen3", base_url="http://localhost:11434/v1")
    Model.parse("anthropic:claude-sonnet-4-5")

Each returns an object implementing ``loomflow.providers.ModelProvider``. The SDKs are imported on first use,
so ``import loomflow`` stays cheap. Every real provider takes ``base_url``, ``api_key``, ``api_key_env``,
``timeout`` (seconds) and ``max_retries`` (loomflow's transport retries; the SDK's own are off), plus
``http_client`` (an ``httpx2.AsyncClient``, e.g. a test fake's), ``sleep`` (the backoff's sleep, injectable
for tests), ``price`` (a ``Price`` for a model the price table lacks) and ``client_options`` (more keyword
arguments for the SDK client). A missing key is an error at the first call, naming the variable; the key
never appears in a repr, an error or a response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from loomflow.providers.scripted import ScriptedModel

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from loomflow.providers._http import ClientOptions
    from loomflow.providers.anthropic import AnthropicModel, Thinking
    from loomflow.providers.base import ModelProvider
    from loomflow.providers.fallback import FallbackModel
    from loomflow.providers.openai import OpenAIModel

__all__ = ["Model"]

_SPECS = ("anthropic:<model>", "openai:<model>", "openai-responses:<model>")


class Model:
    """Factories for model providers."""

    def __init__(self) -> None:
        raise TypeError("use a factory: Model.scripted([...]), Model.anthropic(...), Model.openai(...)")

    @staticmethod
    def scripted(
        responses: Sequence[Any],
        *,
        name: str = "scripted",
        chunk: int = 0,
        lanes: Mapping[str, Sequence[Any]] | None = None,
    ) -> ScriptedModel:
        """A deterministic model answering model call *n* of a run with ``responses[n]``."""
        return ScriptedModel(responses, name=name, chunk=chunk, lanes=lanes)

    @staticmethod
    def anthropic(
        name: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = "ANTHROPIC_API_KEY",
        thinking: Thinking = None,
        cache: bool = False,
        max_tokens: int = 4096,
        **options: Unpack[ClientOptions],
    ) -> AnthropicModel:
        """Claude on the Anthropic Messages API.

        ``thinking``: a token budget for extended thinking (``{"type": "enabled", "budget_tokens": n}``),
        ``"adaptive"``, or a thinking config dict sent as given. ``cache=True`` marks the system prompt and
        the tools for prompt caching. ``max_tokens`` (the answer's limit, used unless
        ``Generation(max_output_tokens=)`` sets one) is raised by a thinking budget, which counts toward it.
        """
        from loomflow.providers.anthropic import AnthropicModel

        return AnthropicModel(
            name,
            base_url=base_url,
            api_key_env=api_key_env,
            thinking=thinking,
            cache=cache,
            max_tokens=max_tokens,
            **options,
        )

    @staticmethod
    def openai(
        name: str,
        *,
        api: Literal["chat", "responses"] = "chat",
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        **options: Unpack[ClientOptions],
    ) -> OpenAIModel:
        """An OpenAI model on Chat Completions (``api="chat"``) or the Responses API (``api="responses"``)."""
        from loomflow.providers.openai import OpenAIModel

        return OpenAIModel(name, api=api, base_url=base_url, api_key_env=api_key_env, **options)

    @staticmethod
    def openai_compatible(
        name: str,
        *,
        base_url: str,
        api_key_env: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> OpenAIModel:
        """A server speaking Chat Completions (Ollama, vLLM, DeepSeek, Qwen...). With ``api_key_env=None``
        and no ``api_key`` no key is needed. Costs ``None`` unless ``price=`` is given."""
        from loomflow.providers.openai import OpenAIModel

        return OpenAIModel(name, api="chat", compatible=True, base_url=base_url, api_key_env=api_key_env, **options)

    @staticmethod
    def fallback(primary: ModelProvider, *others: ModelProvider) -> FallbackModel:
        """Try ``primary``, then each of ``others`` when a model fails (a bad request fails at once)."""
        from loomflow.providers.fallback import FallbackModel

        return FallbackModel([primary, *others])

    @staticmethod
    def parse(spec: str, **options: Any) -> AnthropicModel | OpenAIModel:
        """``"anthropic:<model>"``, ``"openai:<model>"`` or ``"openai-responses:<model>"`` as a model;
        ``options`` go to the factory (``api_key=``, ``base_url=``...).

        >>> Model.parse("anthropic:claude-sonnet-4-5").name
        'anthropic:claude-sonnet-4-5'
        """
        provider, sep, name = spec.partition(":")
        if sep and name.strip():
            if provider == "anthropic":
                return Model.anthropic(name, **options)
            if provider == "openai":
                return Model.openai(name, **options)
            if provider == "openai-responses":
                return Model.openai(name, api="responses", **options)
        raise ValueError(f"cannot read model {spec!r}: expected one of {', '.join(_SPECS)}")
