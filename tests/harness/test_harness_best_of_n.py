"""best_of_n: N candidates are child runs (own ids, ``parent_run`` = the run, own history), generated
concurrently up to the harness's cap, every one kept in ``state.candidates`` with its score, the best one
selected; a paused or crashed parent re-attaches to its finished candidates instead of asking again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from harness_helpers import GUARD, ProbeModel, children_of, make_agent

from loomflow import Agent, Ask, Harness, ModelRequest, Runtime, sequential_ids

LANES = {"candidate-0": ["short"], "candidate-1": ["the longest answer"], "candidate-2": ["medium one"]}


async def test_candidates_are_child_runs_scored_and_all_kept() -> None:
    model = ProbeModel([], lanes=LANES)
    agent = make_agent(model, runtime=Runtime(harness=Harness.best_of_n(3, scorer=len)))
    result = await agent.run("Name the project")

    assert (result.status, result.output, result.state.selected) == ("completed", "the longest answer", "candidate-1")
    assert [(c["id"], c["content"], c["status"], c["score"]) for c in result.state.candidates] == [
        ("candidate-0", "short", "completed", 5.0),
        ("candidate-1", "the longest answer", "completed", 18.0),
        ("candidate-2", "medium one", "completed", 10.0),
    ]
    spawn = next(r for r in result.records if r.node_path == "harness/candidates")
    ids = children_of(result)
    assert len(set(ids)) == 3
    assert result.run_id not in ids
    for child_id in ids:
        child = await agent.interpreter.get_run(child_id)
        assert (child.parent_run, child.parent_step, child.kind) == (result.run_id, spawn.step, "child")
        steps = [r.node_path for r in await agent.history(child_id)]
        assert steps == ["intake", "harness/context_build", "harness/model_call", "harness/quality_gate", "finalize"]
    assert model.lanes() == {"candidate-0": 1, "candidate-1": 1, "candidate-2": 1}
    # the parent's own history has no candidate steps: they live in the child runs
    assert [s.node for s in result.trace.steps] == [
        "intake",
        "harness/candidates",
        "harness/select",
        "harness/quality_gate",
        "finalize",
    ]


async def test_a_failed_candidate_is_kept_and_the_best_completed_one_wins() -> None:
    def down(request: ModelRequest) -> str:
        raise RuntimeError("provider down")

    lanes: dict[str, list[Any]] = {**LANES, "candidate-1": [down]}
    agent = make_agent(ProbeModel([], lanes=lanes), runtime=Runtime(harness=Harness.best_of_n(3, scorer=len)))
    result = await agent.run("Name the project")

    assert (result.status, result.output, result.state.selected) == ("completed", "medium one", "candidate-2")
    failed = result.state.candidates[1]
    assert (failed["status"], failed["score"]) == ("failed", None)
    assert "provider down" in failed["error"]


async def test_without_a_scorer_the_model_rates_each_candidate() -> None:
    model = ProbeModel(["3", "9", "5"], lanes=LANES)  # the run's own calls 0-2 are the ratings
    agent = make_agent(model, runtime=Runtime(harness=Harness.best_of_n(3)))
    result = await agent.run("Name the project")

    assert (result.output, result.state.selected) == ("the longest answer", "candidate-1")
    assert [c["score"] for c in result.state.candidates] == [3.0, 9.0, 5.0]
    ratings = model.sent(None)
    assert [r.messages[-1].text.rsplit("\n", 1)[-1] for r in ratings] == ["short", "the longest answer", "medium one"]


@pytest.mark.parametrize(("n", "cap"), [(4, 2), (3, 3)])
async def test_candidates_run_concurrently_up_to_the_cap(n: int, cap: int) -> None:
    lanes = {f"candidate-{k}": ["x" * (k + 1)] for k in range(n)}
    model = ProbeModel([], lanes=lanes, hold=cap)  # the first `cap` requests wait for each other
    agent = make_agent(model, runtime=Runtime(harness=Harness.best_of_n(n, scorer=len, concurrency=cap)))
    result = await agent.run("Name the project")

    assert result.status == "completed"
    assert model.peak == cap
    assert sum(model.lanes().values()) == n


def _pause_third(run_id: str, **_: Any) -> Ask | None:
    return Ask("May candidate-2 ask the model?") if run_id.endswith("/candidate-2") else None


def _agent(db: Path, model: ProbeModel) -> Agent:
    agent = Agent(
        model,
        runtime=Runtime(harness=Harness.best_of_n(3, scorer=len)),
        checkpoint_store=db,
        ids=sequential_ids(),
    )
    agent.on("before_llm", _pause_third)
    return agent


async def test_a_paused_candidate_pauses_the_parent_and_finished_ones_are_not_rerun(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    first_model = ProbeModel([], lanes=LANES)
    first = _agent(db, first_model)
    waiting = await first.run("Name the project")
    assert waiting.status == "interrupted"
    (intr,) = waiting.interrupts
    child_id = f"{waiting.run_id}/harness/candidates@2/candidate-2"
    assert intr.id.startswith(f"{child_id}::")  # the child's interrupt, re-keyed for the parent
    assert (intr.kind, intr.node_path) == ("approval", "harness/candidates")
    assert first_model.lanes() == {"candidate-0": 1, "candidate-1": 1}
    await first.close()

    model = ProbeModel([], lanes=LANES)
    second = _agent(db, model)  # a new process on the same file answers the child's interrupt
    result = await second.resume(waiting.run_id, "approve")
    assert (result.status, result.output) == ("completed", "the longest answer")
    assert model.lanes() == {"candidate-2": 1}  # finished candidates were read back, not asked again
    assert (await second.interpreter.get_run(child_id)).status == "completed"
    assert [c["status"] for c in result.state.candidates] == ["completed"] * 3
    await second.close()


async def test_a_crashed_parent_reattaches_to_finished_candidates(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    runtime = Runtime(harness=Harness.best_of_n(3, scorer=len))
    cut = ProbeModel([], lanes=LANES, block=["candidate-2"])
    doomed = Agent(cut, runtime=runtime, checkpoint_store=db, ids=sequential_ids())
    finished: list[str] = []
    both_done = asyncio.Event()

    def on_finished(run_id: str, **_: Any) -> None:
        finished.append(run_id)
        if len(finished) == 2:
            both_done.set()

    doomed.on("after_run", on_finished)
    task = asyncio.create_task(doomed.run("Name the project"))
    await asyncio.wait_for(asyncio.gather(cut.blocked.wait(), both_done.wait()), GUARD)
    assert sorted(f.rsplit("/", 1)[-1] for f in finished) == ["candidate-0", "candidate-1"]
    task.cancel()  # the process dies while candidate-2's model call is in flight
    with pytest.raises(asyncio.CancelledError):
        await task
    await doomed.close()

    model = ProbeModel([], lanes=LANES)
    again = Agent(model, runtime=runtime, checkpoint_store=db, ids=sequential_ids())
    statuses = {}
    for k in range(3):
        run = await again.interpreter.store.get_run(f"run-1/harness/candidates@2/candidate-{k}")
        statuses[k] = run.status if run else None
    assert statuses == {0: "completed", 1: "completed", 2: "running"}
    # candidate-2's model call, cut off by the crash, is sent again (model calls are idempotent)
    result = await again.resume("run-1")
    assert (result.status, result.output) == ("completed", "the longest answer")
    assert model.lanes() == {"candidate-2": 1}
    await again.close()
