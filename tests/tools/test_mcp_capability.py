"""``Capability.mcp``: a real MCP server (``mcp_demo_server.py``, on the ``mcp`` SDK) run as a subprocess
over stdio, and once over Streamable HTTP.

The server starts on first use (not when the agent is built), is kept for the agent's life and stopped by
``agent.close()``. Its tools are offered as ``demo_<tool>`` with the server's descriptions and schemas; a
tool error, a call past ``call_timeout`` and a server dying mid-call are error results the model sees,
and the call after a death starts the server again.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent, result_texts

from loomflow import Capability, ToolCall
from loomflow.tools import ToolRegistry, install_capabilities

pytest.importorskip("mcp")

SERVER = str(Path(__file__).with_name("mcp_demo_server.py"))


def starts(path: Path) -> list[int]:
    """The pids of the server processes started so far."""
    return [int(line.split()[1]) for line in path.read_text().splitlines()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def starts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "starts.txt"
    monkeypatch.setenv("MCP_STARTS", str(path))  # for demo() and the HTTP server's own process
    return path


def demo(**options: Any) -> Capability:
    # A stdio server gets the SDK's minimal environment plus env=, not the parent's whole environment.
    env = {"MCP_STARTS": os.environ.get("MCP_STARTS", os.devnull)}
    return Capability.mcp("demo", command=[sys.executable, SERVER], env=env, **options)


async def test_tools_are_listed_with_the_servers_schemas_and_called_and_the_server_starts_lazily(
    starts_file: Path,
) -> None:
    model = RecordingModel([ToolCall("demo_add", {"a": 2, "b": 3}, id="c1"), "done"])
    agent = make_agent(model, capabilities=[demo(tools=["add", "peek"])])
    assert starts(starts_file) == []  # building the agent starts nothing

    result = await agent.run("add")

    assert result.status == "completed", result.error
    assert result_texts(result.state.messages) == {"c1": "5"}
    specs = {s.name: s for s in model.requests[0].tools}
    assert sorted(specs) == ["demo_add", "demo_peek"]  # the filter kept two of the server's five tools
    assert specs["demo_add"].description == "Add two integers and return the sum."
    assert specs["demo_add"].parameters["required"] == ["a", "b"]
    assert specs["demo_add"].parameters["properties"]["a"]["type"] == "integer"
    peek = agent.tools.get("demo_peek")
    assert peek is not None
    assert (peek.read_only, peek.idempotent) == (True, True)  # the server's readOnlyHint
    [pid] = starts(starts_file)
    assert alive(pid)

    await agent.close()
    assert not alive(pid)  # stopped by close()


async def test_a_tool_error_and_a_hung_call_are_error_results_and_the_server_stays(starts_file: Path) -> None:
    turns = [
        ToolCall("demo_lookup", {"title": "Atlantis"}, id="err"),
        ToolCall("demo_hang", {}, id="hung"),
        ToolCall("demo_add", {"a": 1}, id="bad-args"),
        ToolCall("demo_add", {"a": 1, "b": 1}, id="after"),
        "done",
    ]
    agent = make_agent(RecordingModel(turns), capabilities=[demo(call_timeout=0.5)])
    started = time.monotonic()
    result = await agent.run("go")
    await agent.close()

    assert result.status == "completed", result.error
    seen = {p.call_id: p for m in result.state.messages for p in m.tool_results}
    assert seen["err"].is_error
    assert "no page titled 'Atlantis'" in seen["err"].content
    assert seen["hung"].is_error
    assert "timed out after 0.5s" in seen["hung"].content
    assert seen["bad-args"].is_error
    assert "b: Field required" in seen["bad-args"].content
    assert (seen["after"].is_error, seen["after"].content) == (False, "2")
    assert len(starts(starts_file)) == 1  # one server answered everything
    assert time.monotonic() - started < 10


async def test_a_server_that_dies_mid_call_is_a_clear_error_and_the_next_call_restarts_it(starts_file: Path) -> None:
    turns = [ToolCall("demo_die", {}, id="died"), ToolCall("demo_add", {"a": 4, "b": 4}, id="again"), "done"]
    agent = make_agent(RecordingModel(turns), capabilities=[demo()])
    result = await agent.run("go")

    assert result.status == "completed", result.error
    seen = {p.call_id: p for m in result.state.messages for p in m.tool_results}
    assert seen["died"].is_error
    assert "MCP server 'demo' closed the connection during 'die'" in seen["died"].content
    assert "started again on the next call" in seen["died"].content
    assert (seen["again"].is_error, seen["again"].content) == (False, "8")
    first, second = starts(starts_file)
    assert not alive(first)
    assert alive(second)
    await agent.close()
    assert not alive(second)


async def test_a_closed_server_restarts_on_next_use_even_with_parallel_calls(starts_file: Path) -> None:
    registry = ToolRegistry()
    install_capabilities([demo()], registry)
    add = registry.get("demo_add")
    assert add is not None
    for round_ in range(3):  # each round's server runs on a new loop; nothing of the old one may be reused
        results = await asyncio.gather(*(add.invoke({"a": round_, "b": i}) for i in range(3)))
        assert [text for text, _ in results] == [str(round_ + i) for i in range(3)]
        await registry.close()
    pids = starts(starts_file)
    assert len(pids) == 3
    assert not any(alive(pid) for pid in pids)


async def test_connect_false_opens_a_connection_per_operation(starts_file: Path) -> None:
    turns = [ToolCall("demo_peek", {}, id="p1"), "done"]
    agent = make_agent(RecordingModel(turns), capabilities=[demo(connect=False)])
    result = await agent.run("go")
    await agent.close()

    assert result_texts(result.state.messages) == {"p1": "counter=7"}
    pids = starts(starts_file)
    assert len(pids) == 2  # one to list the tools, one for the call
    assert not any(alive(pid) for pid in pids)


async def test_a_server_that_never_answers_the_handshake_fails_the_run_naming_it() -> None:
    # reads its input and never answers (and exits once its input closes, so the test stays quick)
    silent = Capability.mcp(
        "mute", command=[sys.executable, "-c", "import sys; sys.stdin.read()"], handshake_timeout=0.5
    )
    agent = make_agent(RecordingModel(["never asked"]), capabilities=[silent])
    result = await agent.run("go")
    await agent.close()

    assert result.status == "failed"
    assert "MCP server 'mute'" in (result.error or "")
    assert "did not finish its handshake within 0.5s" in (result.error or "")


def test_names_are_model_safe_and_a_filter_naming_a_missing_tool_is_refused() -> None:
    from loomflow.tools.mcp import MCPServerError, model_safe_name

    assert model_safe_name("git hub", "search.issues") == "git_hub_search_issues"
    long = model_safe_name("s" * 40, "t" * 40)
    assert len(long) == 64
    assert long != model_safe_name("s" * 40, "t" * 39 + "u")
    agent = make_agent(RecordingModel([]), capabilities=[demo(tools=["add", "nope"])])
    with pytest.raises(MCPServerError, match="MCP server 'demo' has no tool nope; it offers: add, lookup"):
        agent.tools.names()
    with pytest.raises(ValueError, match="exactly one of command"):
        Capability.mcp("x")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(starts_file: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, SERVER, "--http", str(port)], stderr=subprocess.DEVNULL)
    try:
        give_up = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > give_up:
                    raise AssertionError("the HTTP MCP server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_server_over_streamable_http(http_server: str) -> None:
    turns = [ToolCall("web_add", {"a": 20, "b": 22}, id="h1"), "done"]
    agent = make_agent(RecordingModel(turns), capabilities=[Capability.mcp("web", url=http_server)])
    result = await agent.run("go")
    await agent.close()

    assert result.status == "completed", result.error
    assert result_texts(result.state.messages) == {"h1": "42"}
