#!/usr/bin/env python3
"""Profile loomflow's side of one workload with cProfile: where does a step's time go?

    python bench/profile_loomflow.py k-steps none          # the 1000-step no-op loop, no persistence
    python bench/profile_loomflow.py w1 sqlite --runs 20   # react-100 on SQLite, 20 runs
    python bench/profile_loomflow.py w2-session sqlite     # 200 resumes of one session
    python bench/profile_loomflow.py k-steps none --sort cumulative --top 40
    python bench/profile_loomflow.py agent-w1 sqlite        # Agent.run of W1 (agent level)
    python bench/profile_loomflow.py agent-w2 sqlite        # a Session of 200 session.run() turns

Prints the top functions by own time (``--sort tottime``, the default) and writes the raw profile to
``bench/results/profile-<workload>-<persist>.prof`` (open it with snakeviz, or ``python -m pstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import time
from pathlib import Path
from typing import Any

import worker_loomflow as lf
import worker_loomflow_agent as lfa
from common import W1_PROMPT, W2_MSG_BYTES, W2_TURNS, fresh_path, text

HERE = Path(__file__).resolve().parent


async def one_run(workload: str, persist: str) -> None:
    graphs: dict[str, tuple[Any, dict[str, Any]]] = {
        "w1": (lf.w1_graph("default"), {"messages": [lf.W1_INPUT]}),
        "w1-journaled": (lf.w1_graph("journaled"), {"messages": [lf.W1_INPUT]}),
        "w3": (lf.w3_graph("default"), {}),
        "k-steps": (lf.loop_graph("ticks", lf.Tick, lf.tick), {}),
        "k-append": (lf.loop_graph("append", lf.Log, lf.grow), {}),
    }
    path = fresh_path(f"profile-{workload}.db")
    if workload == "agent-w1":
        agent = lfa.make_agent(persist, path)
        done = await agent.run(W1_PROMPT)
        assert done.status == "completed", (done.status, done.error)
        await asyncio.sleep(0)
        await agent.close()
        return
    if workload == "agent-w2":
        await lfa.w2_session(persist, path, {})
        return
    if workload == "w2-session":
        interp = lf.interpreter(lf.w2_graph("session"), persist, path)
        await interp.run({"messages": [{"role": "user", "content": text(0, W2_MSG_BYTES)}]}, run_id="t2")
        for turn in range(1, W2_TURNS):
            await interp.resume("t2", value=text(turn, W2_MSG_BYTES))
    else:
        graph, inp = graphs[workload]
        interp = lf.interpreter(graph, persist, path)
        result = await interp.run(inp)
        assert result.status == "completed", (result.status, result.error)
    await lf.close(interp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "workload", choices=["w1", "w1-journaled", "w2-session", "w3", "k-steps", "k-append", "agent-w1", "agent-w2"]
    )
    ap.add_argument("persist", nargs="?", default="none")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    runs = 1 if a.workload in ("w2-session", "agent-w2") else a.runs
    asyncio.run(one_run(a.workload, a.persist))  # warm-up: imports, caches
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    for _ in range(runs):
        asyncio.run(one_run(a.workload, a.persist))
    prof.disable()
    wall = time.perf_counter() - t
    out = HERE / "results" / f"profile-{a.workload}-{a.persist}.prof"
    out.parent.mkdir(parents=True, exist_ok=True)
    prof.dump_stats(out)
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(a.sort).print_stats(a.top)
    print(f"{a.workload} / {a.persist}: {runs} run(s) in {wall:.2f} s under cProfile (profiling inflates this)")
    print(buf.getvalue())
    print(f"raw profile: {out}")


if __name__ == "__main__":
    main()
