"""Plain-Python asyncio baseline: the physical limit the engines are compared with.

Adapted from the peer harness (``shared/bench/peers/peer_baseline.py``). The same agent loop as the
engines run, with no engine: awaits of plain coroutines, state as a dict of lists and, when
persisting, one raw ``sqlite3`` INSERT of the JSON *delta* per node, committed per node, like an
engine that checkpoints after each node.

persist modes:
  none           no persistence
  memory         json.dumps(delta) appended to a Python list
  sqlite-normal  WAL, synchronous=NORMAL, commit per node (loomflow's default durability)
  sqlite-full    WAL, synchronous=FULL, commit per node (LangGraph's SqliteSaver default)
  sqlite-batch   WAL, synchronous=NORMAL, commit every 64 nodes (the limit for deferred durability)

workloads: w1 w2 w3 w4-prepare w4-resume rss, and the kernel micro-benchmarks k-steps (a no-op
1000-step loop) and k-append (200 steps appending ~2 KB each).
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import sqlite3  # noqa: E402
from collections.abc import Callable, Coroutine  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from common import (  # noqa: E402
    K_APPEND_BYTES,
    K_APPEND_STEPS,
    K_STEPS,
    SCRATCH,
    W1_PROMPT,
    W1_TOOL_TURNS,
    W2_MSG_BYTES,
    W2_TURNS,
    W3_FANOUT,
    W3_RESULT_BYTES,
    Handler,
    Message,
    crashing,
    fake_model_dict,
    fake_tool,
    file_bytes,
    fresh_path,
    json_bytes,
    peak_rss,
    proc_io,
    run_worker,
    text,
    timed,
)

T_IMPORT = time.perf_counter() - T0
BATCH = 64


class Store:
    """Where the loop puts each node's delta: nowhere, a list, or one SQLite row per node."""

    def __init__(self, mode: str, path: Path | None = None) -> None:
        self.mode = mode
        self.mem: list[str] = []
        self.conn: sqlite3.Connection | None = None
        self.pending = 0
        if mode.startswith("sqlite"):
            self.conn = sqlite3.connect(str(path), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(f"PRAGMA synchronous={'FULL' if mode == 'sqlite-full' else 'NORMAL'}")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS ckpt (thread TEXT, step INTEGER, node TEXT, data TEXT,"
                " PRIMARY KEY (thread, step))"
            )

    def put(self, thread: str, step: int, node: str, delta: Any) -> None:
        if self.mode == "none":
            return
        payload = json.dumps(delta)
        if self.conn is None:
            self.mem.append(payload)
            return
        if self.mode == "sqlite-batch":
            if not self.conn.in_transaction:
                self.conn.execute("BEGIN")
            self.conn.execute("INSERT INTO ckpt VALUES (?,?,?,?)", (thread, step, node, payload))
            self.pending += 1
            if self.pending >= BATCH:
                self.flush()
            return
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO ckpt VALUES (?,?,?,?)", (thread, step, node, payload))
        self.conn.execute("COMMIT")

    def put_many(self, thread: str, rows: list[tuple[int, str, Any]]) -> None:
        """Several pending writes (fan-out results) in one transaction."""
        if self.mode == "none":
            return
        if self.conn is None:
            self.mem.extend(json.dumps(r[2]) for r in rows)
            return
        self.conn.execute("BEGIN")
        self.conn.executemany(
            "INSERT INTO ckpt VALUES (?,?,?,?)", [(thread, step, node, json.dumps(d)) for step, node, d in rows]
        )
        self.conn.execute("COMMIT")

    def flush(self) -> None:
        if self.conn is not None and self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self.pending = 0

    def row_bytes(self) -> int:
        if self.conn is None:
            return sum(len(p) for p in self.mem)
        row = self.conn.execute("SELECT coalesce(sum(length(data)), 0) FROM ckpt").fetchone()
        return int(row[0])

    def close(self) -> None:
        self.flush()
        if self.conn is not None:
            self.conn.close()


# ------------------------------------------------------------------ W1
async def agent_node(state: dict[str, list[Message]], n_tool_turns: int) -> list[Message]:
    return [fake_model_dict(state["messages"], n_tool_turns)]


async def tools_node(state: dict[str, list[Message]]) -> list[Message]:
    return [fake_tool(c) for c in state["messages"][-1]["tool_calls"]]


async def loop(state: dict[str, list[Message]], store: Store, thread: str, step: int, next_node: str) -> int:
    while True:
        if next_node == "agent":
            delta = await agent_node(state, W1_TOOL_TURNS)
            state["messages"].extend(delta)
            step += 1
            store.put(thread, step, "agent", delta)
            if not delta[-1]["tool_calls"]:
                store.flush()
                return step
            next_node = "tools"
        else:
            delta = await tools_node(state)
            state["messages"].extend(delta)
            step += 1
            store.put(thread, step, "tools", delta)
            next_node = "agent"


async def run_w1(store: Store, thread: str = "t1") -> dict[str, list[Message]]:
    user: Message = {"role": "user", "content": W1_PROMPT}
    state = {"messages": [user]}
    store.put(thread, 0, "input", [user])
    await loop(state, store, thread, 0, "agent")
    return state


# ------------------------------------------------------------------ W2
async def run_w2(store: Store, per_turn: list[float], thread: str = "t2") -> dict[str, list[Message]]:
    state: dict[str, list[Message]] = {"messages": []}
    step = 0
    for turn in range(W2_TURNS):
        t = time.perf_counter()
        user: Message = {"role": "user", "content": text(turn, W2_MSG_BYTES)}
        state["messages"].append(user)
        step += 1
        store.put(thread, step, "input", [user])
        ai = fake_model_dict(state["messages"], 0, W2_MSG_BYTES)
        state["messages"].append(ai)
        step += 1
        store.put(thread, step, "agent", [ai])
        per_turn.append(time.perf_counter() - t)
    return state


# ------------------------------------------------------------------ W3
async def worker(i: int) -> Message:
    return fake_model_dict([{"role": "user", "content": f"sub-task {i}"}], 0, W3_RESULT_BYTES)


async def run_w3(store: Store, thread: str = "t3") -> list[Message]:
    store.put(thread, 0, "plan", [{"fanout": W3_FANOUT}])
    results = list(await asyncio.gather(*(worker(i) for i in range(W3_FANOUT))))
    store.put_many(thread, [(1 + i, "worker", [r]) for i, r in enumerate(results)])
    summary = {"role": "assistant", "content": f"reduced {len(results)}"}
    store.put(thread, 1 + W3_FANOUT, "reduce", [summary])
    return results


# ------------------------------------------------------------------ kernel micro-benchmarks
async def tick(state: dict[str, int]) -> dict[str, int]:
    return {"n": 1}


async def run_k_steps(store: Store) -> int:
    """The no-op loop: one coroutine call, one dict update and one route decision per step."""
    state = {"n": 0}
    step = 0
    while True:
        delta = await tick(state)
        state["n"] += delta["n"]
        step += 1
        store.put("k", step, "tick", delta)
        if state["n"] >= K_STEPS:
            store.flush()
            return step


async def grow(state: dict[str, list[str]], i: int) -> dict[str, list[str]]:
    return {"log": [text(i, K_APPEND_BYTES)]}


async def run_k_append(store: Store) -> dict[str, list[str]]:
    state: dict[str, list[str]] = {"log": []}
    for i in range(K_APPEND_STEPS):
        delta = await grow(state, i)
        state["log"].extend(delta["log"])
        store.put("k", i + 1, "grow", delta)
    store.flush()
    return state


# ------------------------------------------------------------------ main
def once(run: Callable[[Store], Coroutine[Any, Any, object]], name: str, persist: str) -> float:
    """One timed run of ``run`` on a fresh store ``name`` (opening and closing it untimed)."""
    store = Store(persist, fresh_path(name))
    t = time.perf_counter()
    asyncio.run(run(store))
    dt = time.perf_counter() - t
    store.close()
    return dt


def history(run: Callable[[Store, list[float]], Coroutine[Any, Any, Any]], name: str) -> Handler:
    """W2 and k-append: one run of ``run(store, per_turn)`` on a fresh store ``name``; its time, the bytes
    stored and written, the final state's size."""

    def handler(a: argparse.Namespace, res: dict[str, Any]) -> None:
        path = fresh_path(name)
        store = Store(a.persist, path)
        per_turn: list[float] = []
        io0 = proc_io()
        t = time.perf_counter()
        final = asyncio.run(run(store, per_turn))
        res["total"] = time.perf_counter() - t
        io1 = proc_io()
        res["row_bytes"] = store.row_bytes()
        store.close()
        res["per_turn"] = per_turn
        res["db_bytes"] = file_bytes(path)
        res["state_bytes"] = json_bytes(final)
        res["wchar"] = io1.get("wchar", 0) - io0.get("wchar", 0)

    return handler


async def w4_prepare(persist: str) -> None:
    store = Store(persist, fresh_path("baseline-w4.db"))
    await run_w1(store, thread="w4")  # exits inside the tool call (BENCH_CRASH_AT)


def w4_resume(persist: str, res: dict[str, Any]) -> None:
    t = time.perf_counter()
    store = Store(persist, SCRATCH / "baseline-w4.db")
    assert store.conn is not None
    rows = store.conn.execute("SELECT step, node, data FROM ckpt WHERE thread=? ORDER BY step", ("w4",)).fetchall()
    msgs: list[Message] = []
    for _, _, data in rows:
        msgs.extend(json.loads(data))
    state = {"messages": msgs}
    last_step, last_node = rows[-1][0], rows[-1][1]
    res["t_load"] = time.perf_counter() - t
    res["resumed_from_step"] = last_step
    res["messages_at_load"] = len(msgs)
    t2 = time.perf_counter()
    asyncio.run(loop(state, store, "w4", last_step, "tools" if last_node == "agent" else "agent"))
    res["t_continue"] = time.perf_counter() - t2
    res["t_resume_total"] = time.perf_counter() - t
    res["final_messages"] = len(state["messages"])
    store.close()


def main() -> None:
    workloads = {
        "w1": timed(lambda persist: once(run_w1, "baseline-w1.db", persist)),
        "w2": history(run_w2, "baseline-w2.db"),
        "w3": timed(lambda persist: once(run_w3, "baseline-w3.db", persist)),
        "w4-prepare": crashing(w4_prepare),
        "w4-resume": lambda a, res: w4_resume(a.persist, res),
        "rss": peak_rss(lambda persist: once(run_w1, "baseline-rss.db", persist)),
        "k-steps": timed(lambda persist: once(run_k_steps, "baseline-k-steps.db", persist)),
        "k-append": history(lambda store, _: run_k_append(store), "baseline-k-append.db"),
    }
    run_worker("baseline", "baseline", T_IMPORT, workloads)


if __name__ == "__main__":
    main()
