"""Custom harnesses: the seed README's ``choose_best`` function (``Harness.custom``), and a user's own
subgraph (``Harness.subgraph``) built from the built-in loop plus a node of the user's — paused, resumed
from a new Agent on the same SQLite file, rewound to a step inside the harness; and a generator/evaluator
run forked at its evaluator step with a changed criterion."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from harness_helpers import GUARD, JUDGE, ProbeModel, choose_best, make_agent, text_of

# The README imports these from the top level; they are re-exported there.
from loomflow import (
    END,
    Agent,
    AgentState,
    Graph,
    Harness,
    HarnessOutcome,
    HarnessRequest,
    Message,
    Runtime,
    RuntimeTask,
    State,
    Update,
    node,
    sequential_ids,
)
from loomflow.graphs._loop import loop
from loomflow.nodes import quality_gate
from loomflow.nodes._common import Ctx
from loomflow.outcomes import Pause


async def test_the_readme_custom_harness_works_as_written() -> None:
    runtime = Runtime.long_running(
        criteria=["tests stay green"], harness=Harness.custom(choose_best, name="release-review")
    )
    # the attempt (a child run, lane attempt-0) answers; the quality gate's judge (the agent's model) passes
    model = ProbeModel(["PASS"], lanes={"attempt-0": ["Release 1.2 is ready."]})
    agent = make_agent(model, runtime=runtime)
    result = await agent.run(RuntimeTask(goal="Prepare the release", criteria=["the changelog is complete"]))

    assert result.status == "completed"
    assert result.output == "Release 1.2 is ready.\n\nChecked against release criteria."
    assert result.state.selected == "expanded"
    assert [(c["id"], c["score"], c["rationale"]) for c in result.state.candidates] == [
        ("baseline", 0.4, "raw runtime output"),
        ("expanded", 0.9, "application-specific evaluator preferred this candidate"),
    ]
    assert result.state.verdict == {"passed": True, "critique": ""}
    assert 'subgraph c_harness["harness: release-review"]' in agent.graph.to_mermaid()
    # the gate judged the function's chosen output against the preset's criteria and the task's
    (judge,) = model.judged()
    assert "Checked against release criteria." in judge.messages[-1].text
    assert "- tests stay green" in judge.messages[-1].text
    assert "- the changelog is complete" in judge.messages[-1].text
    # run_once() was a child run of this run, with its own checkpointed steps
    spawn = next(r for r in result.records if r.node_path == "harness/custom")
    child_id = f"{result.run_id}/harness/custom@{spawn.visit}/attempt-0"
    child = await agent.interpreter.get_run(child_id)
    assert (child.parent_run, child.parent_step, child.status) == (result.run_id, spawn.step, "completed")
    assert [r.node_path for r in await agent.history(child_id)][-2:] == ["harness/quality_gate", "finalize"]


async def test_run_once_attempts_are_read_back_when_the_custom_step_runs_again(tmp_path: Path) -> None:
    async def two_attempts(request: HarnessRequest) -> HarnessOutcome:
        first = await request.run_once()
        second = await request.run_once("Be more specific.")
        return HarnessOutcome(output=f"{first['output']} / {second['output']}")

    db = tmp_path / "runs.db"
    runtime = Runtime(harness=Harness.custom(two_attempts))
    lanes = {"attempt-0": ["first try"], "attempt-1": ["second try"]}
    cut = ProbeModel([], lanes=lanes, block=["attempt-1"])
    agent = Agent(cut, runtime=runtime, checkpoint_store=db, ids=sequential_ids())
    task = asyncio.create_task(agent.run("Name it"))
    await asyncio.wait_for(cut.blocked.wait(), GUARD)  # attempt-0 is done, attempt-1 is mid-call
    task.cancel()  # the process "dies"
    with pytest.raises(asyncio.CancelledError):
        await task
    await agent.close()

    fresh = ProbeModel([], lanes=lanes)
    again = Agent(fresh, runtime=runtime, checkpoint_store=db, ids=sequential_ids())
    # a model call cut off by the crash is simply sent again (model calls are idempotent)
    result = await again.resume("run-1")
    assert (result.status, result.output) == ("completed", "first try / second try")
    assert fresh.lanes() == {"attempt-1": 1}  # attempt-0 was read back, not asked again
    assert "Be more specific." in text_of(fresh.sent("attempt-1")[0])
    await again.close()


# ---------------------------------------------------------------- a user's own harness subgraph


@node(interrupts=True, routes=("accept", "redo"))
async def checker(ctx: Ctx) -> Update | Pause:
    """The user's node: a person checks every answer; ``"redo"`` sends it back to the model."""
    if not ctx.answered("check"):
        return ctx.interrupt("check", prompt=f"Is this right? {ctx.state.output}", allowed=("ok", "redo"))
    if ctx.answer("check") == "ok":
        return Update({"verdict": {"passed": True, "critique": "checked by hand"}}, route="accept")
    return Update({"messages": [Message.user("The checker says: redo it with numbers.")]}, route="redo")


def checked_loop() -> Graph[AgentState]:
    nodes, edges = loop("checker")
    return Graph(
        "checked_loop",
        state=AgentState,
        nodes=[*nodes, checker, quality_gate],
        edges=[
            *edges,
            ("checker", "quality_gate", "accept"),
            ("checker", "context_build", "redo"),
            ("quality_gate", END, "pass"),
            ("quality_gate", "context_build", "retry"),
        ],
        start="context_build",
    )


def checked_agent(db: Path, model: ProbeModel) -> Agent:
    runtime = Runtime(harness=Harness.subgraph(checked_loop()))
    return Agent(model, runtime=runtime, checkpoint_store=db, ids=sequential_ids())


async def test_a_user_subgraph_harness_pauses_and_resumes_from_a_new_agent(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    script = ["About a dozen.", "Exactly 12."]
    first = checked_agent(db, ProbeModel(script))
    assert 'subgraph c_harness["harness: checked_loop"]' in first.graph.to_mermaid()
    waiting = await first.run("How many routes?")
    assert waiting.status == "interrupted"
    assert waiting.interrupt is not None
    assert (waiting.interrupt.node_path, waiting.interrupt.kind) == ("harness/checker", "input")
    assert "About a dozen." in waiting.interrupt.prompt
    await first.close()

    model = ProbeModel(script)
    second = checked_agent(db, model)  # a "restarted process": nothing in memory, the same file
    again = await second.resume(waiting.run_id, "redo")
    assert again.status == "interrupted"
    assert "redo it with numbers" in model.requests[-1].messages[-1].text
    done = await second.resume(waiting.run_id, "ok")
    assert (done.status, done.output) == ("completed", "Exactly 12.")
    assert done.state.verdict == {"passed": True, "critique": "checked by hand"}
    assert [s.node for s in done.trace.steps].count("harness/checker") == 4  # two pauses, two answers
    assert len(model.requests) == 1  # the first answer came from the journal, not the model
    await second.close()


@pytest.mark.parametrize("at", ["harness/model_call", 3])
async def test_a_user_subgraph_run_rewinds_to_a_checkpointed_step_inside_the_harness(
    tmp_path: Path, at: str | int
) -> None:
    model = ProbeModel(["About a dozen."])
    agent = checked_agent(tmp_path / "runs.db", model)
    waiting = await agent.run("How many routes?")
    assert waiting.status == "interrupted"

    rewound = await agent.resume(waiting.run_id, at=at)  # model_call (step 3) runs again on its old state
    assert rewound.status == "interrupted"
    assert len(model.requests) == 2  # the model was asked again
    history = await agent.history(waiting.run_id)
    assert [(r.step, r.node_path, r.superseded) for r in history] == [
        (1, "intake", False),
        (2, "harness/context_build", False),
        (3, "harness/model_call", True),
        (4, "harness/checker", True),
        (5, "harness/model_call", False),
        (6, "harness/checker", False),
    ]
    done = await agent.resume(waiting.run_id, "ok")
    assert (done.status, done.output) == ("completed", "About a dozen.")
    assert [s.step for s in done.trace.steps] == [1, 2, 5, 6, 7, 8, 9]
    await agent.close()


async def test_subgraph_needs_a_graph_over_agent_state() -> None:
    class Other(State):
        n: int = 0

    @node
    async def noop(ctx: object) -> Update:
        return Update()

    graph = Graph("other", state=Other, nodes=[noop], edges=[("noop", END)], start="noop")
    with pytest.raises(TypeError, match="AgentState"):
        Harness.subgraph(graph)  # type: ignore[arg-type]


# ---------------------------------------------------------------- fork at the evaluator step


async def test_a_fork_at_the_evaluator_step_judges_again_with_a_changed_criterion() -> None:
    def judge_by_criteria(request: object) -> str:
        text = request.messages[-1].text  # type: ignore[attr-defined]
        return "FAIL: cite the source" if "cites a source" in text else "PASS"

    script = [
        "Draft.",
        "FAIL: too short",
        "A longer draft.",
        judge_by_criteria,
        "A longer draft (see RFC 9110).",
        "PASS",
    ]
    model = ProbeModel(script)
    agent = make_agent(model, runtime=Runtime(harness=Harness.generator_evaluator()))
    original = await agent.run(RuntimeTask(goal="Explain caching", criteria=["is long"]))
    assert (original.status, original.output) == ("completed", "A longer draft.")
    before = await agent.history(original.run_id)
    evaluate_steps = [r.step for r in original.records if r.node_path == "harness/evaluate"]
    assert len(evaluate_steps) == 2
    with pytest.raises(Exception, match="at steps 4, 7"):
        await agent.fork(original.run_id, at="harness/evaluate")  # names two steps: ambiguous

    asked = len(model.requests)
    new_task = RuntimeTask(goal="Explain caching", criteria=["is long", "cites a source"])
    forked = await agent.fork(original.run_id, at=evaluate_steps[-1], update={"task": new_task})

    rejudged = model.requests[asked]
    assert JUDGE in rejudged.messages[0].text
    assert "- cites a source" in rejudged.messages[-1].text
    assert "A longer draft." in rejudged.messages[-1].text
    assert (forked.status, forked.output) == ("completed", "A longer draft (see RFC 9110).")
    assert forked.run_id != original.run_id
    assert (await agent.interpreter.get_run(forked.run_id)).parent_run == original.run_id
    assert "cite the source" in text_of(model.requests[asked + 1])  # the critique went to the generator
    # the original run is untouched
    after = await agent.result(original.run_id)
    assert after.state.task is not None
    assert (after.status, after.output, after.state.task.criteria) == ("completed", "A longer draft.", ("is long",))
    assert await agent.history(original.run_id) == before
