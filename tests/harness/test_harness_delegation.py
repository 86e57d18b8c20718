"""Delegation: ``DelegationPolicy.depth_limited(n)`` gives the model a ``delegate`` tool; each call is a child
run (concurrent up to ``max_concurrent``), started with the policy's context contract, re-attached on
resume, folded back as the call's result — a structured outcome when the child stopped at a limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from harness_helpers import ProbeModel, make_agent, text_of

from loomflow import (
    Agent,
    Ask,
    DelegationPolicy,
    Harness,
    MemoryStore,
    Message,
    ModelRequest,
    ModelResponse,
    Runtime,
    TextPart,
    ToolCall,
    ToolCallPart,
    Usage,
    sequential_ids,
    tool,
)
from loomflow.agent.state import AgentState
from loomflow.interpreter import RunResult


@tool(read_only=True)
def look(topic: str) -> str:
    """Look something up."""
    return f"notes on {topic}"


def delegate(task: str, **extra: Any) -> ToolCall:
    return ToolCall("delegate", {"task": task, **extra})


def tool_names(request: ModelRequest) -> list[str]:
    return [t.name for t in request.tools]


def results(result: RunResult[AgentState]) -> list[tuple[str, bool]]:
    return [(p.content, p.is_error) for m in result.state.messages for p in m.tool_results]


def child_id(result: RunResult[AgentState], k: int) -> str:
    spawn = next(r for r in result.records if r.node_path == "harness/delegation")
    return f"{result.run_id}/harness/delegation@{spawn.visit}/delegate-{k}"


async def test_a_delegation_is_a_child_run_whose_answer_is_the_tool_result() -> None:
    model = ProbeModel([delegate("Count the routes"), "There are 12 routes."], lanes={"delegate-0": ["12 routes"]})
    agent = make_agent(model, runtime=Runtime(delegation=DelegationPolicy.depth_limited(1)))
    result = await agent.run("Survey the API")

    assert (result.status, result.output) == ("completed", "There are 12 routes.")
    assert results(result) == [("12 routes", False)]
    assert "delegate" in tool_names(model.sent(None)[0])
    child = await agent.interpreter.get_run(child_id(result, 0))
    assert (child.parent_run, child.kind, child.status) == (result.run_id, "child", "completed")
    child_state = await agent.state(child_id(result, 0))
    assert (child_state.task.goal if child_state.task else None, child_state.depth) == ("Count the routes", 1)
    assert model.sent("delegate-0")[0].messages[-1].text == "Count the routes"


async def test_a_child_at_max_depth_gets_no_delegate_tool_and_a_delegate_call_there_is_an_error() -> None:
    lanes = {"delegate-0": [delegate("Go deeper"), "Did it myself."]}
    model = ProbeModel([delegate("Count the routes"), "Done."], lanes=lanes)
    agent = make_agent(model, runtime=Runtime.autonomous(max_depth=1))
    result = await agent.run("Survey the API")

    assert result.status == "completed"
    assert results(result) == [("Did it myself.", False)]
    first, second = model.sent("delegate-0")
    assert "delegate" not in tool_names(first)
    (refusal,) = [p for m in second.messages for p in m.tool_results]
    assert refusal.is_error
    assert "delegation is not allowed here (max_depth=1)" in refusal.content
    assert model.lanes() == {None: 2, "delegate-0": 2}  # no grandchild was started


async def test_depth_two_allows_a_grandchild_and_no_deeper() -> None:
    def delegate_if_allowed(request: ModelRequest) -> Any:
        if "delegate" in tool_names(request):
            return delegate("one level down")
        return "leaf answer"

    def then_answer(request: ModelRequest) -> str:
        return "got: " + ",".join(p.content for m in request.messages for p in m.tool_results)

    # every level delegates while it may, then answers with what its child said
    model = ProbeModel([delegate_if_allowed, then_answer], lanes={"delegate-0": [delegate_if_allowed, then_answer]})
    agent = make_agent(model, runtime=Runtime(delegation=DelegationPolicy.depth_limited(2)))
    result = await agent.run("Go down")

    assert (result.status, result.output) == ("completed", "got: got: leaf answer")
    child = child_id(result, 0)
    spawn = next(r for r in await agent.history(child) if r.node_path == "harness/delegation")
    grandchild = f"{child}/harness/delegation@{spawn.visit}/delegate-0"
    assert (await agent.state(grandchild)).depth == 2
    assert (await agent.interpreter.get_run(grandchild)).parent_run == child


async def test_delegations_of_one_turn_run_concurrently_up_to_max_concurrent() -> None:
    calls = [delegate(f"part {k}") for k in range(4)]
    lanes = {f"delegate-{k}": [f"part {k} done"] for k in range(4)}
    model = ProbeModel([calls, "All done."], lanes=lanes, hold=2)
    policy = DelegationPolicy.depth_limited(1, max_concurrent=2)
    agent = make_agent(model, runtime=Runtime(delegation=policy))
    result = await agent.run("Do the four parts")

    assert result.status == "completed"
    assert model.peak == 2
    assert results(result) == [(f"part {k} done", False) for k in range(4)]  # in call order


def _pause_second(run_id: str, **_: Any) -> Ask | None:
    return Ask("May delegate-1 ask the model?") if run_id.endswith("/delegate-1") else None


async def test_a_resumed_parent_does_not_rerun_finished_delegations(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    lanes = {"delegate-0": ["12 routes"], "delegate-1": ["4 verbs"]}
    script = [[delegate("Count the routes"), delegate("Count the verbs")], "12 routes, 4 verbs."]

    def build(model: ProbeModel) -> Agent:
        agent = Agent(model, runtime=Runtime.autonomous(max_depth=1), checkpoint_store=db, ids=sequential_ids())
        agent.on("before_llm", _pause_second)
        return agent

    first_model = ProbeModel(script, lanes=lanes)
    first = build(first_model)
    waiting = await first.run("Survey the project")
    assert waiting.status == "interrupted"
    (intr,) = waiting.interrupts
    assert intr.id.startswith(f"{waiting.run_id}/harness/delegation@6/delegate-1::")
    assert intr.node_path == "harness/delegation"
    assert first_model.lanes() == {None: 1, "delegate-0": 1}
    await first.close()

    model = ProbeModel(script, lanes=lanes)
    second = build(model)
    result = await second.resume(waiting.run_id, values={intr.id: "approve"})
    assert (result.status, result.output) == ("completed", "12 routes, 4 verbs.")
    assert results(result) == [("12 routes", False), ("4 verbs", False)]
    assert model.lanes() == {"delegate-1": 1, None: 1}  # delegate-0 was read back
    await second.close()


async def test_a_child_stopped_by_its_budget_returns_a_structured_limit_outcome() -> None:
    half = ModelResponse(
        message=Message(
            role="assistant",
            parts=(
                TextPart(text="Half done: 6 routes so far."),
                ToolCallPart(id="c1", name="look", arguments={"topic": "a"}),
            ),
        ),
        usage=Usage(input_tokens=10, output_tokens=10),
        finish_reason="tool_calls",
        model="probe",
    )
    lanes = {"delegate-0": [half, ToolCall("look", {"topic": "b"}), "never reached"]}
    model = ProbeModel([delegate("Count the routes"), "Partial count."], lanes=lanes)
    agent = make_agent(model, tools=[look], runtime=Runtime.autonomous(max_depth=1, max_iterations=2))
    result = await agent.run("Survey the API")

    assert (result.status, result.output) == ("completed", "Partial count.")
    ((content, is_error),) = results(result)[-1:]
    assert is_error
    outcome = json.loads(content)
    assert outcome["status"] == "limit_reached"
    assert "max_iterations=2" in outcome["limit"]
    assert outcome["partial_output"] == "Half done: 6 routes so far."
    assert (await agent.interpreter.get_run(child_id(result, 0))).status == "limit_reached"
    assert content in text_of(model.sent(None)[1])  # the parent's model saw the outcome


@pytest.mark.parametrize("contract", ["task_only", "handoff", "transcript"])
async def test_the_context_contract_decides_what_the_child_receives(contract: str) -> None:
    lanes = {"delegate-0": ["12 routes"]}
    script = [ToolCall("look", {"topic": "api"}), delegate("Count the routes", context="v2 only"), "Done."]
    model = ProbeModel(script, lanes=lanes)
    policy = DelegationPolicy.depth_limited(1, context=contract)  # type: ignore[arg-type]
    agent = make_agent(model, tools=[look], runtime=Runtime(delegation=policy))
    result = await agent.run("Survey the API of the service")
    assert result.status == "completed"

    inputs = (await agent.state(child_id(result, 0))).run_context.inputs  # type: ignore[union-attr]
    assert inputs["delegated_by"] == result.run_id
    assert inputs["context"] == "v2 only"
    extra = set(inputs) - {"delegated_by", "context"}
    if contract == "task_only":
        assert extra == set()
    elif contract == "handoff":
        assert extra == {"handoff"}
        assert "Survey the API of the service" in inputs["handoff"]
    else:
        assert extra == {"transcript"}
        assert "user: Survey the API of the service" in inputs["transcript"]
    # what the child received is what its model was shown
    shown = model.sent("delegate-0")[0].messages[0].text
    assert "v2 only" in shown
    for key in extra:
        assert key in shown


async def test_a_named_sub_agent_runs_on_its_own_graph() -> None:
    store = MemoryStore()
    researcher_model = ProbeModel(["Draft count.", "PASS"], lanes={"delegate-0": ["12 routes", "PASS"]})
    researcher = Agent(
        researcher_model,
        runtime=Runtime(harness=Harness.generator_evaluator()),
        checkpoint_store=store,
        ids=sequential_ids(),
        name="researcher",
    )
    script = [[delegate("Count the routes", agent="researcher"), delegate("x", agent="nobody")], "Done."]
    model = ProbeModel(script, lanes={"delegate-0": ["not me"]})
    policy = DelegationPolicy.depth_limited(1, agents={"researcher": researcher})
    agent = make_agent(model, runtime=Runtime(delegation=policy), checkpoint_store=store)
    result = await agent.run("Survey the API")

    assert result.status == "completed"
    (parameters,) = [t.parameters for t in model.sent(None)[0].tools if t.name == "delegate"]
    assert parameters["properties"]["agent"]["enum"] == ["researcher"]
    assert results(result)[0] == ("12 routes", False)
    assert results(result)[1][1] is True
    assert "no sub-agent 'nobody'; known: researcher" in results(result)[1][0]
    # the child ran on the researcher's graph (generator/evaluator) with the researcher's model
    history = [r.node_path for r in await researcher.history(child_id(result, 0))]
    assert "harness/evaluate" in history
    assert researcher_model.lanes() == {"delegate-0": 2}
    assert model.lanes() == {None: 2}
