"""Hello, agent: one run of the run graph with a scripted (offline) model, its result and trace.

python examples/hello_agent.py
"""

from __future__ import annotations

from loomflow import Agent, MemoryStore, Model

agent = Agent(
    model=Model.scripted(["Hello! I am a loomflow agent; every run I make is a graph you can inspect."]),
    instructions="You are friendly and brief.",
    checkpoint_store=MemoryStore(),  # default: SQLite at .loomflow/loomflow.db
)

if __name__ == "__main__":
    result = agent.run_sync("Say hello")
    print(f"status: {result.status}")
    print(f"output: {result.output}")
    print(f"usage:  {result.usage['input_tokens']:.0f} input + {result.usage['output_tokens']:.0f} output tokens")
    print("\nthe run, one line per step (nothing volatile: ready for snapshot tests):")
    print(result.trace)
