"""An approval workflow: a tool that needs approval pauses the run; a *new* agent (as another process
would) answers it from the store, and the run finishes. Nothing runs twice.

    python examples/approval_workflow.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from loomflow import Agent, Model, ToolCall, tool

SENT: list[str] = []


@tool(destructive=True, require_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email (a person approves first)."""
    SENT.append(to)
    return f"sent to {to}"


def make_agent(db: Path) -> Agent:
    script = [ToolCall("send_email", {"to": "team@example.com", "body": "Release is out."}), "Emailed the team."]
    return Agent(model=Model.scripted(script), tools=[send_email], checkpoint_store=db)


async def main() -> None:
    db = Path(tempfile.mkdtemp()) / "runs.db"
    first = make_agent(db)
    result = await first.run("Tell the team the release is out")
    intr = result.interrupt
    assert intr is not None
    print(f"status: {result.status}, waiting at {intr.node_path} for {intr.kind}")
    print(f"  prompt: {intr.prompt}\n  accepts: {intr.allowed}")
    await first.close()

    second = make_agent(db)  # a fresh agent on the same store: another process, a day later
    result = await second.resume(result.run_id, "approve")
    print(f"after approval: {result.status}, output: {result.output}")
    print(f"emails sent: {SENT}")
    print("path:", " -> ".join(dict.fromkeys(result.trace.nodes)))
    await second.close()


if __name__ == "__main__":
    asyncio.run(main())
