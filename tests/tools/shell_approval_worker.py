"""A separate process that starts, or answers, a run whose ``shell`` call needs approval.

    python shell_approval_worker.py DB RUN_ID EFFECTS MODE      (MODE: start | approve)

The scripted model asks for ``shell`` once; the command appends a line to EFFECTS (the side effect that
must happen exactly once), then answers with the tool result it saw. ``start`` runs the agent (which
pauses for approval); ``approve`` resumes the run with ``"approve"``. The last line printed is
``result {json}`` (or ``error {json}`` when ``resume`` raised).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from loomflow import Agent, Capability, Model, ModelRequest, ToolCall


def answer(request: ModelRequest) -> str:
    return "saw " + json.dumps([p.content for m in request.messages for p in m.tool_results])


async def main(db: str, run_id: str, effects: str, mode: str) -> int:
    script: list[Any] = [ToolCall("shell", {"command": f"echo ran >> {effects}"}, id="sh1"), answer]
    agent = Agent(Model.scripted(script), capabilities=[Capability.shell(require_approval=True)], checkpoint_store=db)
    try:
        if mode == "start":
            result = await agent.run("Record that you ran", run_id=run_id)
        else:
            result = await agent.resume(run_id, "approve")
    except Exception as exc:
        print("error " + json.dumps({"type": type(exc).__name__, "message": str(exc)}))
        return 0
    finally:
        await agent.close()
    data = {"status": result.status, "output": result.output, "interrupts": [i.to_json() for i in result.interrupts]}
    print("result " + json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
