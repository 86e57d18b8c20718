#!/usr/bin/env python3
"""Run the benchmark: loomflow, LangGraph and the plain-Python baseline on the same workloads.

    python bench/run.py            # the measured run: 5 interleaved rounds (about 4.5 minutes on 2 cores)
    python bench/run.py --quick    # one round, 3 repetitions (about 70 s once LangGraph is installed)

Every (side, workload, persistence) job is a fresh subprocess that prints one ``RESULT {json}`` line;
the jobs of a round run in a shuffled order, so that drift of the machine spreads over every side.
LangGraph is installed into its own virtualenv under ``$BENCH_VENVS`` (default
``/tmp/loomflow-bench-venvs``) from ``requirements-langgraph.txt``; loomflow is installed the way users
get it from PyPI (a regular, non-editable install with compiled bytecode) into a virtualenv of its own
beside it, reinstalled whenever the working tree changes, and the baseline runs on that interpreter too
(``--in-place`` runs both on this interpreter instead). Results: ``bench/results/raw-<stamp>.jsonl``
(every RESULT line), then ``summarize.py`` writes ``bench/results/latest.md`` and ``latest.json``.

Adapted from the peer harness's orchestrator (``shared/bench/peers/run_all.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", HERE / "results"))
VENVS = Path(os.environ.get("BENCH_VENVS", "/tmp/loomflow-bench-venvs"))
LG_REQUIREMENTS = HERE / "requirements-langgraph.txt"
SCRIPT = {"baseline": "worker_baseline.py", "langgraph": "worker_langgraph.py", "loomflow": "worker_loomflow.py"}
# agent-level variants: loomflow's Agent and LangGraph's create_react_agent, each in a worker of its own
# (so that the graph-level workers' import times stay those of the graph APIs)
AGENT_SCRIPT = {"loomflow": "worker_loomflow_agent.py", "langgraph": "worker_langgraph_agent.py"}
AGENT_VARIANTS = ("agent", "prebuilt")
PY: dict[str, str] = {"baseline": sys.executable, "loomflow": sys.executable, "langgraph": ""}
CRASH_AT = "100"


@dataclasses.dataclass(frozen=True)
class Job:
    side: str
    workload: str
    persist: str
    variant: str = "default"


def jobs(side: str, workload: str, *persists: str, variant: str = "default") -> list[Job]:
    return [Job(side, workload, p, variant) for p in persists]


# Persistence modes are explained in each worker's docstring; summarize.py pairs them by class.
W1 = [
    *jobs("baseline", "w1", "none", "memory", "sqlite-normal", "sqlite-full", "sqlite-batch"),
    *jobs("langgraph", "w1", "none", "memory", "sqlite-normal", "sqlite-dsync", "sqlite"),
    *jobs("loomflow", "w1", "none", "memory", "sqlite", "sqlite-full", "sqlite-async"),
    Job("loomflow", "w1", "sqlite", "journaled"),
    # agent level: loomflow Agent vs LangGraph create_react_agent
    *jobs("loomflow", "w1", "none", "memory", "sqlite", variant="agent"),
    *jobs("langgraph", "w1", "none", "memory", "sqlite-normal", variant="prebuilt"),
]
W3 = [
    *jobs("baseline", "w3", "none", "memory", "sqlite-normal"),
    *jobs("langgraph", "w3", "none", "memory", "sqlite-normal"),
    *jobs("loomflow", "w3", "none", "memory", "sqlite"),
    Job("loomflow", "w3", "sqlite", "journaled"),
]
W2 = [
    Job("baseline", "w2", "sqlite-normal"),
    Job("langgraph", "w2", "sqlite-normal"),
    Job("loomflow", "w2", "sqlite", "session"),
    Job("loomflow", "w2", "sqlite", "loop"),
    Job("loomflow", "w2", "sqlite", "agent"),  # a Session of 200 session.run() turns
    Job("langgraph", "w2", "sqlite-normal", "prebuilt"),  # create_react_agent, 200 ainvokes on one thread
]
W4 = [
    Job("baseline", "w4-resume", "sqlite-normal"),
    Job("langgraph", "w4-resume", "sqlite-normal"),
    Job("langgraph", "w4-resume", "sqlite"),
    Job("loomflow", "w4-resume", "sqlite"),
    Job("loomflow", "w4-resume", "sqlite-async"),
    Job("loomflow", "w4-resume", "sqlite", "agent"),  # await Agent(...same config...).resume(run_id)
    Job("langgraph", "w4-resume", "sqlite-normal", "prebuilt"),
]
KERNEL = [
    *jobs("baseline", "k-steps", "none", "sqlite-normal"),
    *jobs("loomflow", "k-steps", "none", "sqlite"),
    Job("baseline", "k-append", "sqlite-normal"),
    Job("loomflow", "k-append", "sqlite"),
]
RSS = [
    *jobs("baseline", "rss", "none", "sqlite-normal"),
    *jobs("langgraph", "rss", "none", "sqlite-normal"),
    *jobs("loomflow", "rss", "none", "sqlite"),
    *jobs("loomflow", "rss", "none", "sqlite", variant="agent"),
    *jobs("langgraph", "rss", "none", "sqlite-normal", variant="prebuilt"),
]
IMPORTS = {
    "python -c pass": ("baseline", "pass"),
    "import asyncio, sqlite3, json": ("baseline", "import asyncio, sqlite3, json"),
    "import loomflow": ("loomflow", "import loomflow"),
    "from loomflow import Graph, Interpreter, SQLiteStore": (
        "loomflow",
        "from loomflow import Graph, Interpreter, SQLiteStore",
    ),
    "from loomflow import Agent, SQLiteStore, tool": ("loomflow", "from loomflow import Agent, SQLiteStore, tool"),
    "LangGraph: StateGraph + AsyncSqliteSaver": (
        "langgraph",
        "from langgraph.graph import StateGraph; from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver",
    ),
    "LangGraph: create_react_agent + AsyncSqliteSaver + @tool": (
        "langgraph",
        "from langgraph.prebuilt import create_react_agent; from langchain_core.tools import tool; "
        "from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver",
    ),
}
GROUPS = {"w1": W1, "w3": W3, "w2": W2, "w4": W4, "kernel": KERNEL}


# ------------------------------------------------------------------ environment
def tree_digest() -> str:
    """A digest of what a wheel of the working tree contains: the package and its metadata."""
    h = hashlib.sha256()
    root = HERE.parent
    for path in sorted([root / "pyproject.toml", *(root / "loomflow").rglob("*")]):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def ensure_venv(name: str, what: str, stamp: str, install: Callable[[list[str]], None], fallback: str) -> str:
    """The python of the bench virtualenv ``name``, (re)installed when ``stamp`` changed since last time.

    ``install`` gets the venv's ``pip install`` command line and runs what it needs.
    """
    venv = VENVS / name
    py = venv / "bin" / "python"
    stamp_file = venv / ".bench-stamp"
    if py.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return str(py)
    print(f"== installing {what} into {venv}", flush=True)
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
    except subprocess.CalledProcessError as exc:
        sys.exit(f"could not install {what} into {venv} ({exc}); {fallback}")
    stamp_file.write_text(stamp)
    return str(py)


def ensure_loomflow() -> str:
    """A virtualenv with loomflow installed as users get it: a regular install, bytecode compiled.

    An editable install pays for its import finder at every interpreter start, and a machine that sets
    ``PYTHONDONTWRITEBYTECODE`` would compile loomflow from source in every fresh process; LangGraph's side
    is a regular install from PyPI, so loomflow's is one too.
    """

    def install(pip: list[str]) -> None:
        # from a copy: pip builds a local project in its own tree (build/, *.egg-info)
        with tempfile.TemporaryDirectory() as tmp:
            root = HERE.parent
            for name in ("pyproject.toml", "README.md"):
                shutil.copy2(root / name, tmp)
            shutil.copytree(root / "loomflow", Path(tmp) / "loomflow", ignore=shutil.ignore_patterns("__pycache__"))
            subprocess.run([*pip, tmp], check=True)  # its dependencies (the first time)
            subprocess.run([*pip, "--no-deps", "--force-reinstall", tmp], check=True)  # this tree's loomflow

    return ensure_venv(
        "lf", "loomflow (this working tree, non-editable)", tree_digest(), install, "run with --in-place instead"
    )


def ensure_langgraph() -> str:
    """The LangGraph virtualenv's python, created and installed on first use (pinned requirements)."""
    return ensure_venv(
        "lg",
        "LangGraph (pinned requirements)",
        LG_REQUIREMENTS.read_text(),
        lambda pip: subprocess.run([*pip, "-r", str(LG_REQUIREMENTS)], check=True),
        "run with --no-langgraph to skip that side",
    )


def run_proc(side: str, args: list[str], crash_at: str | None = None, timeout: float = 900) -> dict[str, Any]:
    """Run one worker (or ``python -c``) in a fresh process; its RESULT lines, exit code and wall time."""
    env = dict(os.environ, LANGSMITH_TRACING="false", LANGCHAIN_TRACING_V2="false", PYTHONHASHSEED="0")
    env.pop("BENCH_CRASH_AT", None)
    if crash_at is not None:
        env["BENCH_CRASH_AT"] = crash_at
    t = time.perf_counter()
    p = subprocess.run([PY[side], *args], cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    results = [json.loads(line[7:]) for line in p.stdout.splitlines() if line.startswith("RESULT ")]
    return {"rc": p.returncode, "wall": wall, "results": results, "stderr": p.stderr[-3000:]}


def run_job(out: TextIO, rnd: int, job: Job, reps: int, warmup: int) -> None:
    script = AGENT_SCRIPT[job.side] if job.variant in AGENT_VARIANTS else SCRIPT[job.side]
    args = [script, "--workload", job.workload, "--variant", job.variant, "--persist", job.persist]
    args += ["--reps", str(reps), "--warmup", str(warmup)]
    if job.workload == "w4-resume":
        prep = run_proc(job.side, [*args[:2], "w4-prepare", *args[3:]], crash_at=CRASH_AT)
        if prep["rc"] != 17:
            print(f"  !! {job} w4-prepare rc={prep['rc']} (expected the crash, 17)\n{prep['stderr']}", file=sys.stderr)
            return
    proc = run_proc(job.side, args)
    if proc["rc"] != 0 or not proc["results"]:
        print(f"  !! {job} rc={proc['rc']}\n{proc['stderr']}", file=sys.stderr)
        return
    r = proc["results"][0]
    r.update(round=rnd, wall_process=proc["wall"])
    out.write(json.dumps(r) + "\n")
    out.flush()
    shown = r.get("summary", {}).get("median", r.get("total", r.get("t_resume_total")))
    figure = f"{shown * 1e3:9.2f} ms" if shown is not None else " " * 12
    print(
        f"  r{rnd} {job.workload:9s} {job.side:9s} {job.variant:9s} {job.persist:13s} {figure}  "
        f"process {proc['wall']:.1f}s",
        flush=True,
    )


def run_imports(out: TextIO, reps: int, rng: random.Random, sides: set[str]) -> None:
    names = [n for n, (side, _) in IMPORTS.items() if side in sides]
    for rep in range(reps):
        rng.shuffle(names)
        for name in names:
            side, stmt = IMPORTS[name]
            proc = run_proc(side, ["-c", stmt])
            if proc["rc"] != 0:
                print(f"  !! import {name!r} failed\n{proc['stderr']}", file=sys.stderr)
                continue
            out.write(json.dumps({"workload": "import", "name": name, "side": side, "rep": rep, "wall": proc["wall"]}))
            out.write("\n")
    for name in names:  # one -X importtime breakdown each: the heaviest top-level imports
        side, stmt = IMPORTS[name]
        p = subprocess.run([PY[side], "-X", "importtime", "-c", stmt], capture_output=True, text=True, cwd=HERE)
        rows = []
        for line in p.stderr.splitlines():
            if line.startswith("import time:") and "cumulative" not in line:
                _, cumulative, module = (x.strip() for x in line[len("import time:") :].split("|"))
                if not module.startswith(" ") and "." not in module:
                    rows.append((int(cumulative), module))
        out.write(json.dumps({"workload": "importtime", "name": name, "top_cumulative_us": sorted(rows)[::-1][:6]}))
        out.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one round, 3 timed repetitions: a smoke pass")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions per job (after one warm-up)")
    ap.add_argument("--only", default="w1,w2,w3,w4,kernel,imports,rss", help="comma-separated subset")
    ap.add_argument("--no-langgraph", action="store_true", help="skip the LangGraph side (no install)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--in-place",
        action="store_true",
        help="run loomflow and the baseline on this interpreter (e.g. an editable install) instead of a fresh "
        "regular install of the working tree",
    )
    a = ap.parse_args()
    started = time.perf_counter()
    if a.in_place:
        if importlib.util.find_spec("loomflow") is None:
            sys.exit(f"loomflow is not importable from {sys.executable}; run `pip install -e .` first")
    else:
        PY["loomflow"] = PY["baseline"] = ensure_loomflow()
    sides = {"baseline", "loomflow"}
    if not a.no_langgraph:
        PY["langgraph"] = ensure_langgraph()
        sides.add("langgraph")
    rounds, reps = (1, 3) if a.quick else (a.rounds, a.reps)
    only = set(a.only.split(","))
    rng = random.Random(a.seed)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    raw = RESULTS / f"raw-{stamp}.jsonl"
    with raw.open("w") as out:
        meta = {"meta": True, "stamp": stamp, "rounds": rounds, "reps": reps, "quick": a.quick}
        meta.update(nproc=os.cpu_count(), python=sys.version.split()[0], platform=sys.platform)
        meta.update(install="in-place" if a.in_place else "regular")
        out.write(json.dumps(meta) + "\n")
        for rnd in range(rounds):
            print(f"== round {rnd + 1}/{rounds}", flush=True)
            for name, group in GROUPS.items():
                if name not in only:
                    continue
                order = [j for j in group if j.side in sides]
                rng.shuffle(order)
                for job in order:
                    run_job(out, rnd, job, reps, warmup=1)
        if "imports" in only:
            print("== imports", flush=True)
            run_imports(out, 3 if a.quick else 9, rng, sides)
        if "rss" in only:
            print("== peak RSS", flush=True)
            for job in RSS:
                if job.side in sides:
                    run_job(out, 0, job, reps=1, warmup=0)
        total = time.perf_counter() - started
        out.write(json.dumps({"meta_end": True, "total_s": total}) + "\n")

    import summarize  # bench/ is on sys.path: this script's folder

    md = summarize.write(raw, RESULTS)
    print()
    print(md)
    print(f"raw results: {raw}\ntables: {RESULTS / 'latest.md'}, {RESULTS / 'latest.json'}")
    print(f"total duration: {total:.0f} s ({total / 60:.1f} min)")


if __name__ == "__main__":
    main()
