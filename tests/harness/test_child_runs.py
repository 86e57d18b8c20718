"""Child runs at their edges: a second approval inside a child, cancelling the parent, answering a child on
itself, a session's signals, plans whose step ids repeat, and drawing a parent with its child."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from loomflow import Agent, DelegationPolicy, Harness, MemoryStore, Model, Runtime, RuntimeSignal, sequential_ids, tool
from loomflow.agent.delegation import Plan
from loomflow.cli import main
from loomflow.messages import ToolCall


def writer(effects: list[str]) -> object:
    @tool(description="write something", require_approval=True)
    def write(text: str) -> str:
        effects.append(text)
        return "ok"

    return write


def best_of_one(db: Path, effects: list[str], script: list[object]) -> Agent:
    return Agent(
        Model.scripted([], lanes={"candidate-0": script}),
        tools=[writer(effects)],
        runtime=Runtime(harness=Harness.best_of_n(1, scorer=len)),
        checkpoint_store=db,
        ids=sequential_ids(),
    )


async def test_a_child_that_asks_twice_is_answered_twice_through_its_parent(tmp_path: Path) -> None:
    effects: list[str] = []
    script = [ToolCall("write", {"text": "a"}), ToolCall("write", {"text": "b"}), "done"]
    agent = best_of_one(tmp_path / "r.db", effects, script)
    first = await agent.run("go")
    second = await agent.resume(first.run_id, "approve")
    assert second.status == "interrupted", second.error  # the child's second approval, surfaced again

    done = await agent.resume(first.run_id, "approve")  # the first answer is not passed to the child again

    assert (done.status, done.output, effects) == ("completed", "done", ["a", "b"])


async def test_a_child_can_be_answered_on_itself(tmp_path: Path) -> None:
    effects: list[str] = []
    agent = best_of_one(tmp_path / "r.db", effects, [ToolCall("write", {"text": "a"}), "done"])
    parent = await agent.run("go")
    child = parent.interrupts[0].payload["child_run"]

    answered = await agent.resume(child, "approve")  # on the graph the child ran, not the parent's

    assert (answered.status, effects) == ("completed", ["a"])
    assert (await agent.resume(parent.run_id)).output == "done"  # the parent picks the finished child up


async def test_cancelling_a_parent_cancels_its_children(tmp_path: Path) -> None:
    effects: list[str] = []
    agent = best_of_one(tmp_path / "r.db", effects, [ToolCall("write", {"text": "a"}), "done"])
    parent = await agent.run("go")  # waits on its child's approval
    child = parent.interrupts[0].payload["child_run"]

    await agent.cancel(parent.run_id)

    assert (await agent.result(parent.run_id)).status == "cancelled"
    assert (await agent.result(child)).status == "cancelled"  # its approval can no longer run the tool
    assert effects == []


async def test_cancelling_a_parent_while_its_children_run_cancels_them(tmp_path: Path) -> None:
    running = asyncio.Event()
    agent = Agent(
        Model.scripted([], lanes={"candidate-0": ["x"], "candidate-1": ["y"]}),
        runtime=Runtime(harness=Harness.best_of_n(2, scorer=len)),
        checkpoint_store=tmp_path / "r.db",
        ids=sequential_ids(),
    )
    answer = agent.model.request

    async def hangs(request):  # type: ignore[no-untyped-def]
        if request.metadata.get("lane"):
            running.set()
            await asyncio.sleep(3600)
        return await answer(request)

    agent.model.request = hangs  # type: ignore[method-assign]
    task = asyncio.create_task(agent.run("go", run_id="p"))
    await running.wait()

    await agent.cancel("p")

    assert (await task).status == "cancelled"
    for k in range(2):
        assert (await agent.result(f"p/harness/candidates@2/candidate-{k}")).status == "cancelled"


async def test_a_child_run_leaves_the_sessions_signals_to_the_sessions_runs(tmp_path: Path) -> None:
    @tool(description="act", require_approval=True)
    def act(x: str) -> str:
        return "acted"

    script = [ToolCall("act", {"x": "1"}), ToolCall("delegate", {"task": "sub task"}), "parent done", "next done"]
    agent = Agent(
        Model.scripted(script, lanes={"delegate-0": ["child done"]}),
        tools=[act],
        runtime=Runtime(delegation=DelegationPolicy.depth_limited(1)),
        checkpoint_store=tmp_path / "s.db",
        ids=sequential_ids(),
    )
    session = agent.session("S")
    await session.run("task P", run_id="P")  # waits for approval
    await session.receive(RuntimeSignal.create("deploy finished"))
    parent = await agent.resume("P", "approve")  # delegates: the child's intake must not take the signal
    assert parent.status == "completed", parent.error

    following = await session.run("task R", run_id="R")

    assert [s["summary"] for s in following.state.signals] == ["deploy finished"]


def test_a_plan_whose_step_ids_repeat_is_refused() -> None:
    steps = [{"id": "s1", "task": "list the models"}, {"id": "s1", "task": "count the routes"}]
    with pytest.raises(ValidationError, match="step ids must be unique; 's1' is used more than once"):
        Plan.model_validate({"steps": steps})


def test_drawing_a_parent_beside_its_child_says_to_draw_them_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def waiting_parent() -> tuple[str, str]:
        agent = best_of_one(tmp_path / "r.db", [], [ToolCall("write", {"text": "a"}), "done"])
        parent = await agent.run("go")
        await agent.close()
        return parent.run_id, parent.interrupts[0].payload["child_run"]

    parent, child = asyncio.run(waiting_parent())  # the CLI runs its own event loop

    code = main(["--db", str(tmp_path / "r.db"), "draw", parent, child, "--format", "txt"])

    err = capsys.readouterr().err
    assert code == 2
    assert "runs of different graphs cannot share a picture" in err
    assert "draw them one at a time" in err


async def test_when_every_candidate_fails_the_error_says_how_to_run_new_ones() -> None:
    down = True

    def flaky(request: object) -> str:
        if down:
            raise RuntimeError("provider down")
        return "recovered answer"

    agent = Agent(
        Model.scripted([], lanes={"candidate-0": [flaky], "candidate-1": [flaky]}),
        runtime=Runtime(harness=Harness.best_of_n(2, scorer=len)),
        ids=sequential_ids(),
        checkpoint_store=MemoryStore(),
    )
    failed = await agent.run("go")
    assert failed.status == "failed"
    assert failed.error is not None
    assert "resume(run_id, at='harness/candidates') runs new candidates" in failed.error
    down = False

    again = await agent.resume(failed.run_id, at="harness/candidates")

    assert (again.status, again.output) == ("completed", "recovered answer")


async def test_a_run_with_child_runs_replays_from_its_recordings() -> None:
    lanes = {"candidate-0": ["short"], "candidate-1": ["the longest answer"], "candidate-2": ["medium one"]}
    agent = Agent(
        Model.scripted([], lanes=lanes),
        runtime=Runtime(harness=Harness.best_of_n(3, scorer=len)),
        checkpoint_store=MemoryStore(),
    )
    original = await agent.run("Name the project")
    asked: list[object] = []
    answer = agent.model.request

    async def counted(request):  # type: ignore[no-untyped-def]
        asked.append(request)
        return await answer(request)

    agent.model.request = counted  # type: ignore[method-assign]

    replayed = await agent.replay(original.run_id)

    assert (replayed.status, replayed.output) == ("completed", "the longest answer"), replayed.error
    assert asked == []  # every candidate's model call was served from its recording
    assert [c["content"] for c in replayed.state.candidates] == ["short", "the longest answer", "medium one"]
