"""Stream a run's events as they happen, and collect the artifacts its tools saved.

python examples/events_and_artifacts.py
"""

from __future__ import annotations

import asyncio

from loomflow import Agent, Artifact, MemoryStore, Model, ToolCall, tool


@tool(read_only=True)
def count_lines(text: str) -> str:
    """Count the lines of a text."""
    return str(len(text.splitlines()))


@tool
def save_report(title: str, body: str) -> Artifact:
    """Save a report as an artifact of the run."""
    return Artifact(name=f"{title}.md", content=f"# {title}\n\n{body}\n", media_type="text/markdown")


agent = Agent(
    model=Model.scripted(
        [
            ToolCall("count_lines", {"text": "one\ntwo\nthree"}),
            ToolCall("save_report", {"title": "lines", "body": "The text has 3 lines."}),
            "The text has 3 lines; the report is saved as lines.md.",
        ]
    ),
    tools=[count_lines, save_report],
    checkpoint_store=MemoryStore(),
)


async def main() -> None:
    handle = agent.start("Count the lines and save a report")
    async for event in handle.events():
        if event.kind in ("node_finished", "tool_started", "tool_finished", "run_finished"):
            detail = {k: v for k, v in event.data.items() if v is not None}
            print(f"{event.seq:>3} {event.kind:<14} {event.node_path or '':<24} {detail}")
    result = await handle.wait()
    print(f"\nstatus: {result.status}\noutput: {result.output}")
    for artifact in await handle.artifacts():
        print(f"artifact {artifact['name']} ({artifact['media_type']}):\n{artifact['content']}")


if __name__ == "__main__":
    asyncio.run(main())
