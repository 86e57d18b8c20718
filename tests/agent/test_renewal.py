"""Renewal: past the hard threshold the context restarts after a handoff summary the model is shown,
without losing any of the run's history."""

from __future__ import annotations

from typing import Any

from agent_helpers import (
    RecordingModel,
    is_summary_request,
    make_agent,
    pairing_problems,
    roles_and_texts,
    system_text,
)

from loomflow import ContextProtocol, ContinuityPolicy, ModelRequest, Runtime, ToolCall, tool


@tool(read_only=True)
def read_log(day: int) -> str:
    """Read a day's log."""
    return f"log of day {day}: " + "entry " * 700


def _script(days: int) -> list[Any]:
    return [*(ToolCall("read_log", {"day": d}) for d in range(days)), "The logs show steady growth."]


async def test_hard_pressure_renews_with_a_handoff_the_model_is_shown() -> None:
    model = RecordingModel(_script(2))
    compactions: list[dict[str, Any]] = []
    agent = make_agent(model, tools=[read_log], runtime=Runtime(context=ContextProtocol.manager(max_tokens=1200)))
    agent.on("on_context_compact", lambda **event: compactions.append(event))

    handle = agent.start("Summarise the logs")
    events = [e async for e in handle.events()]
    result = await handle.wait()

    assert result.status == "completed", result.error
    assert result.state.renewals == 2
    assert [c["strategy"] for c in compactions] == ["renew", "renew"]
    compacted = [e.data for e in events if e.kind == "context_compacted"]
    assert [c["strategy"] for c in compacted] == ["renew", "renew"]
    assert all(c["after"] < c["before"] for c in compacted)

    first, second, third = model.requests
    assert "Handoff" not in system_text(first)
    for request, days in ((second, [0]), (third, [0, 1])):
        system = system_text(request)
        assert "Handoff" in system
        assert "Goal: Summarise the logs" in system
        for day in days:
            assert f"read_log({{'day': {day}}})" in system
        shown = [m for m in request.messages if m.role != "system"]
        assert not any("log of day" in p.content for m in shown for p in m.tool_results), "the view restarted"
    assert "Earlier:" in system_text(third)  # the second handoff carries the first one forward

    # Nothing was lost: the run's messages keep the whole pre-renewal history.
    messages = result.state.messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert messages[0].text == "Summarise the logs"
    assert messages[2].tool_results[0].content.startswith("log of day 0: entry entry")
    assert pairing_problems(messages) == []
    assert result.state.window_start == 5


async def test_the_pre_renewal_state_stays_in_the_checkpoint_history() -> None:
    model = RecordingModel(_script(1))
    agent = make_agent(model, tools=[read_log], runtime=Runtime(context=ContextProtocol.manager(max_tokens=1200)))
    result = await agent.run("Summarise the logs")

    steps = [(r.step, r.node_path) for r in await agent.history(result.run_id)]
    renewal_step = next(step for step, path in steps if path == "harness/renewal")
    before = await agent.state(result.run_id, at=renewal_step - 1)
    after = await agent.state(result.run_id, at=renewal_step)
    assert (before.window_start, before.handoff, before.renewals) == (0, "", 0)
    assert after.window_start == 3
    assert after.renewals == 1
    assert "Goal: Summarise the logs" in after.handoff
    assert after.messages == before.messages


async def test_a_model_written_handoff() -> None:
    def respond(request: ModelRequest) -> Any:
        if is_summary_request(request):
            assert "log of day 0" in request.messages[1].text  # the model summarises the run's own record
            return "Day 0 looked fine."
        return "unused"

    model = RecordingModel([ToolCall("read_log", {"day": 0}), respond, "All good."])
    runtime = Runtime(
        context=ContextProtocol.manager(max_tokens=1200), continuity=ContinuityPolicy.handoff(summarizer="model")
    )
    result = await make_agent(model, tools=[read_log], runtime=runtime).run("Summarise the logs")

    assert result.status == "completed", result.error
    assert result.output == "All good."
    summaries = [r for r in model.requests if is_summary_request(r)]
    assert len(summaries) == 1
    assert "Handoff (the context was renewed; this is the work so far):\nDay 0 looked fine." in system_text(
        model.requests[-1]
    )
    assert result.state.iterations == 3  # the summary is a model call like any other


async def test_a_restored_transcript_too_big_for_the_budget_is_restored_in_part() -> None:
    def answer(request: ModelRequest) -> str:
        return "long answer " * 150

    model = RecordingModel([answer] * 4)
    runtime = Runtime(context=ContextProtocol.manager(max_tokens=1000))
    session = make_agent(model, runtime=runtime).session("s")
    for prompt in ("Q1", "Q2", "Q3"):
        assert (await session.run(prompt)).status == "completed"
    third = await session.run("Q4")

    conversation = [rt for rt in roles_and_texts(model.requests[3]) if rt[0] != "system"]
    assert conversation[-1] == ("user", "Q4")
    assert 0 < third.state.restored < 6, "the oldest restored turns were left out, the newest kept"
    assert conversation[-2] == ("assistant", "long answer " * 150)
    assert len(conversation) == third.state.restored + 1
