"""Workload sizes, the fake model and the timing helpers shared by every benchmark worker.

Adapted from the peer harness the benchmark figures in the project's design notes were measured with
(``shared/bench/peers/common.py``: same workload sizes, same fake model, same payloads), so that
loomflow, LangGraph and the plain-Python baseline run exactly the same work.

Stdlib only: the LangGraph worker imports this module from its own virtualenv.

The fake chat model is deterministic and O(1) per call: it decides from the *last* message only, so
the model never adds O(history) work and what is measured is the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeAlias

SCRATCH = Path(os.environ.get("BENCH_SCRATCH", "/tmp/loomflow-bench-scratch"))

# ---------------------------------------------------------------- workloads
W1_TOOL_TURNS = 100  # react-100: 100 tool turns, then a final answer
W1_TOOL_RESULT_BYTES = 256  # size of each tool result message content
W1_ANSWER_BYTES = 64
W1_PROMPT = "please use the lookup tool 100 times"  # the user message that starts W1 (and W4)
W2_TURNS = 200  # long-history: 200 sequential user turns
W2_MSG_BYTES = 1024  # ~1 KB user message and ~1 KB assistant answer
W3_FANOUT = 50  # fanout-50
W3_RESULT_BYTES = 256
W3_CONCURRENCY = 16  # bound on concurrent sub-tasks inside a fan-out node (where the engine lets us bound)
CRASH_AT = 100  # W4: the process dies inside this tool call (1-based)
K_STEPS = 1000  # kernel micro-benchmark: steps of the no-op loop
K_APPEND_STEPS = 200  # kernel micro-benchmark (c): steps appending K_APPEND_BYTES each
K_APPEND_BYTES = 2048

Message = dict[str, Any]

_FILLER = (
    "The quick brown fox jumps over the lazy dog while loomflow checkpoints "
    "its state; agents call tools, gates judge quality, and runs resume. "
)


def text(seed: int, nbytes: int) -> str:
    """Deterministic ASCII text of exactly ``nbytes``, varying with ``seed``."""
    base = f"[{seed}] "
    reps = nbytes // len(_FILLER) + 2
    body = (_FILLER * reps)[seed % len(_FILLER) :]
    return (base + body)[:nbytes]


# ---------------------------------------------------------- fake chat model
# Messages are plain dicts: {"role", "content", "tool_calls"?, "tool_call_id"?}


def next_turn_from_last(last_role: str, last_tool_call_id: str | None) -> int:
    """Turn index k (0-based) the model is about to take, from the last message."""
    if last_role == "tool" and last_tool_call_id:
        return int(last_tool_call_id.rsplit("_", 1)[1]) + 1
    return 0


def fake_model_dict(messages: Sequence[Message], n_tool_turns: int, answer_bytes: int = W1_ANSWER_BYTES) -> Message:
    """An assistant message: one tool call for turns < ``n_tool_turns``, else a text answer."""
    last = messages[-1]
    k = next_turn_from_last(last["role"], last.get("tool_call_id"))
    if k < n_tool_turns:
        return {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"name": "lookup", "args": {"q": f"query {k}"}, "id": f"call_{k}"}],
        }
    return {"role": "assistant", "content": text(len(messages), answer_bytes), "tool_calls": []}


def fake_tool(call: Message, result_bytes: int = W1_TOOL_RESULT_BYTES) -> Message:
    k = int(call["id"].rsplit("_", 1)[1])
    maybe_crash(k)
    return {"role": "tool", "content": text(k, result_bytes), "tool_call_id": call["id"]}


def maybe_crash(k: int) -> None:
    """W4: simulate a hard process death inside the tool call of turn ``BENCH_CRASH_AT``."""
    crash_at = os.environ.get("BENCH_CRASH_AT")
    if crash_at is not None and k == int(crash_at) - 1:
        sys.stdout.flush()
        os._exit(17)


# ------------------------------------------------------------- measurement


def rss_peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def proc_io() -> dict[str, int]:
    """Bytes handed to write()/read() syscalls by this process (all threads)."""
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            k, v = line.split(":")
            out[k.strip()] = int(v)
    except OSError:
        pass
    return out


def file_bytes(path: Path) -> int:
    """Size of an SQLite database file plus its WAL and rollback journal, if present."""
    total = 0
    for cand in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
        if cand.exists():
            total += cand.stat().st_size
    return total


def sqlite_payload_bytes(path: Path) -> dict[str, int]:
    """Bytes of every TEXT/BLOB value stored, per table: what a store keeps, without page overhead.

    Schema-agnostic, so the same count applies to the baseline's table, LangGraph's checkpoint
    tables and loomflow's store.
    """
    out: dict[str, int] = {}
    conn = sqlite3.connect(str(path))
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[2].upper() in ("TEXT", "BLOB", "")]
            if cols:
                total = " + ".join(f"coalesce(length({c}), 0)" for c in cols)
                out[table] = int(conn.execute(f"SELECT coalesce(sum({total}), 0) FROM {table}").fetchone()[0])
    finally:
        conn.close()
    return out


def json_bytes(obj: Any) -> int:
    """Size of ``obj`` as compact JSON: the common measure of a final state on every side."""
    return len(json.dumps(obj, separators=(",", ":")).encode())


def fresh_path(name: str) -> Path:
    """A path in the scratch folder with no database (or WAL, SHM, journal) left from an earlier run."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    p = SCRATCH / name
    for cand in (p, Path(f"{p}-wal"), Path(f"{p}-shm"), Path(f"{p}-journal")):
        if cand.is_dir():
            shutil.rmtree(cand)
        elif cand.exists():
            cand.unlink()
    return p


def summarize(xs: list[float]) -> dict[str, float]:
    return {"n": len(xs), "median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def base_args(worker: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=f"{worker} benchmark worker")
    ap.add_argument("--workload", required=True)
    ap.add_argument("--variant", default="default")
    ap.add_argument("--persist", default="none")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    return ap.parse_args()


def result_header(side: str, a: argparse.Namespace, t_import: float, version: str | None = None) -> dict[str, Any]:
    """The fields every worker's RESULT line starts with."""
    res: dict[str, Any] = {
        "side": side,
        "variant": a.variant,
        "workload": a.workload,
        "persist": a.persist,
        "t_import": t_import,
    }
    if version is not None:
        res["version"] = version
    return res


def time_reps(res: dict[str, Any], run_once: Callable[[], float], a: argparse.Namespace) -> None:
    """Timed repetitions of ``run_once`` (see ``timed_reps``) and their summary, into ``res``."""
    res["times"] = timed_reps(run_once, a.reps, a.warmup)
    res["summary"] = summarize(res["times"])


def measure_store(res: dict[str, Any], path: Path, run: Callable[[], Any], state: Callable[[Any], Any]) -> None:
    """Run a history workload on the SQLite file ``path`` and record its time, the bytes in the store
    (file and stored values), the final state's size (``state(result)``) and the bytes the process wrote."""
    io0 = proc_io()
    t = time.perf_counter()
    final = run()
    res["total"] = time.perf_counter() - t
    io1 = proc_io()
    store_bytes(res, path)
    res["state_bytes"] = json_bytes(state(final))
    res["wchar"] = io1.get("wchar", 0) - io0.get("wchar", 0)


def store_bytes(res: dict[str, Any], path: Path) -> None:
    """The bytes in the SQLite store ``path``: the file (WAL and journal included) and the stored values."""
    res["db_bytes"] = file_bytes(path)
    res["row_bytes_by_table"] = sqlite_payload_bytes(path)
    res["row_bytes"] = sum(res["row_bytes_by_table"].values())


def emit(result: dict[str, Any]) -> None:
    """Worker -> runner channel: one JSON line prefixed with RESULT."""
    print("RESULT " + json.dumps(result), flush=True)


def timed_reps(run_once: Callable[[], float], reps: int, warmup: int) -> list[float]:
    """``run_once() -> seconds`` (it times itself, so that setup is excluded)."""
    for _ in range(warmup):
        run_once()
    return [run_once() for _ in range(reps)]


def now() -> float:
    return time.perf_counter()


# ------------------------------------------------------------- worker main
Handler: TypeAlias = Callable[[argparse.Namespace, dict[str, Any]], None]
"""The body of one workload: it gets the worker's arguments and fills the RESULT dict."""


def run_worker(
    worker: str, side: str, t_import: float, workloads: Mapping[str, Handler], version: str | None = None
) -> None:
    """A worker's ``main``: parse the arguments, run the handler of ``--workload``, print the RESULT line."""
    a = base_args(worker)
    res = result_header(side, a, t_import, version)
    handler = workloads.get(a.workload)
    if handler is None:
        raise SystemExit(f"unknown workload {a.workload!r}")
    handler(a, res)
    emit(res)


def timed(once: Callable[[str], float]) -> Handler:
    """A workload timed run by run: ``once(persist)`` makes one run and returns its seconds (``time_reps``)."""
    return lambda a, res: time_reps(res, lambda: once(a.persist), a)


def in_loop(body: Callable[[str, dict[str, Any]], Coroutine[Any, Any, object]]) -> Handler:
    """A workload whose body is the coroutine ``body(persist, res)``, run in a fresh event loop."""
    return lambda a, res: asyncio.run(body(a.persist, res))


def peak_rss(run: Callable[[str], object]) -> Handler:
    """The ``rss`` workload: the peak RSS after the imports, and after one ``run(persist)``."""

    def handler(a: argparse.Namespace, res: dict[str, Any]) -> None:
        rss0 = rss_peak_kib()
        run(a.persist)
        res.update(rss_after_import_kib=rss0, rss_peak_kib=rss_peak_kib())

    return handler


def crashing(prepare: Callable[[str], Coroutine[Any, Any, object]]) -> Handler:
    """W4's first process (``w4-prepare``): ``prepare(persist)`` dies inside the tool call of turn
    ``BENCH_CRASH_AT`` (``maybe_crash``); returning is an error."""

    def handler(a: argparse.Namespace, res: dict[str, Any]) -> NoReturn:
        asyncio.run(prepare(a.persist))
        raise SystemExit("expected to crash")

    return handler
