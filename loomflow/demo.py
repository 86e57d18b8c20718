"""``make demo``: an agent run on the embedded defaults that shows its graph, its checkpoints and a resume.

The agent (a scripted model, so it runs offline) explores a small workspace with tools and asks to
write a note with a tool that needs approval: the run pauses at the ``governance`` node. A second agent
object on the same SQLite file (as a second process would) approves, and the run finishes.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from loomflow.agent import Agent, AgentState
from loomflow.checkpoint.codec import loads
from loomflow.interpreter import RunResult
from loomflow.messages import ToolCall
from loomflow.model import Model
from loomflow.tools import Tool, tool
from loomflow.trace import summarize
from loomflow.viz import overlay_from_steps, to_ascii

__all__ = ["demo_agent", "run_demo"]

SCRIPT = [
    ToolCall("list_files", {}),
    [ToolCall("read_file", {"name": "README.md"}), ToolCall("read_file", {"name": "PLAN.md"})],
    ToolCall("write_note", {"name": "SUMMARY.md", "text": "Ship the demo; then write the docs."}),
    "I read README.md and PLAN.md and wrote SUMMARY.md: ship the demo, then write the docs.",
]


def workspace_tools(root: Path) -> list[Tool]:
    @tool(read_only=True)
    def list_files() -> str:
        """List the files in the workspace."""
        return "\n".join(sorted(p.name for p in root.iterdir()))

    @tool(read_only=True)
    def read_file(name: str) -> str:
        """Read one file of the workspace.

        Args:
            name: the file name, e.g. README.md
        """
        return (root / Path(name).name).read_text()

    @tool(destructive=True, require_approval=True)
    def write_note(name: str, text: str) -> str:
        """Write a note into the workspace (needs a human's approval).

        Args:
            name: the note's file name
            text: what to write
        """
        (root / Path(name).name).write_text(text + "\n")
        return f"wrote {name}"

    return [list_files, read_file, write_note]


def demo_agent(root: Path, db: str | Path, model: str | None = None) -> Agent:
    """The demo agent: the scripted model, or a real one named like ``"anthropic:<model>"``."""
    return Agent(
        model=Model.parse(model) if model else Model.scripted(SCRIPT),
        instructions="You are a careful repository assistant. Read before you write.",
        tools=workspace_tools(root),
        checkpoint_store=db,
    )


async def run_demo(
    out: TextIO, db: str | Path = ".loomflow/loomflow.db", model: str | None = None
) -> RunResult[AgentState]:
    def say(text: str = "") -> None:
        print(text, file=out)

    root = Path(tempfile.mkdtemp(prefix="loomflow-demo-"))
    (root / "README.md").write_text("# Demo project\nA tiny project the agent explores.\n")
    (root / "PLAN.md").write_text("- ship the demo\n- write the docs\n")

    agent = demo_agent(root, db, model)
    graph = agent.graph
    say(
        f"model: {agent.model.name}"
        + ("" if model else " (offline; `make demo MODEL=anthropic:<model>` for a real one)")
    )
    say(f"== the run graph ({graph.fingerprint}) ==\n{graph.to_ascii()}\n")
    result = await agent.run("Read the project files and write a short SUMMARY.md of what to do next.")
    say(f"== run {result.run_id}: {result.status} ==")
    again = agent
    while result.status == "interrupted" and result.interrupt is not None:
        say(f"waiting at {result.interrupt.node_path!r} for {result.interrupt.kind}: {result.interrupt.prompt}\n")
        await _checkpoints(again, result.run_id, say)
        await again.close()
        # A fresh agent on the same file stands for another process answering the approval.
        again = demo_agent(root, db, model)
        say(f"\n== resume {result.run_id} with 'approve', from a fresh agent ==")
        result = await again.resume(result.run_id, "approve")
    say(f"status: {result.status}\noutput: {result.output}")
    summary = root / "SUMMARY.md"
    if summary.exists():
        say(f"SUMMARY.md now says: {summary.read_text().strip()!r}\n")
    await _checkpoints(again, result.run_id, say)
    steps = await again.history(result.run_id)
    overlay = overlay_from_steps(
        steps, start=graph.start_path, status=result.status, run_id=result.run_id, structure=graph.structure()
    )
    say(f"\n== the path run {result.run_id} took ==\n{to_ascii(graph.structure(), overlay)}")
    say(f"\n== its canonical trace ==\n{result.trace}")
    usage = result.usage
    say(f"\nusage: {usage.get('input_tokens', 0):.0f} input + {usage.get('output_tokens', 0):.0f} output tokens")
    say(f"store: {Path(db).resolve()}  (try: python -m loomflow runs show {result.run_id} --db {db})")
    await again.close()
    return result


async def _checkpoints(agent: Agent, run_id: str, say: Callable[[str], None]) -> None:
    say(f"{'step':>4}  {'node':<26} {'status':<12} {'route':<11} writes")
    for rec in await agent.history(run_id):
        writes = ", ".join(f"{k}={summarize(v, 32)}" for k, v in loads(rec.writes).items()) or "-"
        say(f"{rec.step:>4}  {rec.node_path:<26} {rec.status:<12} {rec.route or '-':<11} {writes[:70]}")


def main(out: TextIO, model: str | None = None) -> int:
    result = asyncio.run(run_demo(out, model=model))
    return 0 if result.status == "completed" else 1
