#!/usr/bin/env python3
"""Where a cold resume's time goes: W4 at the agent level, phase by phase, loomflow beside LangGraph.

    python bench/breakdown_w4.py                    # 9 resuming processes per side, interleaved
    python bench/breakdown_w4.py --runs 15 --no-langgraph

Each side's run is crashed once inside its 100th tool call (as ``run.py``'s W4); then every measured
process starts from a copy of that crashed database and runs the side's agent worker unchanged
(``worker_loomflow_agent.py`` / ``worker_langgraph_agent.py``, ``--workload w4-resume``), under a few
lines that import ``asyncio`` and pydantic first and time them, and note the moment exit handlers ran:

    start       process spawn until its first line of Python (interpreter start-up)
    asyncio     ``import asyncio`` (both sides and the baseline need it)
    pydantic    ``from pydantic import BaseModel, Field`` and a first model class, whose validator loads
                pydantic's plugin machinery (``importlib.metadata``, about 15 ms); both sides need it:
                loomflow's messages and LangGraph's langchain-core messages are pydantic models
    imports     the worker's own imports after those: the framework (its ``T_IMPORT``)
    open        building the agent and opening its store
    load        reading the crashed run's state (``Agent.state`` / ``aget_state``)
    continue    running it to the end (``Agent.resume`` / ``ainvoke``)
    other       the rest inside the process: the worker's module, arguments, event loop, closing
    teardown    after the exit handlers, until the parent sees the process end (interpreter
                finalization: clearing modules and collecting everything still alive)

Prints medians (ms). The bench itself (``run.py``) times the worker started directly; this wrapper adds
well under a millisecond. Uses the same virtualenvs as ``run.py`` (installing them when needed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import run
from common import SCRATCH

HERE = Path(__file__).resolve().parent
PHASES = ("start", "asyncio", "pydantic", "imports", "open", "load", "continue", "other", "teardown")
SIDES = {  # side -> (worker, database file, variant, persist): run.py's W4 agent-level jobs
    "loomflow": ("worker_loomflow_agent.py", "lfa-w4.db", "agent", "sqlite"),
    "langgraph": ("worker_langgraph_agent.py", "lga-w4.db", "prebuilt", "sqlite-normal"),
}
WRAPPER = """\
import time
T0 = time.time()
import atexit, json, runpy, sys
marks = {"t0": T0}
atexit.register(lambda: print("PHASES " + json.dumps({**marks, "exit": time.time()}), flush=True))
t = time.time(); import asyncio; marks["asyncio"] = time.time() - t
t = time.time()
from pydantic import BaseModel, Field
class _First(BaseModel):  # pydantic's first validator loads its plugin machinery (importlib.metadata)
    x: int = Field(default=0)
marks["pydantic"] = time.time() - t
sys.argv = sys.argv[1:]
sys.path.insert(0, ".")
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def worker_args(side: str, workload: str) -> list[str]:
    script, _, variant, persist = SIDES[side]
    return [script, "--workload", workload, "--variant", variant, "--persist", persist, "--reps", "1"]


def env() -> dict[str, str]:
    e = dict(os.environ, LANGSMITH_TRACING="false", LANGCHAIN_TRACING_V2="false", PYTHONHASHSEED="0")
    e.pop("BENCH_CRASH_AT", None)
    return e


def db_files(name: str) -> list[Path]:
    return [p for p in SCRATCH.glob(name + "*") if p.name in {name, name + "-wal", name + "-shm"}]


def prepare(side: str, stash: Path) -> None:
    """Crash the side's W4 run once and keep the crashed database files in ``stash``."""
    p = subprocess.run(
        [run.PY[side], *worker_args(side, "w4-prepare")],
        cwd=HERE,
        env={**env(), "BENCH_CRASH_AT": run.CRASH_AT},
        capture_output=True,
        text=True,
    )
    if p.returncode != 17:
        sys.exit(f"{side}: w4-prepare exited {p.returncode}, not with the crash (17):\n{p.stderr[-2000:]}")
    stash.mkdir(parents=True, exist_ok=True)
    for f in db_files(SIDES[side][1]):
        shutil.copy2(f, stash / f.name)


def measure(side: str, stash: Path) -> dict[str, float]:
    """One resuming process from a fresh copy of the crashed database: its phases in seconds."""
    name = SIDES[side][1]
    for f in db_files(name):
        f.unlink()
    for f in stash.iterdir():
        shutil.copy2(f, SCRATCH / f.name)
    spawned = time.time()
    p = subprocess.run(
        [run.PY[side], "-c", WRAPPER, *worker_args(side, "w4-resume")],
        cwd=HERE,
        env=env(),
        capture_output=True,
        text=True,
    )
    ended = time.time()
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in p.stdout.splitlines() if " " in line}
    if p.returncode != 0 or "RESULT" not in lines or "PHASES" not in lines:
        sys.exit(f"{side}: w4-resume exited {p.returncode}:\n{p.stderr[-2000:]}")
    res, marks = json.loads(lines["RESULT"]), json.loads(lines["PHASES"])
    inside = marks["exit"] - marks["t0"]
    opened = res["t_resume_total"] - res["t_load"] - res["t_continue"]
    known = marks["asyncio"] + marks["pydantic"] + res["t_import"] + res["t_resume_total"]
    return {
        "start": marks["t0"] - spawned,
        "asyncio": marks["asyncio"],
        "pydantic": marks["pydantic"],
        "imports": res["t_import"],
        "open": opened,
        "load": res["t_load"],
        "continue": res["t_continue"],
        "other": inside - known,
        "teardown": ended - marks["exit"],
        "wall": ended - spawned,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=9, help="resuming processes per side")
    ap.add_argument("--no-langgraph", action="store_true", help="loomflow only (no LangGraph install)")
    a = ap.parse_args()
    run.PY["loomflow"] = run.ensure_loomflow()
    sides = ["loomflow"]
    if not a.no_langgraph:
        run.PY["langgraph"] = run.ensure_langgraph()
        sides.append("langgraph")
    stash = SCRATCH / "w4-breakdown"
    samples: dict[str, list[dict[str, float]]] = {}
    for side in sides:
        prepare(side, stash / side)
        samples[side] = []
    for i in range(a.runs):
        for side in sides if i % 2 == 0 else sides[::-1]:
            samples[side].append(measure(side, stash / side))
    shutil.rmtree(stash, ignore_errors=True)

    med = {s: {k: statistics.median(r[k] for r in rows) for k in (*PHASES, "wall")} for s, rows in samples.items()}
    head = f"{'phase (median ms)':<20}" + "".join(f"{s:>12}" for s in sides)
    print(f"W4 cold resume at the agent level: {a.runs} processes per side, Python {sys.version.split()[0]}\n")
    print(head)
    print("-" * len(head))
    for k in (*PHASES, "wall"):
        print(f"{k:<20}" + "".join(f"{med[s][k] * 1e3:12.1f}" for s in sides))
    if "langgraph" in med:
        lf, lg = med["loomflow"], med["langgraph"]
        print(f"\nwall ratio loomflow / LangGraph: {lf['wall'] / lg['wall']:.2f}x")
        shared = lf["start"] + lf["asyncio"] + lf["pydantic"]
        print(
            f"interpreter start, asyncio and pydantic alone: {shared * 1e3:.0f} ms, "
            f"{shared / lg['wall']:.2f}x of LangGraph's wall"
        )


if __name__ == "__main__":
    main()
