"""A plain graph on the kernel: state channels with reducers, a loop with an iteration limit, an
interrupt answered by ``resume``, a fork from an earlier step, and the run's history and states.

    python examples/graph_basics.py
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from loomflow import END, Graph, Interpreter, MemoryStore, State, Update, add, append, node
from loomflow.viz import overlay_from_steps, to_ascii


class Counter(State):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()


@node(max_visits=10)
async def count(ctx):
    if ctx.state.count >= 3:
        return Update(route="done")
    return Update({"count": 1, "log": [f"tick {ctx.state.count}"]}, route="again")


@node(interrupts=True)
async def confirm(ctx):
    if not ctx.answered("ok"):
        return ctx.interrupt("ok", prompt=f"Counted to {ctx.state.count}. Finish?")
    return Update({"log": [f"confirmed: {ctx.answer('ok')}"]})


graph = Graph(
    "counter",
    state=Counter,
    nodes=[count, confirm],
    edges=[("count", "count", "again"), ("count", "confirm", "done"), ("confirm", END)],
    start="count",
)


async def main() -> None:
    interp = Interpreter(graph, store=MemoryStore())
    result = await interp.run()
    print(f"1. {result.status} at {result.interrupt.node_path}: {result.interrupt.prompt}")
    result = await interp.resume(result.run_id, value="yes")
    print(f"2. resumed: {result.status}, log={list(result.state.log)}")

    branch = await interp.fork(result.run_id, at=2, update={"count": 10})
    print(f"3. forked at step 2 with count+10: {branch.status}, count={branch.state.count}")

    history = await interp.history(result.run_id)
    print(f"4. {len(history)} steps; the state after step 2: {await interp.state(result.run_id, at=2)}")
    overlay = overlay_from_steps(history, start=graph.start_path, status=result.status, structure=graph.structure())
    print(f"\nthe path it took:\n{to_ascii(graph.structure(), overlay)}")
    print(f"\nits trace:\n{result.trace}")


if __name__ == "__main__":
    asyncio.run(main())
