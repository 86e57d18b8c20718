"""``make demo``: a run on the embedded defaults that shows its graph, its checkpoints and a resume.

A small publishing graph runs on the SQLite store (``.loomflow/loomflow.db``): it drafts, pauses at a
review interrupt, and is resumed with the reviewer's decision, exactly as a second process would do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TextIO

from loomflow.checkpoint import SQLiteStore
from loomflow.checkpoint.codec import loads
from loomflow.graph import END, Graph
from loomflow.interpreter import Interpreter, RunResult
from loomflow.nodedef import NodeContext, node
from loomflow.outcomes import Pause, Update
from loomflow.state import State, add, append
from loomflow.trace import summarize
from loomflow.viz import overlay_from_steps, to_ascii

__all__ = ["demo_graph", "run_demo"]


class Article(State):
    topic: str = ""
    drafts: Annotated[tuple[str, ...], append] = ()
    notes: Annotated[tuple[str, ...], append] = ()
    revisions: Annotated[int, add] = 0
    published: str = ""


@node(max_visits=5)
async def draft(ctx: NodeContext[Article]) -> Update:
    version = len(ctx.state.drafts) + 1
    note = f" (addressing: {ctx.state.notes[-1]})" if ctx.state.notes else ""
    return Update({"drafts": [f"v{version}: a short piece on {ctx.state.topic}{note}"]})


@node(interrupts=True, routes=("approve", "revise"))
async def review(ctx: NodeContext[Article]) -> Update | Pause:
    if not ctx.answered("decision"):
        return ctx.interrupt(
            "decision", kind="review", prompt=f"Publish this?\n  {ctx.state.drafts[-1]}", allowed=("approve", "reject")
        )
    decision = ctx.answer("decision")
    if decision == "approve":
        return Update(route="approve")
    return Update({"notes": [decision["reject"]], "revisions": 1}, route="revise")


@node
async def publish(ctx: NodeContext[Article]) -> Update:
    async def write_file() -> str:  # the side effect, journaled: a resumed run never repeats it
        out = Path(".loomflow") / "published.txt"
        out.parent.mkdir(exist_ok=True)
        with out.open("a") as f:
            f.write(ctx.state.drafts[-1] + "\n")
        return str(out)

    where = await ctx.effect("publish", write_file, request={"draft": ctx.state.drafts[-1]})
    return Update({"published": where})


def demo_graph() -> Graph[Article]:
    return Graph(
        "publish",
        state=Article,
        nodes=[draft, review, publish],
        edges=[
            ("draft", "review"),
            ("review", "publish", "approve"),
            ("review", "draft", "revise"),
            ("publish", END),
        ],
        start="draft",
    )


async def run_demo(out: TextIO, db: str | Path = ".loomflow/loomflow.db") -> RunResult[Article]:
    graph = demo_graph()

    def say(text: str = "") -> None:
        print(text, file=out)

    say(f"== the graph ({graph.fingerprint}) ==\n{graph.to_ascii()}\n")
    first = Interpreter(graph, store=SQLiteStore(db))
    result = await first.run({"topic": "explicit run graphs"})
    say(f"== run {result.run_id}: {result.status} ==")
    assert result.interrupt is not None
    say(f"waiting at {result.interrupt.node_path!r} ({result.interrupt.kind}): {result.interrupt.prompt}\n")
    await _checkpoints(first, result.run_id, say)

    # A second interpreter with its own store connection stands for another process resuming the run.
    second = Interpreter(graph, store=SQLiteStore(db))
    say(f"\n== resume {result.run_id} with a rejection, from a fresh interpreter ==")
    result = await second.resume(result.run_id, value={"reject": "add a concrete example"})
    say(f"status: {result.status}")
    say(f"\n== resume {result.run_id} with an approval ==")
    result = await second.resume(result.run_id, value="approve")
    say(f"status: {result.status}; published to {result.state.published}\n")
    await _checkpoints(second, result.run_id, say)
    steps = await second.history(result.run_id)
    overlay = overlay_from_steps(steps, start=graph.start_path, status=result.status, run_id=result.run_id)
    say(f"\n== the path run {result.run_id} took ==\n{to_ascii(graph.structure(), overlay)}")
    say(f"\n== its canonical trace ==\n{result.trace}")
    return result


async def _checkpoints(interp: Interpreter[Article], run_id: str, say: Callable[[str], None]) -> None:
    say(f"{'step':>4}  {'node':<8} {'status':<12} {'route':<8} writes")
    for rec in await interp.history(run_id):
        writes = ", ".join(f"{k}={summarize(v, 40)}" for k, v in loads(rec.writes).items()) or "-"
        say(f"{rec.step:>4}  {rec.node_path:<8} {rec.status:<12} {rec.route or '-':<8} {writes}")


def main(out: TextIO) -> int:
    asyncio.run(run_demo(out))
    return 0
