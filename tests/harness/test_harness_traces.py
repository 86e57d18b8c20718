"""Golden traversals: every harness on a representative scripted run, as a syrupy snapshot of its canonical
trace (and its child runs' traces), run twice to show the trace is deterministic; and each harness's
structure as a Mermaid snapshot of ``agent.graph``.

``pytest tests/harness --snapshot-update`` rewrites the ``.ambr`` file after an intended change.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from harness_helpers import ProbeModel, choose_best, family_trace, make_agent

from loomflow import (
    Agent,
    Harness,
    MemoryStore,
    Model,
    Runtime,
    RuntimeTask,
    ToolCall,
    sequential_ids,
    tool,
)

PLAN = json.dumps({"steps": [{"id": "s1", "task": "Survey the API"}, {"id": "s2", "task": "Survey the CLI"}]})


@tool(read_only=True)
def search_docs(query: str) -> str:
    """Search documentation."""
    return f"Results for: {query}"


async def single_run(_: Path) -> str:
    agent = make_agent(
        Model.scripted([ToolCall("search_docs", {"query": "layout"}), "It has a kernel."]), tools=[search_docs]
    )
    result = await agent.run("Summarize this repository")
    assert (result.status, result.output) == ("completed", "It has a kernel.")
    return await family_trace(agent, result)


async def generator_evaluator(_: Path) -> str:
    model = Model.scripted(["Draft.", "FAIL: name the release date", "Draft, released on 1 May.", "PASS"])
    agent = make_agent(model, runtime=Runtime(harness=Harness.generator_evaluator()))
    result = await agent.run(RuntimeTask(goal="Write the release note", criteria=["names the release date"]))
    assert (result.status, result.output) == ("completed", "Draft, released on 1 May.")
    model.assert_all_used()
    return await family_trace(agent, result)


async def best_of_n(_: Path) -> str:
    lanes = {"candidate-0": ["short"], "candidate-1": ["the longest answer"], "candidate-2": ["medium one"]}
    agent = make_agent(Model.scripted([], lanes=lanes), runtime=Runtime(harness=Harness.best_of_n(3, scorer=len)))
    result = await agent.run("Name the project")
    assert (result.status, result.output, result.state.selected) == ("completed", "the longest answer", "candidate-1")
    children = [(c["id"], c["run_id"]) for c in result.state.candidates]
    return await family_trace(agent, result, children)


async def human_gate(tmp: Path) -> str:
    db = tmp / "gate.db"

    def agent() -> Agent:  # a new Agent object per process "restart", on the same SQLite file
        model = Model.scripted(["Draft one.", "Draft two, with the changelog."])
        return Agent(model, runtime=Runtime(harness=Harness.human_gate()), checkpoint_store=db, ids=sequential_ids())

    first = agent()
    waiting = await first.run("Write the release note")
    assert waiting.status == "interrupted"
    await first.close()
    second = agent()
    again = await second.resume(waiting.run_id, {"reject": "add the changelog"})
    assert (again.status, again.interrupt.kind if again.interrupt else None) == ("interrupted", "review")
    await second.close()
    third = agent()
    result = await third.resume(waiting.run_id, "approve")
    assert (result.status, result.output) == ("completed", "Draft two, with the changelog.")
    text = await family_trace(third, result)
    await third.close()
    return text


async def custom(_: Path) -> str:
    model = Model.scripted(["PASS"], lanes={"attempt-0": ["Release 1.2 is ready."]})
    runtime = Runtime.long_running(
        criteria=["tests stay green"], harness=Harness.custom(choose_best, name="release-review")
    )
    agent = make_agent(model, runtime=runtime)
    result = await agent.run("Prepare the release")
    assert result.status == "completed"
    assert result.output == "Release 1.2 is ready.\n\nChecked against release criteria."
    model.assert_all_used()
    spawn = next(r for r in result.records if r.node_path == "harness/custom")
    child = f"{result.run_id}/harness/custom@{spawn.visit}/attempt-0"
    return await family_trace(agent, result, [("attempt-0", child)])


async def orchestrated(_: Path) -> str:
    lanes = {"step-s1": ["The API has 12 routes."], "step-s2": ["The CLI has 4 verbs."]}
    model = Model.scripted([PLAN, "12 routes and 4 verbs."], lanes=lanes)
    agent = make_agent(model, orchestration=True)
    result = await agent.run("Survey the project")
    assert (result.status, result.output) == ("completed", "12 routes and 4 verbs.")
    model.assert_all_used()
    children = [(f"step-{c['id']}", c["run_id"]) for c in result.state.candidates]
    return await family_trace(agent, result, children)


async def delegation(_: Path) -> str:
    calls = [ToolCall("delegate", {"task": "Count the routes"}), ToolCall("delegate", {"task": "Count the verbs"})]
    lanes = {"delegate-0": ["12 routes"], "delegate-1": ["4 verbs"]}
    model = ProbeModel([calls, "12 routes and 4 verbs."], lanes=lanes)
    agent = make_agent(model, runtime=Runtime.autonomous(max_depth=1))
    result = await agent.run("Survey the project")
    assert (result.status, result.output) == ("completed", "12 routes and 4 verbs.")
    spawn = next(r for r in result.records if r.node_path == "harness/delegation")
    children = [(f"delegate-{k}", f"{result.run_id}/harness/delegation@{spawn.visit}/delegate-{k}") for k in range(2)]
    return await family_trace(agent, result, children)


SCENARIOS: dict[str, Callable[[Path], Awaitable[str]]] = {
    "single_run": single_run,
    "generator_evaluator": generator_evaluator,
    "best_of_n": best_of_n,
    "human_gate": human_gate,
    "custom": custom,
    "orchestrated": orchestrated,
    "delegation": delegation,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_each_harness_has_a_golden_deterministic_trace(name: str, tmp_path: Path, snapshot: Any) -> None:
    scenario = SCENARIOS[name]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = await scenario(tmp_path / "a")
    second = await scenario(tmp_path / "b")
    assert first == second  # no ids, timestamps or durations in a trace
    assert "run-" not in first
    assert first == snapshot


HARNESSES: dict[str, Callable[[], Runtime]] = {
    "single_run": Runtime.sdk,
    "generator_evaluator": lambda: Runtime(harness=Harness.generator_evaluator()),
    "best_of_n": lambda: Runtime(harness=Harness.best_of_n(3, scorer=len)),
    "human_gate": lambda: Runtime(harness=Harness.human_gate()),
    "custom": lambda: Runtime(harness=Harness.custom(choose_best, name="release-review")),
    "orchestrated": lambda: Runtime(harness=Harness.orchestrated()),
}


@pytest.mark.parametrize("name", list(HARNESSES))
def test_each_harness_has_a_mermaid_structure_snapshot(name: str, snapshot: Any) -> None:
    agent = Agent(Model.scripted([]), runtime=HARNESSES[name](), checkpoint_store=MemoryStore())
    drawn = agent.graph.to_mermaid()
    label = "release-review" if name == "custom" else name
    assert f'subgraph c_harness["harness: {label}"]' in drawn
    assert drawn == snapshot
