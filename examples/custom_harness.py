"""A custom harness at the kernel level: a review loop written as its own graph and embedded in a larger
graph as one node (``graph.as_node("review")``). Its nodes run with paths like ``review/critique``, are
checkpointed like any other, and swapping the strategy is swapping the function that builds the subgraph.

    python examples/custom_harness.py
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from loomflow import END, Graph, Interpreter, MemoryStore, State, Update, add, append, node


class Doc(State):
    text: str = ""
    notes: Annotated[tuple[str, ...], append] = ()
    rounds: Annotated[int, add] = 0


@node
async def draft(ctx):
    return Update({"text": "loomflow runs agents as graphs"})


@node(max_visits=5, routes=("revise", "ok"))
async def critique(ctx):
    text = ctx.state.text
    if not text[:1].isupper():
        return Update({"notes": ["start with a capital letter"]}, route="revise")
    if not text.endswith("."):
        return Update({"notes": ["end with a full stop"]}, route="revise")
    return Update(route="ok")


@node
async def revise(ctx):
    text, note = ctx.state.text, ctx.state.notes[-1]
    fixed = text[:1].upper() + text[1:] if "capital" in note else text + "."
    return Update({"text": fixed, "rounds": 1})


@node
async def publish(ctx):
    return Update({"notes": [f"published after {ctx.state.rounds} revision(s)"]})


def review_loop() -> Graph[Doc]:
    """The harness: critique -> revise -> critique ... until it passes."""
    return Graph(
        "review_loop",
        state=Doc,
        nodes=[critique, revise],
        edges=[("critique", "revise", "revise"), ("revise", "critique"), ("critique", END, "ok")],
        start="critique",
    )


def pipeline(harness: Graph[Doc]) -> Graph[Doc]:
    """draft -> [review harness] -> publish."""
    return Graph(
        "pipeline",
        state=Doc,
        nodes=[draft, harness.as_node("review"), publish],
        edges=[("draft", "review"), ("review", "publish"), ("publish", END)],
        start="draft",
    )


async def main() -> None:
    graph = pipeline(review_loop())
    print(graph.to_ascii(), end="\n\n")
    result = await Interpreter(graph, store=MemoryStore()).run()
    print(f"status: {result.status}; text: {result.state.text!r}")
    print(f"notes: {list(result.state.notes)}\n")
    print(result.trace)


if __name__ == "__main__":
    asyncio.run(main())
