"""Sessions: runs that continue one conversation, restored by policy; run handles, streams and stores."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent, roles_and_texts

from loomflow import (
    Agent,
    Artifact,
    Event,
    MemoryStore,
    ModelRequest,
    Runtime,
    SessionConfig,
    SessionRestorePolicy,
    ToolCall,
    tool,
)


def _echo(request: ModelRequest) -> str:
    users = [m.text for m in request.messages if m.role == "user"]
    return f"A:{users[-1]}"


def _conversation(request: ModelRequest) -> list[tuple[str, str]]:
    return [rt for rt in roles_and_texts(request) if rt[0] != "system"]


LAST_AND_NOW = [("user", "Q2"), ("assistant", "A:Q2"), ("user", "Q3")]


@pytest.mark.parametrize(
    ("policy", "third_request"),
    [
        (SessionRestorePolicy.none(), [("user", "Q3")]),
        (
            SessionRestorePolicy.transcript_only(),
            [("user", "Q1"), ("assistant", "A:Q1"), ("user", "Q2"), ("assistant", "A:Q2"), ("user", "Q3")],
        ),
        (SessionRestorePolicy.window(max_messages=2), LAST_AND_NOW),
        (SessionRestorePolicy.window(max_chars=len("Q2A:Q2")), LAST_AND_NOW),
        (SessionRestorePolicy.window(max_transcripts=2), [("user", "Q1"), ("assistant", "A:Q1"), *LAST_AND_NOW]),
    ],
)
async def test_the_restore_policy_decides_what_the_next_run_sees(
    policy: SessionRestorePolicy, third_request: list[tuple[str, str]]
) -> None:
    model = RecordingModel([_echo] * 3)
    session = make_agent(model, runtime=Runtime(session_restore=policy)).session("s")
    for prompt in ("Q1", "Q2", "Q3"):
        assert (await session.run(prompt)).status == "completed"
    assert _conversation(model.requests[2]) == third_request


async def test_a_window_of_one_transcript_restores_only_the_last_run() -> None:
    model = RecordingModel([_echo] * 3)
    policy = SessionRestorePolicy.window(max_transcripts=1)
    session = make_agent(model, runtime=Runtime(session_restore=policy)).session("s")
    for prompt in ("Q1", "Q2", "Q3"):
        await session.run(prompt)
    assert _conversation(model.requests[2]) == LAST_AND_NOW


async def test_the_session_transcript_is_every_user_turn_and_answer() -> None:
    session = make_agent(RecordingModel([_echo] * 2)).session(SessionConfig(id="s", metadata={"team": "a"}))
    first = await session.run("Q1")
    second = await session.run("Q2")
    assert await session.runs() == [first.run_id, second.run_id]
    assert [(m.role, m.text) for m in await session.transcript()] == [
        ("user", "Q1"),
        ("assistant", "A:Q1"),
        ("user", "Q2"),
        ("assistant", "A:Q2"),
    ]
    assert first.state.session_id == "s"


@tool
def write_notes(topic: str) -> Artifact:
    """Write notes on a topic."""
    return Artifact(name=f"{topic}.txt", content=f"notes on {topic}")


SCRIPT = [ToolCall("write_notes", {"topic": "layout"}), "The layout is simple."]
KINDS = {"run_started", "model_delta", "tool_started", "tool_finished", "run_finished"}


async def test_a_started_run_streams_its_events_then_gives_its_result_and_artifacts() -> None:
    model = RecordingModel(SCRIPT, chunk=4)
    agent = make_agent(model, tools=[write_notes])
    handle = agent.session("stream-demo").start("Inspect the project layout")

    events = [e async for e in handle.events()]
    result = await handle.wait()

    assert result.status == "completed"
    assert result.output == "The layout is simple."
    assert handle.run_id == result.run_id
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    kinds = [e.type for e in events]
    assert set(kinds) >= KINDS
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert kinds.index("tool_started") < kinds.index("tool_finished") < kinds.index("model_delta")
    deltas = [e.payload["text"] for e in events if e.type == "model_delta"]
    assert "".join(deltas) == "The layout is simple."
    assert len(deltas) > 1
    started = next(e for e in events if e.type == "tool_started")
    assert started.payload["tool"] == "write_notes"
    assert all(e.run_id == result.run_id for e in events)
    artifacts = await handle.artifacts()
    assert [a["name"] for a in artifacts] == ["layout.txt"]

    # A consumer that reconnects with its last seq gets only what came after.
    later = [e async for e in handle.events(after=seqs[5])]
    assert [e.seq for e in later] == seqs[6:]


async def test_agent_stream_yields_the_same_kinds_of_events() -> None:
    agent = make_agent(RecordingModel(SCRIPT, chunk=4), tools=[write_notes])
    events: list[Event] = [e async for e in agent.stream("Inspect the project layout")]
    kinds = [e.kind for e in events]
    assert set(kinds) >= KINDS
    assert kinds[-1] == "run_finished"
    assert events[-1].data["status"] == "completed"
    # A session's first run starts the script from its beginning (the session's call offset is 0).
    session_events = [e async for e in agent.session("s").stream("again")]
    assert {e.kind for e in session_events} >= KINDS
    assert session_events[-1].data["status"] == "completed"


async def test_a_paused_and_resumed_runs_events_are_kept_without_reusing_a_seq() -> None:
    @tool(require_approval=True)
    def publish() -> str:
        """Publish."""
        return "published"

    agent = make_agent(RecordingModel([ToolCall("publish"), "done"]), tools=[publish])
    session = agent.session("s")
    paused = await session.run("Publish it")
    assert paused.status == "interrupted"
    resumed = await agent.resume(paused.run_id, "approve")
    assert resumed.status == "completed"

    events = await session.events(paused.run_id)
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    lifecycle = [e.kind for e in events if e.kind in ("run_started", "interrupt", "run_resumed", "run_finished")]
    assert lifecycle == ["run_started", "interrupt", "run_finished", "run_resumed", "run_finished"]


async def test_a_sqlite_session_store_keeps_run_order_and_events_across_agents(tmp_path: Path) -> None:
    db = tmp_path / "loomflow.db"
    first_agent = Agent(RecordingModel([_echo] * 3), checkpoint_store=db)
    session = first_agent.session("persisted")
    one = await session.run("Q1")
    two = await session.run("Q2")
    await first_agent.close()

    model = RecordingModel([_echo] * 3)
    second_agent = Agent(model, checkpoint_store=db)
    again = second_agent.session("persisted")
    assert await again.runs() == [one.run_id, two.run_id]
    events = await again.events(one.run_id)
    assert events[0].kind == "run_started"
    assert events[-1].kind == "run_finished"
    assert [e.seq for e in events] == sorted({e.seq for e in events})
    assert [e.seq for e in await again.events(one.run_id, after=events[0].seq)] == [e.seq for e in events[1:]]
    assert not {"node_started", "node_finished", "model_delta"} & {e.kind for e in events}  # those are the steps

    three = await again.run("Q3")
    assert three.status == "completed"
    assert _conversation(model.requests[0]) == [
        ("user", "Q1"),
        ("assistant", "A:Q1"),
        ("user", "Q2"),
        ("assistant", "A:Q2"),
        ("user", "Q3"),
    ]
    assert await again.runs() == [one.run_id, two.run_id, three.run_id]
    await second_agent.close()


async def test_a_session_store_can_live_in_its_own_file(tmp_path: Path) -> None:
    agent = Agent(RecordingModel([_echo] * 2), checkpoint_store=MemoryStore(), session_store=tmp_path / "s.db")
    run = await agent.session("own-file").run("Q1")
    await agent.close()
    other = Agent(RecordingModel([]), checkpoint_store=MemoryStore(), session_store=tmp_path / "s.db")
    assert await other.session("own-file").runs() == [run.run_id]
    await other.close()


async def test_a_failed_run_resumed_to_completion_enters_the_session_transcript() -> None:
    outage = {"on": True}

    def flaky(request: ModelRequest) -> str:
        if outage["on"]:
            raise ConnectionError("provider down")
        return "A1"

    model = RecordingModel([flaky, _echo])
    agent = make_agent(model)
    session = agent.session("s")
    failed = await session.run("Q1")
    assert failed.status == "failed"
    assert [m.text for m in await session.transcript()] == ["Q1"]

    outage["on"] = False
    assert (await agent.resume(failed.run_id)).status == "completed"
    await session.run("Q2")
    assert _conversation(model.requests[-1]) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2")]


def test_run_sync_outside_an_event_loop() -> None:
    agent = make_agent(RecordingModel(["hello"]))
    result = agent.run_sync("Say hello")
    assert (result.status, result.output) == ("completed", "hello")


async def test_run_sync_inside_a_running_event_loop() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def respond(request: ModelRequest) -> str:
        threads.append(threading.get_ident())
        return "hello from a notebook"

    agent = make_agent(RecordingModel([respond, "and again"]))
    asyncio.get_running_loop()  # this test runs inside a loop, like a notebook cell
    result = agent.run_sync("Say hello")
    assert (result.status, result.output) == ("completed", "hello from a notebook")
    assert len(threads) == 1
    assert threads[0] != loop_thread
    # The agent still works on this loop afterwards.
    again: Any = await agent.run("Again")
    assert again.status == "completed"
