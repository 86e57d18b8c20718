"""An agent run killed with SIGKILL resumes in a fresh process, with real processes and a real SQLite file.

The worker (``agent_crash_worker.py``) runs an agent whose tools append to a side-effect file. It is
killed inside its third tool call, after two calls finished. A fresh process resumes the run: finished
calls are never executed again; the call cut off mid-way is re-run only if its tool is idempotent, and
otherwise the run waits with an ``uncertain_call`` interrupt until ``"retry"`` or ``"skip"`` decides.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from loomflow import Agent, Model

WORKER = Path(__file__).with_name("agent_crash_worker.py")
RUN = "agent-crash-run"
#: a guard against a hung worker, never a timing assertion
DEADLINE = 60.0


class Files:
    def __init__(self, root: Path) -> None:
        self.db = root / "runs.db"
        self.effects = root / "effects.txt"
        self.ready = root / "ready"

    def args(self, mode: str, idempotent: bool) -> list[str]:
        flags = ["--idempotent"] if idempotent else []
        return [sys.executable, str(WORKER), str(self.db), RUN, str(self.effects), str(self.ready), mode, *flags]

    def effects_lines(self) -> list[str]:
        return self.effects.read_text().splitlines() if self.effects.exists() else []


def start_and_kill(files: Files, *, idempotent: bool) -> None:
    """Start the run in a worker and SIGKILL it once it is inside the slow tool call."""
    proc = subprocess.Popen(files.args("start", idempotent), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        give_up = time.monotonic() + DEADLINE
        while not files.ready.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"the worker exited ({proc.returncode}) before the slow call:\n{out}\n{err}")
            if time.monotonic() > give_up:
                raise AssertionError("the worker never reached the slow call")
            time.sleep(0.005)
    finally:
        proc.kill()  # SIGKILL: no cleanup, no lease release, no final commit
        proc.communicate(timeout=DEADLINE)
    assert proc.returncode == -9


def run_worker(files: Files, mode: str, *, idempotent: bool) -> dict[str, Any]:
    done = subprocess.run(files.args(mode, idempotent), capture_output=True, text=True, timeout=DEADLINE, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("result ")]
    assert done.returncode == 0, done.stderr
    assert len(lines) == 1, done.stdout
    data: dict[str, Any] = json.loads(lines[0].removeprefix("result "))
    return data


def seen_by_model(result: dict[str, Any]) -> dict[str, str]:
    """The tool results the model was shown in its last turn (the worker's script echoes them)."""
    output = result["output"]
    assert output.startswith("done ")
    seen: dict[str, str] = json.loads(output.removeprefix("done "))
    return seen


async def stored_status(files: Files) -> str:
    agent = Agent(Model.scripted([]), checkpoint_store=files.db)
    try:
        return (await agent.result(RUN)).status
    finally:
        await agent.close()


async def test_a_killed_run_resumes_elsewhere_and_reruns_only_the_idempotent_call_cut_off(tmp_path: Path) -> None:
    files = Files(tmp_path)
    start_and_kill(files, idempotent=True)
    assert files.effects_lines() == ["record-1", "record-2", "slow-3-start"]
    assert await stored_status(files) == "running"  # the killed process never got to say otherwise

    result = run_worker(files, "resume", idempotent=True)

    assert result["status"] == "completed", result
    assert Counter(files.effects_lines()) == Counter(
        {"record-1": 1, "record-2": 1, "slow-3-start": 2, "slow-3-done": 1}
    )
    assert seen_by_model(result) == {"call_0_0": "recorded 1", "call_1_0": "recorded 2", "call_1_1": "slow 3 done"}
    assert await stored_status(files) == "completed"


@pytest.mark.parametrize("decision", ["retry", "skip"])
async def test_a_non_idempotent_call_cut_off_by_a_kill_waits_for_a_decision(tmp_path: Path, decision: str) -> None:
    files = Files(tmp_path)
    start_and_kill(files, idempotent=False)

    waiting = run_worker(files, "resume", idempotent=False)

    assert waiting["status"] == "interrupted", waiting
    assert files.effects_lines() == ["record-1", "record-2", "slow-3-start"], "nothing ran again on its own"
    [interrupt] = waiting["interrupts"]
    assert interrupt["kind"] == "uncertain_call"
    assert interrupt["node_path"] == "harness/tool_dispatch"
    assert interrupt["payload"]["name"] == "tool:slow"
    assert interrupt["payload"]["request"] == {"id": "call_1_1", "name": "slow", "arguments": {"n": 3}}
    assert set(interrupt["allowed"]) == {"retry", "skip"}
    assert "may have taken effect" in interrupt["prompt"]
    assert await stored_status(files) == "interrupted"

    result = run_worker(files, decision, idempotent=False)

    assert result["status"] == "completed", result
    seen = seen_by_model(result)
    assert (seen["call_0_0"], seen["call_1_0"]) == ("recorded 1", "recorded 2")
    if decision == "retry":
        assert Counter(files.effects_lines()) == Counter(
            {"record-1": 1, "record-2": 1, "slow-3-start": 2, "slow-3-done": 1}
        )
        assert seen["call_1_1"] == "slow 3 done"
    else:
        assert files.effects_lines() == ["record-1", "record-2", "slow-3-start"]
        assert "may or may not have run" in seen["call_1_1"]
