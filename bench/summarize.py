#!/usr/bin/env python3
"""Turn a ``results/raw-*.jsonl`` written by ``run.py`` into ``results/latest.md`` and ``latest.json``.

    python bench/summarize.py [results/raw-<stamp>.jsonl]      # default: the newest raw file

Medians over every timed repetition of every round; ratios are taken per round against the
LangGraph / baseline job of the same persistence class measured in the same round, and the median
of those per-round ratios is quoted. Only ratios from the same run mean anything.

Adapted from the peer harness's ``summarize.py``.
"""

from __future__ import annotations

import json
import statistics as st
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
W1_TURNS = 100
K_STEPS = 1000

Key = tuple[str, str, str]  # side, variant, persist
Rec = dict[str, Any]

SIDES = ("loomflow", "langgraph", "baseline")
SIDE_NAME = {"loomflow": "loomflow", "langgraph": "LangGraph StateGraph", "baseline": "plain asyncio (baseline)"}
VARIANT_NAME = {
    "journaled": "tool calls through ctx.effect (journal)",
    "session": "session: one resume() per turn",
    "loop": "one run, 200 turns in one drive",
}
# agent-level variants: the user-side APIs (loomflow's Agent, LangGraph's create_react_agent)
AGENT_VARIANTS = ("agent", "prebuilt")
FULL_NAME = {
    ("loomflow", "agent"): "loomflow Agent (@tool, fake ModelProvider)",
    ("langgraph", "prebuilt"): "LangGraph create_react_agent (@tool, fake BaseChatModel)",
}
PERSIST_NAME = {
    ("baseline", "none"): "none",
    ("baseline", "memory"): "json.dumps(delta) to a list",
    ("baseline", "sqlite-normal"): "sqlite3 WAL NORMAL, delta + commit per step",
    ("baseline", "sqlite-full"): "sqlite3 WAL FULL, delta + commit per step",
    ("baseline", "sqlite-batch"): "sqlite3 WAL NORMAL, delta per step, commit per 64",
    ("langgraph", "none"): "no checkpointer",
    ("langgraph", "memory"): "InMemorySaver",
    ("langgraph", "sqlite-normal"): "AsyncSqliteSaver, durability=sync, NORMAL",
    ("langgraph", "sqlite-dsync"): "AsyncSqliteSaver, durability=sync, FULL",
    ("langgraph", "sqlite"): "AsyncSqliteSaver, durability=async (default), FULL",
    ("loomflow", "none"): "MemoryStore, durability=exit",
    ("loomflow", "memory"): "MemoryStore, durability=sync",
    ("loomflow", "sqlite"): "SQLiteStore NORMAL, durability=sync (default)",
    ("loomflow", "sqlite-full"): "SQLiteStore FULL, durability=sync",
    ("loomflow", "sqlite-async"): "SQLiteStore NORMAL, durability=async (64 steps)",
}
# persistence class: what each side is compared with
CLASS = {
    ("baseline", "none"): "none",
    ("langgraph", "none"): "none",
    ("loomflow", "none"): "none",
    ("baseline", "memory"): "memory",
    ("langgraph", "memory"): "memory",
    ("loomflow", "memory"): "memory",
    ("baseline", "sqlite-normal"): "normal",
    ("langgraph", "sqlite-normal"): "normal",
    ("loomflow", "sqlite"): "normal",
    ("baseline", "sqlite-full"): "full",
    ("langgraph", "sqlite-dsync"): "full",
    ("loomflow", "sqlite-full"): "full",
    ("baseline", "sqlite-batch"): "deferred",
    ("langgraph", "sqlite"): "deferred",
    ("loomflow", "sqlite-async"): "deferred",
}
CLASS_NAME = {
    "none": "no persistence",
    "memory": "in memory",
    "normal": "SQLite, commit per step, synchronous=NORMAL",
    "full": "SQLite, commit per step, synchronous=FULL",
    "deferred": "SQLite, deferred commits",
}
CLASS_ORDER = list(CLASS_NAME)
DASH = "\u2013"  # en dash, for ranges and empty cells


# ------------------------------------------------------------------ formatting
def ms(x: float) -> str:
    return f"{x * 1e3:.2f}" if x < 0.1 else f"{x * 1e3:.1f}" if x < 1 else f"{x * 1e3:.0f}"


def us(x: float) -> str:
    return f"{x * 1e6:.1f}" if x * 1e6 < 100 else f"{x * 1e6:.0f}"


def ratio(x: float | None) -> str:
    if x is None:
        return DASH
    return f"{x:.0f}×" if x >= 100 else f"{x:.1f}×" if x >= 1 else f"{x:.2f}×"


def size(n: float) -> str:
    for unit, div in (("MB", 1e6), ("KB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n:.0f} B"


def table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def level(variant: str) -> str:
    return "agent" if variant in AGENT_VARIANTS else "graph"


def name(side: str, variant: str) -> str:
    if (side, variant) in FULL_NAME:
        return FULL_NAME[(side, variant)]
    extra = VARIANT_NAME.get(variant)
    return f"{SIDE_NAME[side]}, {extra}" if extra else SIDE_NAME[side]


def key(r: Rec) -> Key:
    return (r["side"], r["variant"], r["persist"])


def sort_key(k: Key) -> tuple[int, int, str]:
    cls = CLASS.get((k[0], k[2]), "none")
    return (CLASS_ORDER.index(cls), SIDES.index(k[0]), k[1])


# ------------------------------------------------------------------ loading
def load(path: Path) -> tuple[list[Rec], Rec]:
    recs, meta = [], {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("meta"):
            meta.update(r)
        elif r.get("meta_end"):
            meta["total_s"] = r["total_s"]
        else:
            recs.append(r)
    return recs, meta


def per_round(recs: list[Rec], workload: str, value: Callable[[Rec], float]) -> dict[Key, dict[int, float]]:
    out: dict[Key, dict[int, float]] = defaultdict(dict)
    for r in recs:
        if r.get("workload") == workload:
            out[key(r)][r["round"]] = value(r)
    return out


def reference(k: Key, side: str, workload_keys: Iterable[Key]) -> Key | None:
    """The job of ``side`` in the same persistence class as ``k``; for LangGraph, at the same level too
    (an ``Agent`` row is compared with ``create_react_agent``, a graph row with the hand-written graph)."""
    cls = CLASS.get((k[0], k[2]))
    for other in workload_keys:
        if other[0] != side or CLASS.get((side, other[2])) != cls:
            continue
        if side == "baseline" or level(other[1]) == level(k[1]):
            return other
    return None


def round_ratio(rounds: dict[Key, dict[int, float]], k: Key, ref: Key | None) -> float | None:
    if ref is None or ref == k:
        return None
    xs = [v / rounds[ref][rd] for rd, v in rounds[k].items() if rd in rounds[ref]]
    return st.median(xs) if xs else None


# ------------------------------------------------------------------ sections
def timing_rows(recs: list[Rec], workload: str, at: str = "graph") -> list[Rec]:
    """One row per job of level ``at`` (and the baseline's): median, min, max of every timed run, and
    same-round ratios."""
    samples: dict[Key, list[float]] = defaultdict(list)
    for r in recs:
        if r.get("workload") == workload and "times" in r and (r["side"] == "baseline" or level(r["variant"]) == at):
            samples[key(r)] += r["times"]
    rounds = per_round([r for r in recs if "times" in r], workload, lambda r: st.median(r["times"]))
    classes = {CLASS.get((k[0], k[2])) for k in samples if k[0] != "baseline"}
    rows = []
    for k in sorted(samples, key=sort_key):
        if CLASS.get((k[0], k[2])) not in classes:  # a baseline row with nothing of this level to compare
            continue
        xs = samples[k]
        rows.append(
            {
                "side": k[0],
                "variant": k[1],
                "persist": k[2],
                "class": CLASS.get((k[0], k[2])),
                "median_s": st.median(xs),
                "min_s": min(xs),
                "max_s": max(xs),
                "n": len(xs),
                "x_langgraph": round_ratio(rounds, k, reference(k, "langgraph", samples)),
                "x_baseline": round_ratio(rounds, k, reference(k, "baseline", samples)),
            }
        )
    return rows


def timing_md(rows: list[Rec], per: int | None = None, per_label: str = "") -> str:
    header = ["side", "persistence", "median ms/run", f"min{DASH}max ms"]
    header += [per_label] if per else []
    header += ["× LangGraph", "× baseline", "n"]
    out, cls = [], None
    for r in rows:
        if r["class"] != cls:
            cls = r["class"]
            out.append([f"**{CLASS_NAME.get(cls or '', cls)}**", *[""] * (len(header) - 1)])
        line = [name(r["side"], r["variant"]), PERSIST_NAME[(r["side"], r["persist"])], ms(r["median_s"])]
        line.append(f"{ms(r['min_s'])}{DASH}{ms(r['max_s'])}")
        if per:
            line.append(us(r["median_s"] / per))
        line += [ratio(r["x_langgraph"]), ratio(r["x_baseline"]), str(r["n"])]
        out.append(line)
    return table(header, out)


def bytes_rows(recs: list[Rec], workload: str) -> list[Rec]:
    by: dict[Key, list[Rec]] = defaultdict(list)
    for r in recs:
        if r.get("workload") == workload:
            by[key(r)].append(r)
    rounds = per_round(recs, workload, lambda r: r["total"])
    rows = []
    for k in sorted(by, key=sort_key):
        rs = by[k]

        def med(f: Callable[[Rec], float], rs: list[Rec] = rs) -> float:
            return st.median(f(r) for r in rs)

        row: Rec = {"side": k[0], "variant": k[1], "persist": k[2], "rounds": len(rs)}
        row.update(
            total_s=med(lambda r: r["total"]),
            total_min_s=min(r["total"] for r in rs),
            total_max_s=max(r["total"] for r in rs),
            x_langgraph=round_ratio(rounds, k, reference(k, "langgraph", by)),
            x_baseline=round_ratio(rounds, k, reference(k, "baseline", by)),
            db_bytes=med(lambda r: r["db_bytes"]),
            row_bytes=med(lambda r: r.get("row_bytes", 0)),
            state_bytes=med(lambda r: r["state_bytes"]),
            wchar=med(lambda r: r["wchar"]),
        )
        row["db_over_state"] = row["db_bytes"] / row["state_bytes"]
        row["rows_over_state"] = row["row_bytes"] / row["state_bytes"]
        if rs[0].get("per_turn"):
            row["first10_s"] = med(lambda r: st.mean(r["per_turn"][:10]))
            row["last10_s"] = med(lambda r: st.mean(r["per_turn"][-10:]))
            row["last_over_first"] = row["last10_s"] / row["first10_s"]
        if "row_bytes_by_table" in rs[0]:
            row["row_bytes_by_table"] = rs[-1]["row_bytes_by_table"]
        rows.append(row)
    return rows


def w2_md(rows: list[Rec]) -> str:
    header = ["side", "persistence", "total s", f"min{DASH}max s", "× LangGraph", "× baseline"]
    header += ["first-10 ms/turn", "last-10 ms/turn", "last ÷ first"]
    header += ["DB file", "stored values", "final state", "file ÷ state", "values ÷ state", "bytes written"]
    out = []
    for r in rows:
        out.append(
            [
                name(r["side"], r["variant"]),
                PERSIST_NAME[(r["side"], r["persist"])],
                f"{r['total_s']:.2f}",
                f"{r['total_min_s']:.2f}{DASH}{r['total_max_s']:.2f}",
                ratio(r["x_langgraph"]),
                ratio(r["x_baseline"]),
                ms(r["first10_s"]),
                ms(r["last10_s"]),
                ratio(r["last_over_first"]),
                size(r["db_bytes"]),
                size(r["row_bytes"]),
                size(r["state_bytes"]),
                ratio(r["db_over_state"]),
                ratio(r["rows_over_state"]),
                size(r["wchar"]),
            ]
        )
    return table(header, out)


def w4_rows(recs: list[Rec]) -> list[Rec]:
    rs = [r for r in recs if r.get("workload") == "w4-resume"]
    rounds = per_round(rs, "w4-resume", lambda r: r["wall_process"])
    by: dict[Key, list[Rec]] = defaultdict(list)
    for r in rs:
        by[key(r)].append(r)
    rows = []
    for k in sorted(by, key=sort_key):
        group = by[k]

        def med(field: str, group: list[Rec] = group) -> float:
            return float(st.median(r[field] for r in group))

        rows.append(
            {
                "side": k[0],
                "variant": k[1],
                "persist": k[2],
                "wall_s": med("wall_process"),
                "min_s": min(r["wall_process"] for r in group),
                "max_s": max(r["wall_process"] for r in group),
                "import_s": med("t_import"),
                "load_s": med("t_load"),
                "continue_s": med("t_continue"),
                "messages_at_load": group[0].get("messages_at_load"),
                "x_langgraph": round_ratio(rounds, k, reference(k, "langgraph", by)),
                "x_baseline": round_ratio(rounds, k, reference(k, "baseline", by)),
                "rounds": len(group),
            }
        )
    return rows


def w4_md(rows: list[Rec]) -> str:
    header = ["side", "prepared and resumed with", "cold resume wall s (process)", f"min{DASH}max s", "imports ms"]
    header += ["load ms", "continue ms", "messages at load (of 202)", "× LangGraph", "× baseline", "rounds"]
    out = [
        [
            name(r["side"], r["variant"]),
            PERSIST_NAME[(r["side"], r["persist"])],
            f"{r['wall_s']:.3f}",
            f"{r['min_s']:.3f}{DASH}{r['max_s']:.3f}",
            ms(r["import_s"]),
            ms(r["load_s"]),
            ms(r["continue_s"]),
            str(r["messages_at_load"]),
            ratio(r["x_langgraph"]),
            ratio(r["x_baseline"]),
            str(r["rounds"]),
        ]
        for r in rows
    ]
    return table(header, out)


def import_rows(recs: list[Rec]) -> list[Rec]:
    by: dict[str, list[float]] = defaultdict(list)
    for r in recs:
        if r.get("workload") == "import":
            by[r["name"]].append(r["wall"])
    if not by:
        return []
    bare = st.median(by.get("python -c pass", [0.0]))
    ref = st.median(by.get("import asyncio, sqlite3, json", [float("nan")]))
    tops = {r["name"]: r["top_cumulative_us"] for r in recs if r.get("workload") == "importtime"}
    rows = []
    for n, xs in sorted(by.items(), key=lambda kv: st.median(kv[1])):
        m = st.median(xs)
        rows.append(
            {
                "name": n,
                "median_s": m,
                "min_s": min(xs),
                "max_s": max(xs),
                "minus_bare_s": m - bare,
                "x_stdlib": m / ref,
                "x_stdlib_minus_bare": (m - bare) / (ref - bare) if ref > bare else None,
                "n": len(xs),
                "top": tops.get(n, []),
            }
        )
    return rows


def import_md(rows: list[Rec]) -> str:
    header = ["import (fresh `python -c`)", "median ms", f"min{DASH}max ms", "minus bare interpreter ms"]
    header += ["× asyncio+sqlite3+json", "× it, interpreter start excluded", "n"]
    out = [
        [
            f"`{r['name']}`",
            ms(r["median_s"]),
            f"{ms(r['min_s'])}{DASH}{ms(r['max_s'])}",
            ms(r["minus_bare_s"]),
            ratio(r["x_stdlib"]),
            ratio(r["x_stdlib_minus_bare"]),
            str(r["n"]),
        ]
        for r in rows
    ]
    text = table(header, out)
    tops = [r for r in rows if r["top"]]
    if tops:
        text += "\n\nHeaviest top-level imports (`-X importtime`, cumulative ms, one run):\n"
        for r in tops:
            text += f"\n- `{r['name']}`: " + ", ".join(f"{m} {t / 1e3:.1f}" for t, m in r["top"][:5])
    return text


def rss_rows(recs: list[Rec]) -> list[Rec]:
    seen: dict[Key, Rec] = {}
    for r in recs:
        if r.get("workload") == "rss":
            seen.setdefault(key(r), r)
    return [
        {
            "side": k[0],
            "variant": k[1],
            "persist": k[2],
            "after_import_mib": seen[k]["rss_after_import_kib"] / 1024,
            "peak_mib": seen[k]["rss_peak_kib"] / 1024,
            "growth_mib": (seen[k]["rss_peak_kib"] - seen[k]["rss_after_import_kib"]) / 1024,
        }
        for k in sorted(seen, key=sort_key)
    ]


def rss_md(rows: list[Rec]) -> str:
    header = ["side", "persistence", "RSS after imports MiB", "peak RSS after W1 MiB", "growth over W1 MiB"]
    out = [
        [
            name(r["side"], r["variant"]),
            PERSIST_NAME[(r["side"], r["persist"])],
            f"{r['after_import_mib']:.1f}",
            f"{r['peak_mib']:.1f}",
            f"{r['growth_mib']:.1f}",
        ]
        for r in rows
    ]
    return table(header, out)


# ------------------------------------------------------------------ kernel targets
def find(rows: list[Rec], side: str, persist: str, variant: str = "default") -> Rec | None:
    return next((r for r in rows if (r["side"], r["persist"], r["variant"]) == (side, persist, variant)), None)


def targets(
    tables: dict[str, list[Rec]],
) -> list[Rec]:
    """Every target of the benchmark issue and the kernel issue, measured in this run; ``limit`` None:
    reported only."""
    out: list[Rec] = []
    w1g, w1a, w2, w3, w4 = tables["w1"], tables["w1_agent"], tables["w2"], tables["w3"], tables["w4"]
    k_steps, k_append, imports, rss = tables["k_steps"], tables["k_append"], tables["imports"], tables["rss"]

    def add(group: str, what: str, measured: float | None, limit: float | None, detail: str) -> None:
        met = None if measured is None or limit is None else measured <= limit
        out.append({"group": group, "target": what, "measured": measured, "limit": limit, "met": met, "detail": detail})

    def vs_lg(group: str, what: str, rows: list[Rec], side_key: tuple[str, str, str], limit: float | None) -> None:
        r = find(rows, *side_key)
        if r is None:
            return
        ref = reference((r["side"], r["variant"], r["persist"]), "langgraph", [key(x) for x in rows])
        lg = find(rows, ref[0], ref[2], ref[1]) if ref else None
        detail = f"{ms(r['median_s'])} ms vs {ms(lg['median_s'])} ms" if lg else ""
        add(group, what, r["x_langgraph"], limit, detail)

    # W1
    vs_lg(
        "W1",
        "graph level, no persistence, ÷ StateGraph without checkpointer",
        w1g,
        ("loomflow", "none", "default"),
        0.1,
    )
    vs_lg(
        "W1",
        "graph level, SQLite every step (sync, NORMAL) ÷ StateGraph + AsyncSqliteSaver (sync, NORMAL)",
        w1g,
        ("loomflow", "sqlite", "default"),
        0.2,
    )
    vs_lg(
        "W1",
        "graph level, SQLite every step (sync, FULL) ÷ StateGraph + AsyncSqliteSaver (sync, FULL)",
        w1g,
        ("loomflow", "sqlite-full", "default"),
        0.2,
    )
    vs_lg(
        "W1",
        "agent level, SQLite (default store, sync, NORMAL) ÷ create_react_agent + AsyncSqliteSaver (sync, NORMAL)",
        w1a,
        ("loomflow", "sqlite", "agent"),
        0.2,
    )
    vs_lg(
        "W1", "agent level, in memory ÷ create_react_agent + InMemorySaver", w1a, ("loomflow", "memory", "agent"), None
    )
    # W2
    lg_w2 = {level(r["variant"]): r for r in w2 if r["side"] == "langgraph"}
    for r in w2:
        if r["side"] != "loomflow":
            continue
        lg = lg_w2.get(level(r["variant"]))
        form = name(r["side"], r["variant"]).removeprefix("loomflow, ")
        lg_note = f"; LangGraph ({name('langgraph', lg['variant'])}): {ratio(lg['db_over_state'])}" if lg else ""
        add(
            "W2",
            f"bytes in the store ÷ final state, SQLite file: {form}",
            r["db_over_state"],
            2,
            f"{size(r['db_bytes'])} file vs {size(r['state_bytes'])} state{lg_note}",
        )
        add(
            "W2",
            f"bytes in the store ÷ final state, stored values only: {form}",
            r["rows_over_state"],
            2,
            f"{size(r['row_bytes'])} stored values" + (f"; LangGraph {ratio(lg['rows_over_state'])}" if lg else ""),
        )
        if "last_over_first" in r:
            lg_note = f"; LangGraph {ratio(lg['last_over_first'])}" if lg and "last_over_first" in lg else ""
            add(
                "W2",
                f"last-10 ÷ first-10 turn latency: {form}",
                r["last_over_first"],
                1.5,
                f"{ms(r['last10_s'])} ms vs {ms(r['first10_s'])} ms per turn{lg_note}",
            )
    # W3
    for persist in ("none", "memory", "sqlite"):
        fan = find(w3, "loomflow", persist)
        if fan is not None:
            vs_lg(
                "W3",
                f"fanout-50, {CLASS_NAME[fan['class']]}, ÷ StateGraph + Send",
                w3,
                ("loomflow", persist, "default"),
                1 / 3,
            )
    # W4
    for r in w4:
        if r["side"] == "loomflow":
            ref = reference((r["side"], r["variant"], r["persist"]), "langgraph", [key(x) for x in w4])
            lg = next((x for x in w4 if ref and key(x) == ref), None)
            lvl = "agent level (Agent.resume)" if level(r["variant"]) == "agent" else "graph level"
            add(
                "W4",
                f"cold resume, process wall, {lvl}, {PERSIST_NAME[(r['side'], r['persist'])]} ÷ LangGraph",
                r["x_langgraph"],
                0.25,
                f"{r['wall_s']:.3f} s vs {lg['wall_s']:.3f} s" if lg else "",
            )
    # RSS and imports: reported beside LangGraph's
    by_level: dict[tuple[str, str, str], Rec] = {(r["side"], level(r["variant"]), r["persist"]): r for r in rss}
    for lvl in ("graph", "agent"):
        for lf_p, lg_p in (("none", "none"), ("sqlite", "sqlite-normal")):
            lf, lg = by_level.get(("loomflow", lvl, lf_p)), by_level.get(("langgraph", lvl, lg_p))
            if lf and lg:
                add(
                    "RSS",
                    f"peak RSS growth over W1, {lvl} level, {CLASS_NAME[CLASS[('loomflow', lf_p)]]}",
                    lf["growth_mib"] / lg["growth_mib"] if lg["growth_mib"] else None,
                    None,
                    f"{lf['growth_mib']:.1f} MiB vs LangGraph {lg['growth_mib']:.1f} MiB; peak "
                    f"{lf['peak_mib']:.1f} vs {lg['peak_mib']:.1f} MiB",
                )
    by_name = {r["name"]: r for r in imports}
    for lf_name, lg_name in (
        ("from loomflow import Graph, Interpreter, SQLiteStore", "LangGraph: StateGraph + AsyncSqliteSaver"),
        ("from loomflow import Agent, SQLiteStore, tool", "LangGraph: create_react_agent + AsyncSqliteSaver + @tool"),
    ):
        lf, lg = by_name.get(lf_name), by_name.get(lg_name)
        if lf and lg:
            add(
                "import",
                f"`{lf_name}` ÷ {lg_name} (fresh process wall)",
                lf["median_s"] / lg["median_s"],
                None,
                f"{ms(lf['median_s'])} ms vs {ms(lg['median_s'])} ms",
            )
    # the kernel issue
    lf_off, base_off = find(k_steps, "loomflow", "none"), find(k_steps, "baseline", "none")
    if lf_off and base_off:
        add(
            "kernel",
            "(a) per-step overhead, 1000-step no-op loop, no persistence, ÷ a plain asyncio loop",
            lf_off["x_baseline"],
            10,
            f"{us(lf_off['median_s'] / K_STEPS)} µs/step vs {us(base_off['median_s'] / K_STEPS)} µs/step",
        )
    lf_db, base_db = find(k_steps, "loomflow", "sqlite"), find(k_steps, "baseline", "sqlite-normal")
    if lf_db and base_db:
        add(
            "kernel",
            "(b) step with SQLite sync durability ÷ the plain loop + raw sqlite3 INSERT+COMMIT (WAL, NORMAL)",
            lf_db["x_baseline"],
            1.5,
            f"{us(lf_db['median_s'] / K_STEPS)} µs/step vs {us(base_db['median_s'] / K_STEPS)} µs/step",
        )
    lf_app = find(k_append, "loomflow", "sqlite")
    if lf_app:
        base_app = find(k_append, "baseline", "sqlite-normal")
        base_note = f"; raw sqlite3 of the same deltas: file {ratio(base_app['db_over_state'])}" if base_app else ""
        add(
            "kernel",
            "(c) bytes persisted, 200 steps appending 2 KB each, ÷ final state: SQLite file after close",
            lf_app["db_over_state"],
            2,
            f"{size(lf_app['db_bytes'])} file vs {size(lf_app['state_bytes'])} state{base_note}",
        )
        add(
            "kernel",
            "(c') the same, counting the stored TEXT/BLOB values only (no page overhead)",
            lf_app["rows_over_state"],
            2,
            f"{size(lf_app['row_bytes'])} stored values",
        )
    for stmt in ("import loomflow", "from loomflow import Graph, Interpreter, SQLiteStore"):
        imp = by_name.get(stmt)
        if imp is not None:
            add(
                "kernel",
                f"(d) `{stmt}` ÷ `import asyncio, sqlite3, json` (fresh process wall)",
                imp["x_stdlib"],
                4,
                f"{ms(imp['median_s'])} ms vs {ms(by_name['import asyncio, sqlite3, json']['median_s'])} ms; "
                f"interpreter start excluded: {ratio(imp['x_stdlib_minus_bare'])}",
            )
    return out


def targets_md(rows: list[Rec]) -> str:
    out = []
    for r in rows:
        if r["limit"] is None:
            verdict, limit = "reported", DASH
        else:
            verdict = DASH if r["met"] is None else "met" if r["met"] else "**missed**"
            limit = f"≤ {ratio(r['limit'])}"
        out.append([r["group"], r["target"], ratio(r["measured"]), limit, verdict, r["detail"]])
    return table(["", "target", "measured", "target", "", "detail"], out)


def k_steps_md(rows: list[Rec]) -> str:
    header = ["side", "persistence", "median ms / 1000 steps", "µs/step", f"min{DASH}max ms", "× baseline", "n"]
    out = [
        [
            name(r["side"], r["variant"]),
            PERSIST_NAME[(r["side"], r["persist"])],
            ms(r["median_s"]),
            us(r["median_s"] / K_STEPS),
            f"{ms(r['min_s'])}{DASH}{ms(r['max_s'])}",
            ratio(r["x_baseline"]),
            str(r["n"]),
        ]
        for r in rows
    ]
    return table(header, out)


def k_append_md(rows: list[Rec]) -> str:
    header = ["side", "persistence", "DB file", "stored values", "final state", "file ÷ state", "values ÷ state"]
    out = [
        [
            name(r["side"], r["variant"]),
            PERSIST_NAME[(r["side"], r["persist"])],
            size(r["db_bytes"]),
            size(r["row_bytes"]),
            size(r["state_bytes"]),
            ratio(r["db_over_state"]),
            ratio(r["rows_over_state"]),
        ]
        for r in rows
    ]
    text = table(header, out)
    for r in rows:
        if "row_bytes_by_table" in r:
            parts = ", ".join(f"{t} {size(b)}" for t, b in r["row_bytes_by_table"].items() if b)
            text += f"\n\n{name(r['side'], r['variant'])} stored values by table: {parts}"
    return text


# ------------------------------------------------------------------ main
def write(raw: Path, outdir: Path) -> str:
    recs, meta = load(raw)
    versions = {r["side"]: r["version"] for r in recs if r.get("version")}
    tables: dict[str, list[Rec]] = {
        "w1": timing_rows(recs, "w1"),
        "w1_agent": timing_rows(recs, "w1", "agent"),
        "w2": bytes_rows(recs, "w2"),
        "w3": timing_rows(recs, "w3"),
        "w4": w4_rows(recs),
        "k_steps": timing_rows(recs, "k-steps"),
        "k_append": bytes_rows(recs, "k-append"),
        "imports": import_rows(recs),
        "rss": rss_rows(recs),
    }
    goals = targets(tables)
    data = {"meta": meta, "versions": versions, "targets": goals, **tables}
    w1, w1a, w2, w3, w4 = tables["w1"], tables["w1_agent"], tables["w2"], tables["w3"], tables["w4"]
    k_steps, k_append, imports, rss = tables["k_steps"], tables["k_append"], tables["imports"], tables["rss"]
    total = meta.get("total_s")
    lines = [
        "# loomflow benchmark",
        "",
        f"`{raw.name}`: {meta.get('rounds')} round(s) × {meta.get('reps')} timed repetitions "
        f"(+1 warm-up) per job, jobs shuffled per round; {meta.get('nproc')} CPUs, Python {meta.get('python')}; "
        + ", ".join(f"{SIDE_NAME[s]} {v}" for s, v in sorted(versions.items()))
        + (f"; run took {total:.0f} s." if total else "."),
        "",
        "Medians over all timed runs; × columns are the median of per-round ratios to the LangGraph / baseline "
        "job of the same persistence class in the same round. Only ratios from one run mean anything.",
        "",
    ]
    if goals:
        lines += [
            "## Targets",
            "",
            'From the issues "Benchmarks side by side with LangGraph" (W1-W4, RSS, imports) and "Kernel" '
            '((a)-(d)). A ratio below the target is met; "reported" rows have no target.',
            "",
            targets_md(goals),
            "",
        ]
    if w1:
        lines += ["## W1 react-100 (100 tool turns + answer, one run)", "", timing_md(w1, W1_TURNS, "µs/turn"), ""]
    if w1a:
        lines += [
            "## W1 react-100, agent level (loomflow `Agent` vs LangGraph `create_react_agent`)",
            "",
            "Both with a `lookup` tool and a fake model that decides from the last message (O(1) per call); "
            "× LangGraph compares with `create_react_agent` of the same persistence class. The baseline rows "
            "are the plain loop of the graph-level table.",
            "",
            timing_md(w1a, W1_TURNS, "µs/turn"),
            "",
        ]
    if w2:
        lines += [
            "## W2 long history (200 turns, ~1 KB user message + ~1 KB answer each, one session)",
            "",
            "DB file: SQLite file size after the store is closed (WAL checkpointed). Stored values: the sum of "
            "every TEXT/BLOB value in the database. Final state: compact JSON of the final messages.",
            "",
            w2_md(w2),
            "",
        ]
    if w3:
        lines += ["## W3 fanout-50 (50 concurrent sub-tasks, each calls the model once, then reduce)", ""]
        lines += [timing_md(w3), ""]
    if w4:
        lines += [
            "## W4 cold resume (W1 on SQLite killed inside the 100th tool call; a fresh process resumes)",
            "",
            "Wall: the whole resuming process (interpreter start, imports, load, the rest of the run).",
            "",
            w4_md(w4),
            "",
        ]
    if k_steps:
        lines += ["## Kernel micro-benchmark: 1000-step no-op loop", "", k_steps_md(k_steps), ""]
    if k_append:
        lines += ["## Kernel micro-benchmark: 200 steps appending 2 KB each (SQLite)", "", k_append_md(k_append), ""]
    if imports:
        lines += ["## Import time", "", import_md(imports), ""]
    if rss:
        lines += ["## Peak RSS (a fresh process running W1 once)", "", rss_md(rss), ""]
    md = "\n".join(lines)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "latest.md").write_text(md)
    (outdir / "latest.json").write_text(json.dumps(data, indent=1) + "\n")
    return md


def main() -> None:
    results = HERE / "results"
    raw = Path(sys.argv[1]) if len(sys.argv) > 1 else max(results.glob("raw-*.jsonl"))
    print(write(raw, results))


if __name__ == "__main__":
    main()
