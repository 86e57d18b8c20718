"""A separate process that runs or resumes one agent run on an SQLite file, for the agent crash tests.

    python agent_crash_worker.py DB RUN_ID EFFECTS READY MODE [--idempotent]

The agent's script makes three model turns: ``record(1)``; then ``record(2)`` and ``slow(3)`` together;
then a final answer that repeats the tool results the model saw. Both tools append a line to EFFECTS
(the side effect that must never happen twice). ``slow`` is not parallel-safe, so ``record(2)`` has
finished and been journaled before it starts; in mode ``start`` it writes ``slow-3-start``, then creates
READY and sleeps for an hour, so the parent can SIGKILL the process mid-call. In the other modes it
completes at once.

Modes: ``start`` (run the agent), ``resume`` (``agent.resume(run_id)``), ``retry`` / ``skip`` (answer the
pending ``uncertain_call`` interrupt). The last line printed is ``result {json}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from loomflow import Agent, Model, ModelRequest, ToolCall, tool
from loomflow.tools import Tool

HOUR = 3600.0


def _append(path: Path, line: str) -> None:
    """One small O_APPEND write: a kill lands before or after it, never inside it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


def build_tools(effects: Path, ready: Path, *, hang: bool, idempotent: bool) -> list[Tool]:
    @tool
    def record(n: int) -> str:
        """Record a number (a side effect that must happen once)."""
        _append(effects, f"record-{n}")
        return f"recorded {n}"

    @tool(parallel_safe=False, idempotent=idempotent)
    async def slow(n: int) -> str:
        """A slow call."""
        _append(effects, f"slow-{n}-start")
        if hang:
            _append(ready, "ready")
            await asyncio.sleep(HOUR)
        _append(effects, f"slow-{n}-done")
        return f"slow {n} done"

    return [record, slow]


def final_answer(request: ModelRequest) -> str:
    """The last turn repeats every tool result it was shown, so the parent can see what the model saw."""
    seen = {p.call_id: p.content for m in request.messages for p in m.tool_results}
    return "done " + json.dumps(seen, sort_keys=True)


SCRIPT: list[Any] = [
    ToolCall("record", {"n": 1}),
    [ToolCall("record", {"n": 2}), ToolCall("slow", {"n": 3})],
    final_answer,
]


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("run_id")
    parser.add_argument("effects")
    parser.add_argument("ready")
    parser.add_argument("mode", choices=["start", "resume", "retry", "skip"])
    parser.add_argument("--idempotent", action="store_true")
    opts = parser.parse_args(argv)

    tools = build_tools(Path(opts.effects), Path(opts.ready), hang=opts.mode == "start", idempotent=opts.idempotent)
    agent = Agent(Model.scripted(SCRIPT), tools=tools, checkpoint_store=opts.db)
    if opts.mode == "start":
        result = await agent.run("Record the numbers", run_id=opts.run_id)
    elif opts.mode == "resume":
        result = await agent.resume(opts.run_id)
    else:
        result = await agent.resume(opts.run_id, opts.mode)
    data = {
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "interrupts": [i.to_json() for i in result.interrupts],
        "pid": os.getpid(),
    }
    await agent.close()
    sys.stdout.write("result " + json.dumps(data) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
