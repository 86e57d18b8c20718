"""Hooks and approvals: ``before_*`` hooks observe, ``Deny`` or ``Ask``; ``after_*`` hooks observe; tools
declared ``require_approval`` pause the run at ``governance`` until someone answers."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent, result_texts

from loomflow import Agent, Ask, ContextProtocol, Deny, RunError, Runtime, ToolCall, tool
from loomflow.tools import Tool


def _tools(calls: list[tuple[str, str]]) -> list[Tool]:
    @tool
    def echo(text: str) -> str:
        """Echo the text."""
        calls.append(("echo", text))
        return f"echo: {text}"

    @tool(destructive=True, require_approval=True)
    def delete(path: str) -> str:
        """Delete a file (needs approval)."""
        calls.append(("delete", path))
        return f"deleted {path}"

    return [echo, delete]


def _agent(calls: list[tuple[str, str]], script: list[Any], **kwargs: Any) -> tuple[Agent, RecordingModel]:
    model = RecordingModel(script)
    return make_agent(model, tools=_tools(calls), **kwargs), model


ECHO = [ToolCall("echo", {"text": "hi"}, id="e1"), "done"]


async def test_before_tool_deny_becomes_the_result_the_model_sees() -> None:
    calls: list[tuple[str, str]] = []
    agent, model = _agent(calls, ECHO)
    agent.on("before_tool", lambda **event: Deny("echo is switched off") if event["tool_name"] == "echo" else None)

    result = await agent.run("go")

    assert result.status == "completed"
    assert calls == []
    assert result_texts(model.requests[1].messages) == {"e1": "denied: echo is switched off"}


async def test_before_tool_ask_pauses_with_an_approval_interrupt() -> None:
    calls: list[tuple[str, str]] = []
    agent, _ = _agent(calls, ECHO)
    agent.on("before_tool", lambda **event: Ask(f"run {event['tool_name']}?"))

    result = await agent.run("go")

    assert result.status == "interrupted"
    assert len(result.interrupts) == 1
    interrupt = result.interrupts[0]
    assert interrupt.kind == "approval"
    assert interrupt.node_path == "harness/governance"
    assert interrupt.prompt == "run echo?"
    assert interrupt.payload == {"tool": "echo", "arguments": {"text": "hi"}, "call_id": "e1"}
    assert set(interrupt.allowed or ()) == {"approve", "deny", "arguments"}
    assert calls == []
    assert (await agent.result(result.run_id)).interrupts == result.interrupts


@pytest.mark.parametrize(
    ("answer", "seen", "ran"),
    [
        ("approve", "echo: hi", [("echo", "hi")]),
        ("deny", "denied: denied by the reviewer", []),
        ({"deny": "not today"}, "denied: not today", []),
        ({"arguments": {"text": "edited"}}, "echo: edited", [("echo", "edited")]),
    ],
)
async def test_answering_an_approval(answer: Any, seen: str, ran: list[tuple[str, str]]) -> None:
    calls: list[tuple[str, str]] = []
    agent, model = _agent(calls, ECHO)
    agent.on("before_tool", lambda **event: Ask())

    paused = await agent.run("go")
    result = await agent.resume(paused.run_id, answer)

    assert result.status == "completed", result.error
    assert calls == ran
    assert result_texts(model.requests[-1].messages) == {"e1": seen}


async def test_an_answer_outside_the_allowed_values_is_refused_and_changes_nothing() -> None:
    agent, _ = _agent([], ECHO)
    agent.on("before_tool", lambda **event: Ask())
    paused = await agent.run("go")
    with pytest.raises(RunError, match="accepts"):
        await agent.resume(paused.run_id, "maybe")
    assert (await agent.result(paused.run_id)).status == "interrupted"
    assert (await agent.resume(paused.run_id, "approve")).status == "completed"


async def test_a_tool_declared_require_approval_pauses() -> None:
    calls: list[tuple[str, str]] = []
    agent, _ = _agent(calls, [ToolCall("delete", {"path": "a.txt"}, id="d1"), "done"])

    paused = await agent.run("clean up")

    assert paused.status == "interrupted"
    assert paused.interrupt is not None
    assert paused.interrupt.kind == "approval"
    assert paused.interrupt.payload["tool"] == "delete"
    assert calls == []
    result = await agent.resume(paused.run_id, "approve")
    assert result.status == "completed"
    assert calls == [("delete", "a.txt")]


async def test_two_approvals_in_one_turn_are_answered_together() -> None:
    calls: list[tuple[str, str]] = []
    turn = [
        ToolCall("delete", {"path": "a"}, id="d1"),
        ToolCall("echo", {"text": "between"}, id="e1"),
        ToolCall("delete", {"path": "b"}, id="d2"),
    ]
    agent, model = _agent(calls, [turn, "done"])

    paused = await agent.run("go")

    assert paused.status == "interrupted"
    assert [i.payload["call_id"] for i in paused.interrupts] == ["d1", "d2"]
    assert paused.interrupt == paused.interrupts[0]
    assert calls == []
    with pytest.raises(RunError, match="values="):
        await agent.resume(paused.run_id, "approve")
    first, second = (i.id for i in paused.interrupts)
    result = await agent.resume(paused.run_id, values={first: "approve", second: {"deny": "keep b"}})

    assert result.status == "completed", result.error
    assert calls == [("delete", "a"), ("echo", "between")]
    assert result_texts(model.requests[-1].messages) == {
        "d1": "deleted a",
        "e1": "echo: between",
        "d2": "denied: keep b",
    }


async def test_answering_one_of_two_approvals_leaves_the_other_waiting() -> None:
    calls: list[tuple[str, str]] = []
    turn = [ToolCall("delete", {"path": "a"}, id="d1"), ToolCall("delete", {"path": "b"}, id="d2")]
    agent, model = _agent(calls, [turn, "done"])
    paused = await agent.run("go")
    first, second = (i.id for i in paused.interrupts)

    still = await agent.resume(paused.run_id, values={first: "approve"})

    assert still.status == "interrupted"
    assert [i.id for i in still.interrupts] == [second]
    assert calls == [], "no call of the turn runs before every approval is answered"
    result = await agent.resume(paused.run_id, "deny")
    assert result.status == "completed"
    assert calls == [("delete", "a")]
    assert result_texts(model.requests[-1].messages) == {"d1": "deleted a", "d2": "denied: denied by the reviewer"}


@pytest.mark.parametrize("event", ["before_run", "before_llm"])
async def test_before_run_and_before_llm_deny_fail_the_run_before_the_model_is_asked(event: str) -> None:
    agent, model = _agent([], ["done"])
    agent.on(event, lambda **payload: Deny("outside office hours"))

    result = await agent.run("go")

    assert result.status == "failed"
    assert result.error is not None
    assert "outside office hours" in result.error
    assert "GovernanceError" in result.error
    assert model.requests == []


@pytest.mark.parametrize("event", ["before_run", "before_llm"])
async def test_before_run_and_before_llm_ask_pause_until_answered(event: str) -> None:
    agent, model = _agent([], ["done", "done"])
    agent.on(event, lambda **payload: Ask("spend money on this?"))

    paused = await agent.run("go")

    assert paused.status == "interrupted"
    assert paused.interrupt is not None
    assert paused.interrupt.kind == "approval"
    assert paused.interrupt.prompt == "spend money on this?"
    assert paused.interrupt.payload["event"] == event
    assert model.requests == []
    approved = await agent.resume(paused.run_id, "approve")
    assert approved.status == "completed"
    assert approved.output == "done"

    other = await agent.run("again")
    denied = await agent.resume(other.run_id, {"deny": "too expensive"})
    assert denied.status == "failed"
    assert denied.error is not None
    assert "too expensive" in denied.error


async def test_observe_hooks_fire_with_their_documented_payloads() -> None:
    events: list[tuple[str, dict[str, Any]]] = []

    def recorder(name: str) -> Any:
        def record(**payload: Any) -> None:
            events.append((name, payload))

        return record

    async def async_recorder(**payload: Any) -> None:
        events.append(("after_llm", payload))

    calls: list[tuple[str, str]] = []
    script = [ToolCall("echo", {"text": "x" * 2000}, id="e1"), "done"]
    runtime = Runtime(context=ContextProtocol.manager(max_tokens=600))
    agent, _ = _agent(calls, script, runtime=runtime)
    for name in ("before_run", "before_llm", "before_tool", "after_tool", "on_context_compact", "after_run"):
        agent.on(name, recorder(name))
    agent.on("after_llm", async_recorder)

    result = await agent.run("go")

    assert result.status == "completed"
    run_id = result.run_id
    assert all(payload["run_id"] == run_id for _, payload in events)
    names = [name for name, _ in events]
    assert names == [
        "before_run",
        "before_llm",
        "after_llm",
        "before_tool",
        "after_tool",
        "on_context_compact",
        "before_llm",
        "after_llm",
        "after_run",
    ]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for name, payload in events:
        by_name.setdefault(name, []).append(payload)
    assert by_name["before_run"][0]["goal"] == "go"
    assert [p["iteration"] for p in by_name["before_llm"]] == [0, 1]
    assert [p["iteration"] for p in by_name["after_llm"]] == [0, 1]
    assert by_name["after_llm"][0]["usage"]["input_tokens"] > 0
    assert by_name["before_tool"][0] | {"run_id": None} == {
        "run_id": None,
        "tool_name": "echo",
        "arguments": {"text": "x" * 2000},
        "call_id": "e1",
    }
    assert by_name["after_tool"][0] | {"run_id": None} == {
        "run_id": None,
        "tool_name": "echo",
        "call_id": "e1",
        "success": True,
    }
    compact = by_name["on_context_compact"][0]
    assert compact["strategy"] == "renew"
    assert compact["after"] < compact["before"]
    assert by_name["after_run"][0]["result"] == {"status": "completed", "output": "done", "error": None}


async def test_after_tool_reports_a_raising_tool_as_unsuccessful() -> None:
    @tool
    def broken() -> str:
        """Always fails."""
        raise RuntimeError("disk full")

    seen: list[bool] = []
    agent = make_agent(RecordingModel([ToolCall("broken", id="b"), "done"]), tools=[broken])
    agent.on("after_tool", lambda **event: seen.append(event["success"]))
    assert (await agent.run("go")).status == "completed"
    assert seen == [False]


def test_an_unknown_hook_event_is_refused_with_the_known_ones() -> None:
    agent = make_agent(RecordingModel([]))
    with pytest.raises(ValueError, match="before_tool"):
        agent.on("before_tools", lambda **event: None)
