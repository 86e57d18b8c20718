"""Typed final output, replay, usage rollups and the model_call retry policy."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from loomflow import Agent, MemoryStore, Model, Runtime, ToolCall, tool
from loomflow.errors import ProviderError
from loomflow.messages import ModelDelta, ModelRequest, ModelResponse
from loomflow.nodedef import Retry
from loomflow.providers.errors import BadRequest
from loomflow.providers.fallback import FallbackModel


class Answer(BaseModel):
    title: str
    score: int


async def test_a_typed_answer_is_validated_and_returned_as_the_model() -> None:
    model = Model.scripted(['```json\n{"title": "x", "score": 3}\n```'])
    agent = Agent(model, output_type=Answer, checkpoint_store=MemoryStore())
    result = await agent.run("rate it")
    assert result.status == "completed"
    assert result.output == Answer(title="x", score=3)
    assert result.state.parsed == {"title": "x", "score": 3}


async def test_an_invalid_answer_is_re_asked_with_the_validation_error() -> None:
    seen: list[ModelRequest] = []

    def second(request: ModelRequest) -> str:
        seen.append(request)
        return '{"title": "ok", "score": 1}'

    agent = Agent(Model.scripted(['{"title": "x"}', second]), output_type=Answer, checkpoint_store=MemoryStore())
    result = await agent.run("rate it")
    assert result.status == "completed"
    assert result.output == Answer(title="ok", score=1)
    assert [s.node for s in result.trace.steps].count("harness/model_call") == 2
    reask = seen[0].messages[-1]
    assert reask.role == "user"
    assert "score" in reask.text
    assert "Field required" in reask.text
    assert seen[0].output_schema == Answer.model_json_schema()


async def test_an_answer_that_never_validates_fails_the_run_naming_the_type() -> None:
    agent = Agent(Model.scripted(["no", "no"]), output_type=Answer, output_retries=1, checkpoint_store=MemoryStore())
    result = await agent.run("rate it")
    assert result.status == "failed"
    assert result.error is not None
    assert "did not validate as Answer after 2 attempt(s)" in result.error


async def test_replay_serves_every_call_from_the_journal() -> None:
    calls: list[str] = []

    @tool(description="look something up")
    def lookup(q: str) -> str:
        calls.append(q)
        return f"found {q}"

    agent = Agent(
        Model.scripted([ToolCall("lookup", {"q": "a"}), "done"]), tools=[lookup], checkpoint_store=MemoryStore()
    )
    first = await agent.run("go")
    replayed = await agent.replay(first.run_id)
    assert replayed.status == "completed"
    assert replayed.output == "done"
    assert calls == ["a"]  # the tool did not run again
    assert replayed.trace == first.trace


async def test_usage_rolls_up_per_node_and_per_subgraph_and_per_session() -> None:
    agent = Agent(Model.scripted(["one", "two"]), checkpoint_store=MemoryStore())
    session = agent.session("s")
    first = await session.run("a")
    second = await session.run("b")
    per_node = first.usage_by()
    assert set(per_node) >= {"harness/model_call"}
    assert first.usage_by(1)["harness"]["input_tokens"] == first.usage["input_tokens"]
    total = await session.usage()
    assert total["output_tokens"] == first.usage["output_tokens"] + second.usage["output_tokens"]


class Flaky:
    """Fails its first ``failures`` calls, then answers."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def request(self, request: ModelRequest) -> ModelResponse:
        items = [item async for item in self.stream(request)]
        assert isinstance(items[-1], ModelResponse)
        return items[-1]

    async def stream(self, request: ModelRequest) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ProviderError(f"flaky failure {self.calls}")
        response = await Model.scripted(["recovered"]).request(request.model_copy(update={"metadata": {}}))
        yield ModelDelta(text="recovered")
        yield response


async def test_the_model_call_retry_policy_retries_a_failing_provider() -> None:
    model = Flaky(failures=2)
    runtime = Runtime(model_retry=Retry(attempts=3, backoff=0, on=(ProviderError,)))
    result = await Agent(model, runtime=runtime, checkpoint_store=MemoryStore()).run("go")
    assert result.status == "completed"
    assert result.output == "recovered"
    step = next(r for r in result.records if r.node_path == "harness/model_call")
    assert step.attempts == 3


async def test_without_a_retry_policy_a_provider_error_fails_the_run() -> None:
    result = await Agent(Flaky(failures=1), checkpoint_store=MemoryStore()).run("go")
    assert result.status == "failed"
    assert result.error is not None
    assert "flaky failure 1" in result.error


async def test_fallback_moves_to_the_next_model_when_one_fails() -> None:
    model = Model.fallback(Flaky(failures=5), Model.scripted(["from the second"]))
    result = await Agent(model, checkpoint_store=MemoryStore()).run("go")
    assert result.status == "completed"
    assert result.output == "from the second"
    with pytest.raises(ValueError, match="at least two"):
        FallbackModel([Flaky(0)])


async def test_fallback_does_not_switch_models_on_a_bad_request() -> None:
    class Refusing(Flaky):
        async def stream(self, request: ModelRequest) -> Any:
            raise BadRequest("the request is wrong")
            yield

    second = Flaky(failures=0)
    result = await Agent(Model.fallback(Refusing(0), second), checkpoint_store=MemoryStore()).run("go")
    assert result.status == "failed"
    assert second.calls == 0


async def test_an_answer_is_stored_once_and_read_back_as_the_output(tmp_path: Any) -> None:
    agent = Agent(Model.scripted(["the answer"]), checkpoint_store=tmp_path / "runs.db")
    result = await agent.run("ask")
    run = await agent.interpreter.get_run(result.run_id)
    assert run.output == {"@state": "output"}  # the record points at the state; the journal holds the text
    again = Agent(Model.scripted([]), checkpoint_store=tmp_path / "runs.db")
    assert (await again.result(result.run_id)).output == "the answer"
