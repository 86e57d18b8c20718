"""Skills: only a skill's index enters the prompt; the model activates one through a tool, the full skill
loads, and while it is active only its allowed tools may run (governance enforces it, visibly).

    python examples/skills.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from loomflow import Agent, Capability, MemoryStore, Model, ToolCall, tool

SKILL = """---
name: release-notes
description: Write release notes from the changelog
when_to_use: release, notes
allowed_tools: [read_changelog]
---
# Release notes
Read the changelog, then write three bullet points, newest first.
"""


@tool(read_only=True)
def read_changelog() -> str:
    """Read the project's changelog."""
    return "1.2: faster resume\n1.1: fork from any step"


@tool(destructive=True)
def delete_branch(name: str) -> str:
    """Delete a git branch."""
    return f"deleted {name}"


async def main() -> None:
    skills_dir = Path(tempfile.mkdtemp()) / "skills" / "release-notes"
    skills_dir.mkdir(parents=True)
    (skills_dir / "SKILL.md").write_text(SKILL)
    script = [
        ToolCall("activate_skill", {"name": "release-notes"}),
        [ToolCall("read_changelog"), ToolCall("delete_branch", {"name": "old"})],
        "- faster resume\n- fork from any step",
    ]
    agent = Agent(
        model=Model.scripted(script),
        tools=[read_changelog, delete_branch],
        capabilities=[Capability.skills(skills_dir.parent)],
        checkpoint_store=MemoryStore(),
    )
    result = await agent.run("Prepare the notes for the next version")
    print(f"status: {result.status}")
    for msg in result.state.messages:
        for part in msg.tool_results:
            print(f"tool result: {part.content.splitlines()[0][:70]}")
    print(f"answer: {result.output.splitlines()[0] if result.output else ''}")


asyncio.run(main())
