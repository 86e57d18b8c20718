"""What the two LangGraph workers share: the checkpointer of each persistence mode, the run config, and the
bodies of the W1 timed run, W2's turns and W4's two processes, around a graph each worker builds its own way.

Runs in LangGraph's virtualenv only. The workers import the modules this one uses inside their ``T_IMPORT``
region and this module after it, so that their import time stays the engine's.

persist modes (each worker lists those it runs):
  none          no checkpointer
  memory        InMemorySaver
  sqlite        AsyncSqliteSaver as users get it: durability="async", WAL, synchronous=FULL
  sqlite-dsync  AsyncSqliteSaver, durability="sync", WAL, synchronous=FULL
  sqlite-normal AsyncSqliteSaver, durability="sync", WAL, synchronous=NORMAL (loomflow's default setting)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeAlias

import aiosqlite
from common import SCRATCH, W1_TOOL_TURNS, W2_TURNS, fresh_path, proc_io
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

LANGGRAPH_VERSION = version("langgraph")

Saver: TypeAlias = InMemorySaver | AsyncSqliteSaver | None
Build: TypeAlias = Callable[[Saver], Any]
"""A worker's graph factory: the compiled graph with the given checkpointer."""


async def open_graph(build: Build, persist: str, path: Path) -> tuple[Any, aiosqlite.Connection | None]:
    """``build``'s graph with the checkpointer of ``persist`` (on the SQLite file ``path``), and the SQLite
    connection to close (None without SQLite)."""
    if persist == "none":
        return build(None), None
    if persist == "memory":
        return build(InMemorySaver()), None
    conn = await aiosqlite.connect(str(path))
    saver = AsyncSqliteSaver(conn)
    await saver.setup()  # sets journal_mode=WAL; synchronous stays at SQLite's default, FULL
    if persist == "sqlite-normal":
        await conn.execute("PRAGMA synchronous=NORMAL")
    return build(saver), conn


def config(thread: str) -> dict[str, Any]:
    return {"recursion_limit": 10_000, "configurable": {"thread_id": thread}}


def durability(persist: str) -> str | None:
    return "sync" if persist in ("sqlite-dsync", "sqlite-normal") else None


def check_w1(out: dict[str, Any]) -> None:
    assert len(out["messages"]) == 2 * W1_TOOL_TURNS + 2, len(out["messages"])


def timed_invoke(
    build: Build, persist: str, name: str, thread: str, inp: Callable[[], Any], check: Callable[[Any], None]
) -> float:
    """One timed ``ainvoke(inp())`` on a fresh database ``name`` (opening and closing it untimed)."""

    async def go() -> float:
        graph, conn = await open_graph(build, persist, fresh_path(name))
        t = time.perf_counter()
        out = await graph.ainvoke(inp(), config(thread), durability=durability(persist))
        dt = time.perf_counter() - t
        check(out)
        if conn is not None:
            await conn.close()
        return dt

    return asyncio.run(go())


async def w2_turns(graph: Any, persist: str, user_turn: Callable[[int], Any], res: dict[str, Any]) -> dict[str, Any]:
    """W2: ``W2_TURNS`` ``ainvoke`` on one thread, each with the input ``user_turn(turn)``; the per-turn and
    total times and the bytes the process wrote go into ``res``. Returns the last output."""
    cfg = config("t2")
    per_turn = []
    io0 = proc_io()
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    for turn in range(W2_TURNS):
        t = time.perf_counter()
        out = await graph.ainvoke(user_turn(turn), cfg, durability=durability(persist))
        per_turn.append(time.perf_counter() - t)
    res["total"] = time.perf_counter() - t0
    io1 = proc_io()
    assert len(out["messages"]) == 2 * W2_TURNS, len(out["messages"])
    res["per_turn"] = per_turn
    res["wchar"] = io1.get("wchar", 0) - io0.get("wchar", 0)
    return out


async def w4_prepare(build: Build, persist: str, name: str, inp: Any) -> None:
    """W4's first process: W1 on a fresh database ``name``, thread ``w4``; it dies inside the tool call."""
    graph, _ = await open_graph(build, persist, fresh_path(name))
    await graph.ainvoke(inp, config("w4"), durability=durability(persist))


async def w4_resume(build: Build, persist: str, name: str, res: dict[str, Any], *, record_step: bool = False) -> None:
    """W4's second process: load the crashed thread ``w4`` of ``name`` and run it to the end; the load,
    continue and total times and the message counts go into ``res`` (and the step it resumed from, with
    ``record_step``)."""
    t = time.perf_counter()
    graph, conn = await open_graph(build, persist, SCRATCH / name)
    assert conn is not None
    cfg = config("w4")
    t1 = time.perf_counter()
    snap = await graph.aget_state(cfg)
    res["t_load"] = time.perf_counter() - t1
    if record_step:
        res["resumed_from_step"] = snap.metadata.get("step") if snap.metadata else None
    res["messages_at_load"] = len(snap.values.get("messages", []))
    t2 = time.perf_counter()
    out = await graph.ainvoke(None, cfg, durability=durability(persist))
    res["t_continue"] = time.perf_counter() - t2
    res["t_resume_total"] = time.perf_counter() - t
    res["final_messages"] = len(out["messages"])
    check_w1(out)
    await conn.close()
