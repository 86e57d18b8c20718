"""Wrong arguments fail when the object is built, naming the argument and what it takes, instead of hanging,
misreading a string as a list, or failing later inside a step of a run; a closed agent says it is closed."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from loomflow import Agent, Harness, LoomflowError, MemoryStore, Model, QualityGate, Runtime, ToolCall, tool
from loomflow.agent.config import Generation
from loomflow.agent.delegation import DelegationPolicy, OrchestrationConfig
from loomflow.errors import RunError


def answer(x: int) -> int:
    """Return x."""
    return x


def model() -> Any:
    return Model.scripted(["hi"])


# ---------------------------------------------------------------- concurrency 0 used to hang the run
@pytest.mark.parametrize("concurrency", [0, -1, "2"])
def test_best_of_n_needs_a_concurrency_of_at_least_one(concurrency: Any) -> None:
    with pytest.raises(ValueError, match="best_of_n needs concurrency >= 1"):
        Harness.best_of_n(2, scorer=len, concurrency=concurrency)


@pytest.mark.parametrize("field", ["max_concurrent", "max_steps"])
def test_orchestration_needs_at_least_one_concurrent_step(field: str) -> None:
    with pytest.raises(ValueError, match=f"OrchestrationConfig needs {field} >= 1"):
        OrchestrationConfig(**{field: 0})
    with pytest.raises(ValueError, match="OrchestrationConfig needs max_depth >= 0"):
        OrchestrationConfig(max_depth=-1)
    assert OrchestrationConfig(max_depth=0, max_concurrent=1, max_steps=1).max_concurrent == 1


# ---------------------------------------------------------------- a str is not a list of criteria
def test_criteria_given_as_one_string_are_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"write QualityGate\.criteria\(\['cites a source'\]\)"):
        QualityGate.criteria("cites a source")
    with pytest.raises(TypeError, match=r"criteria=\['under 100 words'\]"):
        QualityGate.evaluator(lambda answer, criteria: True, criteria="under 100 words")
    with pytest.raises(TypeError, match="criteria are a list of strings, not one string"):
        Runtime.long_running(criteria="tests stay green")
    assert QualityGate.criteria(["cites a source"]).checks == ("cites a source",)


@pytest.mark.parametrize("max_retries", [-1, "2"])
def test_quality_gate_retries_are_a_count(max_retries: Any) -> None:
    with pytest.raises(ValueError, match="max_retries >= 0"):
        QualityGate.criteria(["x"], max_retries=max_retries)
    with pytest.raises(ValueError, match="max_retries >= 0"):
        QualityGate.pass_fail(max_retries=max_retries)
    assert QualityGate.criteria(["x"], max_retries=0).max_retries == 0


def test_a_quality_gate_evaluator_is_a_function_or_a_model() -> None:
    with pytest.raises(TypeError, match=r"function \(answer, criteria\) -> verdict or a model provider"):
        QualityGate.evaluator("strict")  # type: ignore[arg-type]
    assert QualityGate.evaluator(Model.scripted(["PASS"])).active


# ---------------------------------------------------------------- scripted responses
def test_a_script_given_as_one_string_is_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"write Model\.scripted\(\['hello world'\]\)"):
        Model.scripted("hello world")
    with pytest.raises(TypeError, match=r"write lanes=\{'candidate-0': \['a'\]\}"):
        Model.scripted(["x"], lanes={"candidate-0": "a"})


def test_a_scripted_response_of_the_wrong_type_fails_when_the_model_is_built() -> None:
    with pytest.raises(TypeError, match="scripted response #1 must be"):
        Model.scripted(["ok", 42])
    with pytest.raises(TypeError, match="scripted response #0 of lane 'delegate-0' must be"):
        Model.scripted(["ok"], lanes={"delegate-0": [[]]})
    # every accepted kind still builds; a function is checked when it answers
    script = ["text", ToolCall("answer", {"x": 1}), [ToolCall("answer", {"x": 2})], lambda request: "later"]
    assert Model.scripted(script).unused() == [0, 1, 2, 3]


# ---------------------------------------------------------------- a closed agent
async def _closed_agent(store: Any) -> tuple[Agent, str]:
    agent = Agent(Model.scripted(["one", "two"]), checkpoint_store=store)
    run_id = (await agent.run("first")).run_id
    await agent.close()
    await agent.close()  # closing twice stays fine
    return agent, run_id


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_every_store_operation_of_a_closed_agent_says_it_is_closed(store: str, tmp_path: Path) -> None:
    agent, run_id = await _closed_agent(MemoryStore() if store == "memory" else tmp_path / "closed.db")
    session = agent.session("s")
    operations = {
        "run": lambda: agent.run("again"),
        "resume": lambda: agent.resume(run_id),
        "fork": lambda: agent.fork(run_id, at=1),
        "replay": lambda: agent.replay(run_id),
        "cancel": lambda: agent.cancel(run_id),
        "history": lambda: agent.history(run_id),
        "state": lambda: agent.state(run_id),
        "result": lambda: agent.result(run_id),
        "session.run": lambda: session.run("again"),
        "session.runs": lambda: session.runs(),
        "start.wait": lambda: agent.start("again").wait(),
    }
    for name, operation in operations.items():
        with pytest.raises(RunError, match="agent 'agent' is closed; create a new Agent") as caught:
            await operation()
        assert isinstance(caught.value, LoomflowError), name


def test_run_sync_of_a_closed_agent_says_it_is_closed() -> None:
    agent = Agent(Model.scripted(["one"]), checkpoint_store=MemoryStore())
    agent.run_sync("first")
    asyncio.run(agent.close())
    with pytest.raises(RunError, match="is closed"):
        agent.run_sync("again")


# ---------------------------------------------------------------- Agent(...) arguments
class Answer(BaseModel):
    text: str


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"instructions": 123}, TypeError, r"Agent\(instructions=...\) takes a str"),
        ({"instructions": None}, TypeError, r"Agent\(instructions=...\) takes a str"),
        ({"tools": tool(answer)}, TypeError, r"takes a list of tools; write tools=\[answer\]"),
        ({"tools": "answer"}, TypeError, r"Agent\(tools=...\) takes a list of @tool functions"),
        ({"tools": [answer]}, TypeError, "decorate the function with @tool"),
        ({"generation": {"temperature": 0}}, TypeError, r"Agent\(generation=...\) takes a Generation"),
        ({"runtime": {"max_iterations": 3}}, TypeError, r"Agent\(runtime=...\) takes a Runtime"),
        ({"checkpoint_store": 123}, TypeError, r"Agent\(checkpoint_store=...\) takes a store"),
        ({"session_store": 123}, TypeError, r"Agent\(session_store=...\) takes a session store"),
        ({"output_type": dict}, TypeError, r"Agent\(output_type=...\) takes a pydantic model class"),
        ({"output_type": Answer(text="x")}, TypeError, r"Agent\(output_type=...\) takes a pydantic model class"),
        ({"output_retries": -1}, ValueError, r"Agent\(output_retries=...\) takes an int >= 0"),
        ({"output_retries": "2"}, ValueError, r"Agent\(output_retries=...\) takes an int >= 0"),
        ({"orchestration": "yes"}, TypeError, r"Agent\(orchestration=...\) takes True or an OrchestrationConfig"),
        ({"orchestration": OrchestrationConfig(max_depth=1), "runtime": Runtime()}, ValueError, "pass one"),
    ],
)
def test_agent_arguments_are_checked_when_it_is_built(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Agent(model(), **kwargs)


def test_valid_agent_arguments_still_build(tmp_path: Path) -> None:
    agent = Agent(
        model(),
        instructions="Be brief.",
        tools=(tool(answer),),
        generation=Generation(temperature=0),
        runtime=Runtime.sdk(),
        checkpoint_store=tmp_path / "a.db",
        session_store=str(tmp_path / "s.db"),
        output_type=Answer,
        output_retries=0,
    )
    assert agent.tools.names() == ["answer"]
    assert Agent(model(), checkpoint_store=MemoryStore(), orchestration=True).runtime.harness.kind == "orchestrated"


# ---------------------------------------------------------------- Runtime(...)
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_iterations": "5"}, ValueError, "max_iterations >= 1"),
        ({"max_tokens": -1}, ValueError, r"max_tokens > 0 \(an int\), or None"),
        ({"max_tokens": 0}, ValueError, "max_tokens > 0"),
        ({"max_tool_calls": 1.5}, ValueError, "max_tool_calls > 0"),
        ({"max_seconds": 0}, ValueError, r"max_seconds > 0 \(a number\)"),
        ({"max_cost": "1"}, ValueError, "max_cost > 0"),
        ({"quality": "strict"}, TypeError, r"Runtime\(quality=...\) takes a QualityGate such as"),
        ({"harness": "best_of_n"}, TypeError, r"Runtime\(harness=...\) takes a Harness such as"),
        ({"delegation": 2}, TypeError, r"Runtime\(delegation=...\) takes a DelegationPolicy"),
        ({"governance": None}, TypeError, r"Runtime\(governance=...\) takes a GovernancePolicy"),
        ({"context": 1000}, TypeError, r"Runtime\(context=...\) takes a ContextProtocol"),
    ],
)
def test_runtime_fields_are_checked(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Runtime(**kwargs)


def test_valid_runtime_budgets_still_build() -> None:
    runtime = Runtime(max_tokens=10, max_tool_calls=1, max_seconds=1, max_cost=0.5)
    assert runtime.budgets() == {
        "max_iterations": 50.0,
        "max_tokens": 10.0,
        "max_tool_calls": 1.0,
        "max_seconds": 1.0,
        "max_cost": 0.5,
    }


# ---------------------------------------------------------------- Harness, delegation, hooks
@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Harness.best_of_n("3"), ValueError, "best_of_n needs n >= 1"),
        (lambda: Harness.best_of_n(2, scorer="len"), TypeError, "scorer=...\\) takes a function"),
        (lambda: Harness.human_gate(max_rounds=0), ValueError, "human_gate needs max_rounds >= 1"),
        (lambda: Harness.generator_evaluator(max_rounds="3"), ValueError, "generator_evaluator needs max_rounds"),
        (lambda: Harness.custom("choose_best"), TypeError, "Harness.custom takes an async function"),
        (lambda: Harness.orchestrated({"max_depth": 2}), TypeError, "takes an OrchestrationConfig"),
        (lambda: DelegationPolicy.depth_limited(2, context="everything"), ValueError, "'task_only', 'handoff'"),
        (lambda: DelegationPolicy.depth_limited("2"), ValueError, "max_depth >= 0"),
    ],
)
def test_harness_and_delegation_settings_are_checked(build: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        build()


def test_valid_harness_and_delegation_settings_still_build() -> None:
    assert Harness.human_gate(max_rounds=1).max_rounds == 1
    assert Harness.best_of_n(1, concurrency=1).concurrency == 1
    assert DelegationPolicy.depth_limited(0, context="transcript").context == "transcript"


def test_a_hook_handler_must_be_callable() -> None:
    agent = Agent(model(), checkpoint_store=MemoryStore())
    with pytest.raises(TypeError, match="a before_run hook is a function taking keyword arguments, not None"):
        agent.on("before_run", None)  # type: ignore[arg-type]
    agent.on("before_run", lambda **payload: None)
    assert agent.hooks.has("before_run")


# ---------------------------------------------------------------- @tool
@pytest.mark.parametrize("timeout", [-1, 0, "5", True])
def test_a_tool_timeout_is_a_positive_number_of_seconds(timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, or None"):
        tool(description="x", timeout=timeout)(answer)


def test_valid_tool_timeouts_still_build() -> None:
    assert tool(description="x", timeout=2)(answer).timeout == 2
    assert tool(description="x", timeout=0.5)(answer).timeout == 0.5


@pytest.mark.parametrize(
    ("target", "kind"), [("not a function", "str"), (42, "int"), (functools.partial(answer, 1), "partial")]
)
def test_tool_decorates_only_functions(target: Any, kind: str) -> None:
    with pytest.raises(TypeError, match=rf"@tool decorates a function \(got {kind}\)"):
        tool(target)


# ---------------------------------------------------------------- sampling settings
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": -0.5}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_output_tokens": -5}, "max_output_tokens"),
        ({"max_output_tokens": 1.5}, "max_output_tokens"),
        ({"stop": "END"}, r"stop=\['END'\]"),  # a string would be sent as one stop sequence per character
        ({"extra": ["seed", 1]}, "extra"),
    ],
)
def test_generation_settings_are_checked_when_given(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises((TypeError, ValueError), match=named):
        Generation(**kwargs)


def test_valid_generation_settings_reach_the_request() -> None:
    settings = Generation(temperature=0, top_p=1, max_output_tokens=64, stop=["END"], extra={"seed": 7})
    assert settings.to_request() == {"temperature": 0, "top_p": 1, "max_output_tokens": 64, "stop": ["END"], "seed": 7}
