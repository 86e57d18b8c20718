"""The ``Model`` factories: names, ``parse``, reprs without keys, lazy SDK imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loomflow.model import Model
from loomflow.providers import AnthropicModel, ModelProvider, OpenAIModel


def test_factories_build_providers_without_a_key_or_the_network() -> None:
    claude = Model.anthropic("claude-opus-5-5", thinking=4096, cache=True)
    gpt = Model.openai("gpt-5.4", api="responses", timeout=5, max_retries=1)
    local = Model.openai_compatible("llama3", base_url="http://localhost:11434/v1")
    for model in (claude, gpt, local):
        assert isinstance(model, ModelProvider)
    assert (claude.name, gpt.name, local.name) == (
        "anthropic:claude-opus-5-5",
        "openai-responses:gpt-5.4",
        "openai-compatible:llama3",
    )
    assert (gpt.timeout, gpt.retry.max_retries) == (5, 1)
    assert claude.price is not None
    assert local.price is None


def test_parse() -> None:
    assert isinstance(Model.parse("anthropic:claude-haiku-4-5"), AnthropicModel)
    chat, responses = Model.parse("openai:gpt-4.1"), Model.parse("openai-responses:gpt-4.1", timeout=9)
    assert isinstance(chat, OpenAIModel)
    assert chat.api == "chat"
    assert isinstance(responses, OpenAIModel)
    assert (responses.api, responses.timeout) == ("responses", 9)
    for bad in ("gpt-4o", "mistral:large", "anthropic:", ""):
        with pytest.raises(ValueError, match="anthropic:<model>"):
            Model.parse(bad)


def test_an_unknown_api_is_refused() -> None:
    with pytest.raises(ValueError, match="'chat' or 'responses'"):
        Model.openai("gpt-4o", api="completions")  # type: ignore[arg-type]


def test_reprs_name_the_variable_never_the_key() -> None:
    secret = "sk-ant-very-secret"
    model = Model.anthropic("claude-sonnet-5-5", api_key=secret, base_url="http://localhost:9")
    assert secret not in repr(model)
    assert secret not in repr(vars(model))
    assert repr(model) == "AnthropicModel('claude-sonnet-5-5', base_url='http://localhost:9', api_key='***')"
    assert repr(Model.openai("gpt-4o")) == "OpenAIModel('gpt-4o', api_key_env='OPENAI_API_KEY')"


def test_importing_loomflow_and_building_a_model_does_not_import_the_sdks() -> None:
    code = (
        "import sys, loomflow\n"
        "from loomflow import Model\n"
        "Model.anthropic('claude-sonnet-5-5'); Model.openai('gpt-4o'); Model.parse('openai:gpt-4o')\n"
        "import loomflow.providers as p; p.RateLimited; p.price_for\n"
        "loaded = [m for m in ('anthropic', 'openai', 'httpx2') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
