"""Questions over documentation given as run-scoped knowledge (``RunContext``): the model sees the
knowledge in this run only, and the answer cites it.

    python examples/docs_qa.py
"""

from __future__ import annotations

import re

from loomflow import Agent, MemoryStore, Model, ModelRequest, RunContext

DOCS = (
    "resume(run_id, value=...) answers a run's pending interrupt.",
    "fork(run_id, at=step, update={...}) starts a new run sharing history before the step.",
    "replay(run_id) re-executes a run with every effect served from its journal.",
)


def answer(request: ModelRequest) -> str:
    """The scripted model: find the knowledge line that shares the most words with the question."""
    system = next(m.text for m in request.messages if m.role == "system")
    question = next(m.text for m in reversed(request.messages) if m.role == "user")
    knowledge = [line.removeprefix("- ") for line in system.splitlines() if line.startswith("- ") and "(" in line]
    words = set(re.findall(r"\w+", question.lower()))
    best = max(knowledge, key=lambda line: len(words & set(re.findall(r"\w+", line.lower()))))
    return f"From the docs: {best}"


agent = Agent(
    model=Model.scripted([answer]),
    instructions="Answer from the knowledge given; quote it.",
    checkpoint_store=MemoryStore(),
)

if __name__ == "__main__":
    result = agent.run_sync("How do I start a new run from a step with an update?", context=RunContext(knowledge=DOCS))
    print(f"status: {result.status}")
    print(f"answer: {result.output}")
