"""A repository copilot: tools over a (temporary) workspace: list, read, search, and write with approval.

python examples/repo_copilot.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from loomflow import Agent, MemoryStore, Model, ToolCall, tool

ROOT = Path(tempfile.mkdtemp(prefix="repo-"))
(ROOT / "app.py").write_text("def add(a, b):\n    return a + b\n\n# TODO: handle overflow\n")
(ROOT / "README.md").write_text("# app\nAdds numbers.\n")


@tool(read_only=True)
def list_files() -> str:
    """List the files of the repository."""
    return "\n".join(sorted(p.name for p in ROOT.iterdir()))


@tool(read_only=True)
def grep(pattern: str) -> str:
    """Lines containing ``pattern``, as file:line: text."""
    hits = []
    for path in sorted(ROOT.iterdir()):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern in line:
                hits.append(f"{path.name}:{number}: {line}")
    return "\n".join(hits) or "no match"


@tool(destructive=True, require_approval=True)
def write_file(name: str, text: str) -> str:
    """Write a file of the repository (needs approval)."""
    (ROOT / Path(name).name).write_text(text)
    return f"wrote {name}"


agent = Agent(
    model=Model.scripted(
        [
            ToolCall("list_files", {}),
            ToolCall("grep", {"pattern": "TODO"}),
            ToolCall("write_file", {"name": "TODO.md", "text": "- app.py:4 handle overflow\n"}),
            "Found one TODO (app.py:4) and listed it in TODO.md.",
        ]
    ),
    instructions="You are a careful repository assistant. Read before you write.",
    tools=[list_files, grep, write_file],
    checkpoint_store=MemoryStore(),
)


async def main() -> None:
    result = await agent.run("Collect the TODOs of this repo into TODO.md")
    while result.status == "interrupted" and result.interrupt is not None:
        print(f"approve? {result.interrupt.prompt}  -> yes")
        result = await agent.resume(result.run_id, "approve")
    print(f"status: {result.status}\noutput: {result.output}")
    print(f"TODO.md: {(ROOT / 'TODO.md').read_text().strip()}")
    print("tools called:", ", ".join(call.name for m in result.state.messages for call in m.tool_calls))


if __name__ == "__main__":
    asyncio.run(main())
