"""Orchestration: ``Agent(orchestration=True | OrchestrationConfig(...))`` runs planner -> fan_out -> reduce.
The plan is structured output validated with pydantic (an invalid plan is re-asked with the validation
error), each step is a child run (lane ``step-<id>``), and the reducer combines their results."""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness_helpers import ProbeModel, children_of, make_agent, text_of

from loomflow import Harness, ModelRequest, OrchestrationConfig, Runtime
from loomflow.agent.delegation import Plan


def plan(*steps: str) -> str:
    return json.dumps({"steps": [{"id": f"s{k + 1}", "task": t} for k, t in enumerate(steps)]})


PLAN = plan("Survey the API", "Survey the CLI")
LANES = {"step-s1": ["The API has 12 routes."], "step-s2": ["The CLI has 4 verbs."]}


async def test_orchestration_plans_fans_out_to_child_runs_and_reduces() -> None:
    model = ProbeModel([PLAN, "12 routes and 4 verbs."], lanes=LANES)
    agent = make_agent(model, orchestration=True)
    assert 'subgraph c_harness["harness: orchestrated"]' in agent.graph.to_mermaid()
    result = await agent.run("Survey the project")

    assert (result.status, result.output) == ("completed", "12 routes and 4 verbs.")
    assert result.state.plan == json.loads(PLAN)
    planner, reducer = model.sent(None)
    assert planner.output_schema == Plan.model_json_schema()
    assert planner.messages[-1].text == "Survey the project"
    assert "## s1: Survey the API\nThe API has 12 routes." in reducer.messages[-1].text
    assert "## s2: Survey the CLI\nThe CLI has 4 verbs." in reducer.messages[-1].text
    assert [(c["id"], c["status"]) for c in result.state.candidates] == [("s1", "completed"), ("s2", "completed")]
    for step_id, child in zip(("s1", "s2"), children_of(result), strict=True):
        assert child.endswith(f"/step-{step_id}")
        record = await agent.interpreter.get_run(child)
        assert (record.parent_run, record.kind) == (result.run_id, "child")
        assert (await agent.state(child)).task.goal == dict(s1="Survey the API", s2="Survey the CLI")[step_id]  # type: ignore[union-attr]
    assert model.lanes() == {None: 2, "step-s1": 1, "step-s2": 1}
    model.script.assert_all_used()


@pytest.mark.parametrize(
    ("invalid", "problem"),
    [
        ("Here is my plan: first the API.", "answer: Invalid JSON"),
        ('{"steps": []}', "steps: List should have at least 1 item"),
    ],
)
async def test_an_invalid_plan_is_reasked_with_the_validation_error(invalid: str, problem: str) -> None:
    model = ProbeModel([invalid, PLAN, "Combined."], lanes=LANES)
    agent = make_agent(model, orchestration=True)
    result = await agent.run("Survey the project")

    assert (result.status, result.output) == ("completed", "Combined.")
    _, second, _ = model.sent(None)
    assert [m.role for m in second.messages[-2:]] == ["assistant", "user"]
    assert second.messages[-2].text == invalid
    assert "That plan is not valid" in second.messages[-1].text
    assert problem in second.messages[-1].text
    assert result.state.iterations == 3  # two planner calls and the reducer
    planner_steps = [s for s in result.trace.steps if s.node == "harness/planner"]
    assert len(planner_steps) == 1  # the re-ask happened inside one checkpointed step


async def test_a_planner_that_never_makes_a_valid_plan_fails_the_run() -> None:
    model = ProbeModel(["no", "still no", "{}"])
    agent = make_agent(model, orchestration=True)
    result = await agent.run("Survey the project")

    assert result.status == "failed"
    assert result.error is not None
    assert "did not produce a valid plan in 3 attempts" in result.error


async def test_gen_eval_judges_each_step_and_max_depth_bounds_delegation_below() -> None:
    lanes = {"step-s1": ["12 routes", "PASS"], "step-s2": ["4 verbs", "FAIL: say verbs", "4 CLI verbs", "PASS"]}
    model = ProbeModel([PLAN, "Combined."], lanes=lanes)
    agent = make_agent(model, orchestration=OrchestrationConfig(max_depth=2, gen_eval=True))
    assert agent.runtime.delegation.max_depth == 2
    result = await agent.run("Survey the project")

    assert result.status == "completed"
    assert [c["content"] for c in result.state.candidates] == ["12 routes", "4 CLI verbs"]
    for child in children_of(result):
        assert "harness/evaluate" in [r.node_path for r in await agent.history(child)]
    # the steps are one level below the run: with max_depth=2 they may delegate once more
    assert "delegate" in [t.name for t in model.sent("step-s1")[0].tools]


async def test_plan_steps_may_delegate_within_max_depth_only() -> None:
    # a plan step is not a delegation: it runs at its parent's depth, so max_depth=1 lets it delegate once
    model = ProbeModel([PLAN, "Combined."], lanes=LANES)
    agent = make_agent(model, orchestration=OrchestrationConfig(max_depth=1))
    assert (await agent.run("Survey the project")).status == "completed"
    assert "delegate" in [t.name for t in model.sent("step-s1")[0].tools]
    model = ProbeModel([PLAN, "Combined."], lanes=LANES)
    agent = make_agent(model, orchestration=OrchestrationConfig(max_depth=0))
    assert (await agent.run("Survey the project")).status == "completed"
    assert "delegate" not in [t.name for t in model.sent("step-s1")[0].tools]


async def test_a_failed_step_is_reported_to_the_reducer() -> None:
    def down(request: ModelRequest) -> str:
        raise RuntimeError("provider down")

    model = ProbeModel([PLAN, "Only the API is known."], lanes={**LANES, "step-s2": [down]})
    agent = make_agent(model, orchestration=True)
    result = await agent.run("Survey the project")

    assert result.status == "completed"
    reducer = model.sent(None)[-1]
    assert "## s2: Survey the CLI\n(step failed:" in reducer.messages[-1].text
    assert "provider down" in text_of(reducer)


async def test_fan_out_respects_max_concurrent_and_max_steps() -> None:
    lanes = {f"step-s{k}": [f"part {k}"] for k in range(1, 4)}
    model = ProbeModel([plan("a", "b", "c", "d"), "Combined."], lanes=lanes, hold=2)
    config = OrchestrationConfig(max_concurrent=2, max_steps=3)
    agent = make_agent(model, runtime=Runtime(harness=Harness.orchestrated(config)))
    result = await agent.run("Do four things")

    assert result.status == "completed"
    assert [c["id"] for c in result.state.candidates] == ["s1", "s2", "s3"]  # the plan was cut to max_steps
    assert model.peak == 2
    assert f"at most {config.max_steps} independent steps" in model.sent(None)[0].messages[0].text


async def test_agent_orchestration_config_keeps_every_setting() -> None:
    model = ProbeModel([plan("a", "b", "c"), "Combined."], lanes={"step-s1": ["part 1"]})
    agent = make_agent(model, orchestration=OrchestrationConfig(max_steps=1, max_concurrent=1))
    assert agent.runtime.harness.orchestration == OrchestrationConfig(max_steps=1, max_concurrent=1)
    result = await agent.run("Do three things")
    assert [c["id"] for c in result.state.candidates] == ["s1"]


@pytest.mark.parametrize("orchestration", [True, OrchestrationConfig(max_depth=2)])
def test_orchestration_and_runtime_together_are_refused(orchestration: Any) -> None:
    with pytest.raises(ValueError, match="pass one, not both"):
        make_agent(ProbeModel([]), orchestration=orchestration, runtime=Runtime.sdk())
