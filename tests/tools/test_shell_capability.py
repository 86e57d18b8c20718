"""``Capability.shell``: output capped, the process group killed at the timeout, commands outside
``allowed`` refused; with approval required, the call waits for a human, and approving it from another
process runs the command exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent

from loomflow import Capability, ToolCall
from loomflow.tools import Tool
from loomflow.tools.tool import ToolTimeout

WORKER = Path(__file__).with_name("shell_approval_worker.py")


def shell(**options: Any) -> Tool:
    [tool] = Capability.shell(**options).tools
    return tool


async def run(tool: Tool, command: str) -> str:
    text, _ = await tool.invoke({"command": command})
    return text


def alive(pid: int) -> bool:
    """Running (a killed child whose parent died is a zombie until init reaps it: that counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def gone(pid: int) -> bool:
    """Dead within a second (a killed process closes its pipes a moment before it is a zombie)."""
    deadline = time.monotonic() + 1
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not alive(pid)


def test_the_shell_tool_is_declared_for_governance() -> None:
    tool = shell()
    assert (tool.name, tool.destructive, tool.idempotent, tool.parallel_safe) == ("shell", True, False, False)
    assert tool.require_approval
    assert not shell(require_approval=False).require_approval


async def test_output_and_exit_code_with_the_output_capped(tmp_path: Path) -> None:
    assert await run(shell(cwd=tmp_path), "echo hello; echo oops >&2; exit 3") == "exit code 3\nhello\noops\n"
    capped = await run(shell(max_output=10), "yes 0123456789 | head -c 5000")
    assert capped == "exit code 0\n0123456789\n[output cut: showing 10 of 5000 bytes]"


async def test_the_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match=r"timeout of 0\.5s"):
        await run(shell(timeout=0.5), f"sleep 30 & echo $$ $! > {pids}; wait")
    assert time.monotonic() - started < 5
    shell_pid, child_pid = map(int, pids.read_text().split())
    assert not alive(shell_pid)
    assert not alive(child_pid)


async def test_a_background_child_holding_the_output_is_stopped_and_the_result_reported(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    text = await run(shell(timeout=20), f"sleep 30 & echo $! > {pid_file}; echo started")
    assert time.monotonic() - started < 5
    assert text == (
        "exit code 0\nstarted\n\n[the command exited, but background processes kept its output open; they were stopped]"
    )
    assert gone(int(pid_file.read_text()))


async def test_the_timeout_kills_the_group_even_after_the_shell_exited(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with pytest.raises(ToolTimeout, match=r"timeout of 0\.2s"):  # within the grace the output gets
        await run(shell(timeout=0.2), f"sleep 30 & echo $! > {pid_file}")
    assert gone(int(pid_file.read_text()))


async def test_a_detached_background_process_is_left_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    assert await run(shell(), f"sleep 30 > /dev/null 2>&1 & echo $! > {pid_file}") == "exit code 0\n"
    pid = int(pid_file.read_text())
    try:
        assert alive(pid)  # it does not hold the output: the command is done, and nothing stops it
    finally:
        os.kill(pid, 9)


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("rm -rf build", "is not an allowed command"),
        ("git statusx", "is not an allowed command"),
        ("echo hi; rm -rf build", "chains or redirects"),
        ("echo hi > file", "chains or redirects"),
        ("echo $(rm -rf build)", "chains or redirects"),
    ],
)
async def test_commands_outside_allowed_are_refused(command: str, why: str) -> None:
    with pytest.raises(PermissionError, match=why):
        await run(shell(allowed=["echo", "git status"]), command)


async def test_allowed_commands_run() -> None:
    tool = shell(allowed=["echo", "git status"])
    assert await run(tool, "echo hi there") == "exit code 0\nhi there\n"


async def test_without_approval_the_command_never_runs(tmp_path: Path) -> None:
    effects = tmp_path / "effects"
    turns = [ToolCall("shell", {"command": f"touch {effects}"}, id="sh1"), "done"]
    model = RecordingModel(turns)
    agent = make_agent(model, capabilities=[Capability.shell(require_approval=True)])

    paused = await agent.run("go")
    assert paused.status == "interrupted"
    assert paused.interrupt is not None
    assert paused.interrupt.kind == "approval"
    assert paused.interrupt.payload == {"tool": "shell", "arguments": {"command": f"touch {effects}"}, "call_id": "sh1"}
    assert not effects.exists()

    result = await agent.resume(paused.run_id, {"deny": "not on this machine"})
    assert result.status == "completed"
    assert not effects.exists()
    seen = {p.call_id: p for m in model.requests[-1].messages for p in m.tool_results}
    assert (seen["sh1"].is_error, seen["sh1"].content) == (True, "denied: not on this machine")


def worker(db: Path, effects: Path, mode: str) -> dict[str, Any]:
    args = [sys.executable, str(WORKER), str(db), "shell-run", str(effects), mode]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    kind, _, payload = out.stdout.strip().splitlines()[-1].partition(" ")
    return {"kind": kind, **json.loads(payload)}


def test_approving_from_a_new_process_runs_the_command_exactly_once(tmp_path: Path) -> None:
    db, effects = tmp_path / "runs.db", tmp_path / "effects.txt"

    started = worker(db, effects, "start")
    assert (started["kind"], started["status"]) == ("result", "interrupted")
    assert [i["kind"] for i in started["interrupts"]] == ["approval"]
    assert not effects.exists()  # the first process exited without running it

    approved = worker(db, effects, "approve")
    assert (approved["kind"], approved["status"]) == ("result", "completed")
    assert effects.read_text() == "ran\n"
    assert approved["output"] == 'saw ["exit code 0\\n"]'

    again = worker(db, effects, "approve")  # a second approval of a finished run changes nothing
    assert again["kind"] == "error"
    assert effects.read_text() == "ran\n"
