"""Context pressure: past the hard threshold the run's context is renewed with a handoff summary, and
nothing is lost: the checkpoints keep every message from before the renewal.

    python examples/context_pressure_renewal.py
"""

from __future__ import annotations

import asyncio

from loomflow import Agent, ContextProtocol, MemoryStore, Model, Runtime, ToolCall, tool


@tool(read_only=True)
def read_log(day: int) -> str:
    """Read one day's log (long)."""
    return f"log of day {day}: " + "entry " * 700


agent = Agent(
    model=Model.scripted([ToolCall("read_log", {"day": 0}), ToolCall("read_log", {"day": 1}), "Steady growth."]),
    tools=[read_log],
    runtime=Runtime(context=ContextProtocol.manager(max_tokens=1200)),  # a tiny window, to force renewals
    checkpoint_store=MemoryStore(),
)
agent.on("on_context_compact", lambda **event: print(f"compacted: {event['strategy']}"))


async def main() -> None:
    result = await agent.run("Summarise the logs")
    print(f"status: {result.status}, output: {result.output}")
    print(f"renewals: {result.state.renewals}; messages kept in state: {len(result.state.messages)}")
    print(f"the model now sees a handoff:\n{result.state.handoff[:160]}...")
    steps = await agent.history(result.run_id)
    renewal = next(r.step for r in steps if r.node_path == "harness/renewal")
    before = await agent.state(result.run_id, at=renewal - 1)
    print(
        f"\nstep {renewal} renewed the context; the state before it is still there: window_start={before.window_start}"
    )


if __name__ == "__main__":
    asyncio.run(main())
