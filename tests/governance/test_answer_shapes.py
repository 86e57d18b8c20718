"""Answers to the built-in interrupts are checked for their exact shape before anything is stored: a wrong
shape is refused with the accepted forms, the run keeps waiting, and a right answer then goes through."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent, result_texts

from loomflow import Harness, Model, RunError, Runtime, ToolCall, tool


@pytest.mark.parametrize("bad", ["arguments", {"approve": True}, {"arguments": "staging"}, {"deny": None}, {}])
async def test_an_approval_answer_of_the_wrong_shape_is_refused_and_the_run_keeps_waiting(bad: Any) -> None:
    ran: list[str] = []

    @tool(require_approval=True)
    def deploy(env: str) -> str:
        """Deploy the service."""
        ran.append(env)
        return f"deployed to {env}"

    agent = make_agent(RecordingModel([[ToolCall("deploy", {"env": "prod"}, id="d1")], "done"]), tools=[deploy])
    paused = await agent.run("ship")
    assert paused.status == "interrupted"

    with pytest.raises(
        RunError, match=r"accepts 'approve', 'deny' or \{'deny': 'reason'\}, \{'arguments': \{\.\.\.\}\}"
    ):
        await agent.resume(paused.run_id, bad)
    assert (await agent.result(paused.run_id)).status == "interrupted"  # nothing was changed

    done = await agent.resume(paused.run_id, {"arguments": {"env": "staging"}})
    assert done.status == "completed", done.error
    assert (ran, result_texts(done.state.messages)) == (["staging"], {"d1": "deployed to staging"})


@pytest.mark.parametrize("bad", [{"approve": True}, {"reject": None}, "maybe"])
async def test_a_review_answer_of_the_wrong_shape_is_refused_and_the_run_keeps_waiting(bad: Any) -> None:
    agent = make_agent(Model.scripted(["Draft."]), runtime=Runtime(harness=Harness.human_gate()))
    paused = await agent.run("Write the note")
    assert paused.interrupt is not None
    assert paused.interrupt.kind == "review"

    with pytest.raises(RunError, match=r"accepts 'approve', 'reject' or \{'reject': 'note'\}"):
        await agent.resume(paused.run_id, bad)

    done = await agent.resume(paused.run_id, "approve")
    assert (done.status, done.output) == ("completed", "Draft.")
