"""Runtime presets: each one's configuration takes effect in a run (the graph it produces, its gate, its
budgets, whether the model may delegate), and an agent built from a preset keeps its sessions apart."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from harness_helpers import JUDGE, ProbeModel, make_agent, text_of

from loomflow import (
    Agent,
    FakeClock,
    Harness,
    HarnessOutcome,
    HarnessRequest,
    Limits,
    ModelRequest,
    Runtime,
    ToolCall,
    tool,
)
from loomflow.agent.state import AgentState
from loomflow.interpreter import RunResult


@tool(read_only=True)
def look(topic: str) -> str:
    """Look something up."""
    return f"notes on {topic}"


def cluster(agent: Agent) -> str:
    drawn = agent.graph.to_mermaid()
    return drawn.split('subgraph c_harness["', 1)[1].split('"', 1)[0]


async def budgets(agent: Agent, result: RunResult[AgentState]) -> dict[str, float]:
    return dict(Limits.from_json((await agent.interpreter.get_run(result.run_id)).limits).budgets)


def always_look(request: ModelRequest) -> ToolCall:
    return ToolCall("look", {"topic": "more"})


async def test_sdk_is_the_single_run_harness_without_a_gate_and_fifty_calls() -> None:
    model = ProbeModel(["Hello."])
    agent = make_agent(model, runtime=Runtime.sdk())
    assert cluster(agent) == "harness: single_run"
    result = await agent.run("Say hello")

    assert (result.status, result.output) == ("completed", "Hello.")
    assert [s.node for s in result.trace.steps] == [
        "intake",
        "harness/context_build",
        "harness/model_call",
        "harness/quality_gate",
        "finalize",
    ]
    assert model.judged() == []  # no gate judged the answer
    assert "delegate" not in text_of(model.requests[0])  # no delegate tool
    assert (await budgets(agent, result)) == {"max_iterations": 50.0}


async def test_long_running_judges_its_criteria_and_allows_two_hundred_calls() -> None:
    model = ProbeModel(["Done.", "FAIL: run the tests", "Done, tests green.", "PASS"])
    agent = make_agent(model, runtime=Runtime.long_running(criteria=["tests stay green"]))
    assert cluster(agent) == "harness: single_run"
    result = await agent.run("Refactor the module")

    assert (result.status, result.output) == ("completed", "Done, tests green.")
    assert all("- tests stay green" in r.messages[-1].text for r in model.judged())
    assert len(model.judged()) == 2
    assert "run the tests" in model.generated()[1].messages[-1].text
    assert (await budgets(agent, result)) == {"max_iterations": 200.0}
    assert agent.runtime.continuity.summarizer == "extractive"


async def test_long_running_without_criteria_has_no_gate() -> None:
    model = ProbeModel(["Done."])
    result = await make_agent(model, runtime=Runtime.long_running()).run("Refactor the module")
    assert result.status == "completed"
    assert model.judged() == []


async def test_supervised_asks_a_person_then_judges_the_criteria() -> None:
    model = ProbeModel(["Draft.", "Draft with numbers.", "PASS"])
    agent = make_agent(model, runtime=Runtime.supervised(criteria=["has numbers"]))
    assert cluster(agent) == "harness: human_gate"
    waiting = await agent.run("Write the report")
    assert waiting.interrupt is not None
    assert (waiting.status, waiting.interrupt.kind) == ("interrupted", "review")
    again = await agent.resume(waiting.run_id, {"reject": "add numbers"})
    assert "add numbers" in model.requests[-1].messages[-1].text
    result = await agent.resume(again.run_id, "approve")

    assert (result.status, result.output) == ("completed", "Draft with numbers.")
    (judge,) = model.judged()
    assert "- has numbers" in judge.messages[-1].text


async def test_supervised_bounds_the_reviews_per_run() -> None:
    model = ProbeModel([f"Draft {k}." for k in range(6)])
    agent = make_agent(model, runtime=Runtime.supervised())
    result = await agent.run("Write the report")
    for _ in range(4):
        result = await agent.resume(result.run_id, {"reject": "again"})
        assert result.status == "interrupted"
    result = await agent.resume(result.run_id, {"reject": "again"})  # five reviews were the run's allowance
    assert result.status == "limit_reached"
    assert result.error is not None
    assert "'harness/review' reached its limit of 5 visits" in result.error
    assert len(model.requests) == 6  # the sixth draft was written but never shown for review


async def test_autonomous_offers_the_delegate_tool_and_bounds_model_calls() -> None:
    model = ProbeModel([always_look] * 10)
    agent = make_agent(model, tools=[look], runtime=Runtime.autonomous(max_depth=2, max_iterations=3))
    assert cluster(agent) == "harness: single_run"
    result = await agent.run("Research forever")

    assert result.status == "limit_reached"
    assert result.error is not None
    assert "max_iterations=3" in result.error
    assert len(model.requests) == 3
    assert [t.name for t in model.requests[0].tools] == ["look", "delegate"]
    assert agent.runtime.delegation.max_depth == 2


async def test_orchestrated_plans_and_bounds_delegation_depth() -> None:
    plan = json.dumps({"steps": [{"id": "s1", "task": "Part one"}]})
    model = ProbeModel([plan, "Combined."], lanes={"step-s1": ["one"]})
    agent = make_agent(model, runtime=Runtime.orchestrated(max_depth=2))
    assert cluster(agent) == "harness: orchestrated"
    result = await agent.run("Do it")

    assert (result.status, result.output) == ("completed", "Combined.")
    assert [s.node for s in result.trace.steps][1:4] == ["harness/planner", "harness/fan_out", "harness/reduce"]
    assert agent.runtime.delegation.max_depth == 2
    assert "delegate" in [t.name for t in model.sent("step-s1")[0].tools]


async def test_scheduled_restores_no_history_and_is_bounded() -> None:
    def echo(request: ModelRequest) -> str:
        return "saw: " + " | ".join(m.text for m in request.messages if m.role == "user")

    model = ProbeModel([echo, echo])
    agent = make_agent(model, runtime=Runtime.scheduled())
    nightly = agent.session("nightly")
    await nightly.run("first job")
    second = await nightly.run("second job")

    assert second.output == "saw: second job"  # the first job's turn was not restored
    assert (await budgets(agent, second)) == {"max_iterations": 25.0, "max_seconds": 600.0}


@pytest.mark.parametrize(
    ("preset", "calls"),
    [
        (Runtime.sdk, 50),
        (Runtime.long_running, 200),
        (lambda: Runtime.autonomous(max_iterations=7), 7),
        (Runtime.scheduled, 25),
    ],
    ids=["sdk", "long_running", "autonomous", "scheduled"],
)
async def test_each_presets_model_call_budget_stops_a_runaway_run(preset: Callable[[], Runtime], calls: int) -> None:
    model = ProbeModel([always_look] * (calls + 5))
    agent = make_agent(model, tools=[look], runtime=preset())
    result = await agent.run("Poll the queue")
    assert result.status == "limit_reached"
    assert result.error is not None
    assert f"max_iterations={calls} reached" in result.error
    assert len(model.requests) == calls


async def test_scheduled_stops_a_run_after_ten_minutes_of_work() -> None:
    clock = FakeClock()

    def slow_look(request: ModelRequest) -> ToolCall:
        clock.advance(301.0)  # each model call "takes" five minutes
        return ToolCall("look", {"topic": "more"})

    model = ProbeModel([slow_look] * 5)
    agent = make_agent(model, tools=[look], runtime=Runtime.scheduled(), clock=clock)
    result = await agent.run("Poll the queue")
    assert result.status == "limit_reached"
    assert result.error is not None
    assert "max_seconds=600" in result.error
    assert len(model.requests) == 2


# ---------------------------------------------------------------- sessions stay apart

PRESETS: dict[str, Callable[[], Runtime]] = {
    "sdk": Runtime.sdk,
    "long_running": lambda: Runtime.long_running(criteria=["is an answer"]),
    "supervised": lambda: Runtime.supervised(criteria=["is an answer"]),
    "autonomous": lambda: Runtime.autonomous(max_depth=1),
    "orchestrated": lambda: Runtime.orchestrated(max_depth=1),
    "scheduled": Runtime.scheduled,
}


def reply(request: ModelRequest) -> str:
    """One response for every kind of request: judge, planner, or an answer naming the user turns seen."""
    if request.messages and JUDGE in request.messages[0].text:
        return "PASS"
    if request.output_schema is not None:
        return json.dumps({"steps": [{"id": "s1", "task": request.messages[-1].text}]})
    return "saw: " + " | ".join(m.text for m in request.messages if m.role == "user")


async def _run(agent: Agent, session: str, task: str) -> RunResult[AgentState]:
    result = await agent.session(session).run(task)
    while result.status == "interrupted":  # supervised: the person approves
        result = await agent.resume(result.run_id, "approve")
    assert result.status == "completed"
    return result


@pytest.mark.parametrize("name", list(PRESETS))
async def test_two_sessions_on_one_preset_agent_stay_isolated(name: str) -> None:
    model = ProbeModel([reply] * 40)
    agent = make_agent(model, runtime=PRESETS[name]())
    await _run(agent, "alice", "alice secret one")
    await _run(agent, "bob", "bob secret one")
    await _run(agent, "alice", "alice question two")
    await _run(agent, "bob", "bob question two")

    for request in model.requests:
        shown = text_of(request)
        assert not ("alice" in shown and "bob" in shown), f"{name}: one request saw both sessions:\n{shown}"
    alice = [r for r in model.requests if "alice question two" in text_of(r)]
    assert alice
    restores = name != "scheduled"  # orchestrated restores too: its planner and steps see the session
    assert any("alice secret one" in text_of(r) for r in alice) is restores


def test_preset_objects_share_no_mutable_state() -> None:
    for make in PRESETS.values():
        one, two = make(), make()
        assert one == two
        assert one.delegation.agents is not two.delegation.agents
    one, two = Runtime.autonomous(), Runtime.autonomous()
    one.delegation.agents["helper"] = make_agent(ProbeModel([]))  # type: ignore[index]
    assert two.delegation.agents == {}
    assert Runtime.autonomous().delegation.agents == {}


async def test_one_preset_runtime_shared_by_two_agents_keeps_their_runs_apart() -> None:
    runtime = Runtime.long_running(criteria=["is an answer"])
    first, second = ProbeModel([reply] * 4), ProbeModel([reply] * 4)
    a, b = make_agent(first, runtime=runtime), make_agent(second, runtime=runtime)
    ra = await a.run("task for a")
    rb = await b.run("task for b")
    assert (ra.output, rb.output) == ("saw: task for a", "saw: task for b")
    assert all("task for b" not in text_of(r) for r in first.requests)


async def _answer_once(request: HarnessRequest) -> HarnessOutcome:
    return HarnessOutcome(output=str((await request.run_once())["output"]))


CHILD_HARNESSES: dict[str, Callable[[], Harness]] = {
    "best_of_n": lambda: Harness.best_of_n(2, scorer=len),
    "custom": lambda: Harness.custom(_answer_once),
    "orchestrated": Harness.orchestrated,
}


@pytest.mark.parametrize("name", list(CHILD_HARNESSES))
async def test_a_child_run_harness_in_a_session_sees_the_sessions_earlier_turns(name: str) -> None:
    model = ProbeModel([reply] * 20)
    agent = make_agent(model, runtime=Runtime(harness=CHILD_HARNESSES[name]()))
    await _run(agent, "alice", "alice secret one")
    await _run(agent, "alice", "alice question two")

    # the requests that generate an answer (the reducer only combines the steps' results)
    shown = [text_of(r) for r in model.requests]
    asked = [t for t in shown if "alice question two" in t and "Combine the results" not in t]
    assert asked
    assert all("alice secret one" in t for t in asked)
