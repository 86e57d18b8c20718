"""``loomflow`` commands that read stored runs: ``runs list``, ``runs show``, ``trace``, ``draw``, ``diff``.

None of them needs the code that built a run: a run record keeps its graph's structure, so a run is
listed, traced and drawn from the store alone. ``diff`` folds raw deltas with the reducers the
structure names, unless ``--graph``/``--agent`` gives the state class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loomflow.checkpoint.codec import loads
from loomflow.checkpoint.records import RunRecord, StepRecord
from loomflow.checkpoint.sqlite import SQLiteStore
from loomflow.cli_common import (
    EXIT_OK,
    Out,
    UsageError,
    interrupt_json,
    jsonable,
    parse_at,
    run_summary,
    show_usage,
    sum_usage,
)
from loomflow.lineage import Lineage, fold_raw, has_refs, load_lineage, resolve_refs
from loomflow.trace import Trace, summarize

__all__ = ["diff", "draw", "runs_list", "runs_show", "stored_drawing", "trace"]

TEXT_FORMATS = {"txt": "txt", "text": "txt", "mmd": "mmd", "mermaid": "mmd", "dot": "dot", "gv": "dot"}
IMAGE_FORMATS = ("svg", "png", "pdf")


async def runs_list(store: SQLiteStore, out: Out, *, status: str | None, limit: int) -> int:
    runs = await store.list_runs(limit=limit, status=status)
    rows = [run_summary(run, await _own_steps(store, run.run_id)) for run in runs]
    out.data(rows)
    if not rows:
        out.line("no runs" + (f" with status {status!r}" if status else "") + " in this store")
        return EXIT_OK
    header = ("id", "graph", "status", "created", "steps", "parent")
    out.table(
        header, [(r["run_id"], r["graph"], r["status"], r["created"], r["steps"], r["parent"] or "-") for r in rows]
    )
    return EXIT_OK


def _output(output: Any, lin: Lineage, chain: list[StepRecord]) -> Any:
    """A run's output; one kept as ``{"@state": channel}`` is read from the channel's last write."""
    if not (isinstance(output, dict) and set(output) == {"@state"}):
        return output
    name = output["@state"]
    for rec in reversed(chain):
        writes = loads(rec.writes)
        if name in writes:
            return (resolve_refs(writes, rec, lin.journal) if has_refs(rec) else writes)[name]
    return None


async def runs_show(store: SQLiteStore, out: Out, run_id: str) -> int:
    lin = await load_lineage(store, run_id)
    run = lin.run
    chain = lin.chain(lin.head())
    children = await store.list_runs(parent_run=run_id, limit=1000)
    info = run_summary(run, len([r for r in lin.own if not r.superseded]))
    info.update(
        fingerprint=run.fingerprint,
        history_steps=len(chain),
        usage=sum_usage(chain),
        interrupts=[interrupt_json(i) for i in run.interrupts],
        error=run.error,
        output=jsonable(_output(run.output, lin, chain)),
        replay_of=run.replay_of,
        children=[c.run_id for c in children],
    )
    out.data(info)
    out.line(f"run {run.run_id}")
    out.line(f"  graph     {run.graph} ({run.fingerprint})")
    out.line(f"  status    {run.status}")
    out.line(f"  kind      {run.kind}" + (f", replay of {run.replay_of}" if run.replay_of else ""))
    if run.parent_run:
        out.line(f"  parent    {run.parent_run} at step {run.parent_step}")
    out.line(f"  created   {info['created']}   updated {info['updated']}")
    out.line(f"  steps     {info['steps']} own, {len(chain)} on its path")
    out.line(f"  usage     {show_usage(info['usage'])}")
    for i in run.interrupts:
        out.line(f"  waiting   {i.kind} at {i.node_path} (step {i.step})")
        out.line(f"    id      {i.id}")
        if i.prompt:
            out.line(f"    prompt  {i.prompt}")
        if i.allowed is not None:
            out.line(f"    accepts {', '.join(map(repr, i.allowed))}")
    if run.interrupts:
        out.line(f"  answer    loomflow resume {run.run_id} --value VALUE --agent MODULE:AGENT (or --graph)")
    if run.error:
        out.line(f"  error     {run.error}")
    if run.output is not None:
        out.line(f"  output    {summarize(_output(run.output, lin, chain), 200)}")
    if children:
        out.line(f"  children  {', '.join(c.run_id for c in children)}")
    return EXIT_OK


async def trace(store: SQLiteStore, out: Out, run_id: str) -> int:
    lin = await load_lineage(store, run_id)
    steps = Trace.from_records(lin.chain(lin.head()), lin.journal).steps  # the same lines as result.trace
    out.data([jsonable(s) for s in steps])
    for s in steps:
        out.line(s.line())
    return EXIT_OK


async def stored_drawing(
    store: SQLiteStore, run_ids: Sequence[str], *, origin: bool
) -> tuple[dict[str, Any], list[Any], list[tuple[str, list[StepRecord]]], dict[str, str | None]]:
    """The stored structure, one overlay per run, the runs' histories (a fork's origin first, with
    ``origin``), and each fork's origin by its run record."""
    from loomflow.viz import overlay_from_steps

    ids = list(run_ids)
    if origin:
        for run_id in run_ids:
            run = (await load_lineage(store, run_id)).run
            if run.kind != "fork" or run.parent_run is None:
                raise UsageError(f"run {run_id} is not a fork; --origin draws a fork beside the run it came from")
            if run.parent_run not in ids:
                ids.insert(ids.index(run_id), run.parent_run)
    structure: dict[str, Any] | None = None
    runs: list[tuple[RunRecord, list[StepRecord]]] = []
    for run_id in ids:
        lin = await load_lineage(store, run_id)
        stored = await store.get_graph(lin.run.fingerprint)
        if stored is None:
            raise UsageError(f"the store keeps no structure for run {run_id} (graph {lin.run.fingerprint})")
        if structure is not None and stored != structure:  # a child runs its harness alone, a migrated fork
            raise UsageError(  # a changed graph: their steps would name nodes the other picture lacks
                f"runs of different graphs cannot share a picture ({runs[0][0].run_id}: {structure['name']} "
                f"{runs[0][0].fingerprint[:12]}; {run_id}: {stored['name']} {lin.run.fingerprint[:12]}); "
                f"draw them one at a time"
            )
        structure = structure or stored
        runs.append((lin.run, lin.chain(lin.head())))
    assert structure is not None
    overlays = [
        overlay_from_steps(steps, start=structure["start"], status=run.status, run_id=run.run_id, structure=structure)
        for run, steps in runs
    ]
    parents = {run.run_id: run.parent_run if run.kind == "fork" else None for run, _ in runs}
    return structure, overlays, [(run.run_id, steps) for run, steps in runs], parents


def draw(
    structure: dict[str, Any],
    out: Out,
    *,
    output: str | None,
    format: str | None,
    overlays: Sequence[Any] = (),
    histories: Sequence[tuple[str, Sequence[StepRecord]]] = (),
    parents: Mapping[str, str | None] | None = None,
) -> int:
    """Write (or print) one drawing: the bare structure, one run on it, or several runs side by side."""
    from loomflow.viz import fork_links, to_ascii, to_ascii_runs, to_dot, to_dot_runs, to_mermaid
    from loomflow.viz._render import _pipe

    to_file = output is not None and output != "-"
    chosen = (format or (Path(output).suffix.removeprefix(".") if output and to_file else "txt")).lower()
    kind = TEXT_FORMATS.get(chosen, chosen)
    if kind not in (*TEXT_FORMATS.values(), *IMAGE_FORMATS):
        known = ", ".join(sorted({*TEXT_FORMATS, *IMAGE_FORMATS}))
        raise UsageError(f"cannot draw as {chosen!r}; use a file ending in (or --format) one of: {known}")
    several = len(overlays) > 1
    overlay = overlays[0] if len(overlays) == 1 else None
    links = fork_links(list(histories), parents) if several else []

    def dot() -> str:
        return to_dot_runs(structure, overlays, links=links) if several else to_dot(structure, overlay)

    if kind == "txt":
        data = to_ascii_runs(structure, overlays, links=links) if several else to_ascii(structure, overlay)
    elif kind == "mmd":
        if several:
            raise UsageError("several runs side by side are drawn with DOT: use .svg, .png, .pdf, .dot or .txt")
        data = to_mermaid(structure, overlay)
    elif kind == "dot":
        data = dot()
    elif kind == "svg" or to_file:
        data = _pipe(dot(), kind).decode() if kind == "svg" else ""
    else:
        raise UsageError(f"a {kind} picture needs a file: add -o picture.{kind}")
    if not to_file:
        if out.json_mode:  # --json: the drawing is a field of the one JSON document printed
            out.data({"format": kind, "drawing": data, "runs": [run_id for run_id, _ in histories]})
        else:
            print(data, file=out.stdout)
        return EXIT_OK
    assert output is not None
    if kind in IMAGE_FORMATS and kind != "svg":
        Path(output).write_bytes(_pipe(dot(), kind))
    else:
        Path(output).write_text(data if data.endswith("\n") else data + "\n")
    out.line(f"wrote {output}")
    out.data({"output": output, "format": kind, "runs": [run_id for run_id, _ in histories]})
    return EXIT_OK


async def diff(store: SQLiteStore, out: Out, a: str, b: str, state_cls: Any = None) -> int:
    """The state difference between two checkpoints ``RUN@STEP`` (``RUN`` alone: its latest step)."""
    va, vb = [await _values(store, spec, state_cls) for spec in (a, b)]
    changes = []
    for name in [*va, *(k for k in vb if k not in va)]:
        old, new = va.get(name), vb.get(name)
        if old != new:
            changes.append({"channel": name, **_change(old, new)})
    same = len(set(va) | set(vb)) - len(changes)
    out.data({"a": a, "b": b, "changes": changes, "same": same})
    out.line(f"{a} -> {b}: {len(changes)} channel(s) differ, {same} the same")
    for change in changes:
        out.line(f"{change['channel']}: {change['summary']}")
        for line in change["lines"]:
            out.line(f"    {line}")
    return EXIT_OK


def _change(old: Any, new: Any) -> dict[str, Any]:
    if isinstance(old, list) and isinstance(new, list) and new[: len(old)] == old:
        added = new[len(old) :]
        return {"summary": f"+{len(added)} item(s)", "lines": [f"+ {_short(x)}" for x in added], "added": added}
    if isinstance(old, list) and isinstance(new, list) and old[: len(new)] == new:
        gone = old[len(new) :]
        return {"summary": f"-{len(gone)} item(s)", "lines": [f"- {_short(x)}" for x in gone], "removed": gone}
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted({*old, *new} - {k for k in old if k in new and old[k] == new[k]}, key=str)
        lines = [f"{k}: {_short(old.get(k))} -> {_short(new.get(k))}" for k in keys]
        return {"summary": f"{len(keys)} key(s) changed", "lines": lines, "old": old, "new": new}
    return {"summary": f"{_short(old)} -> {_short(new)}", "lines": [], "old": old, "new": new}


def _short(value: Any, limit: int = 100) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def _values(store: SQLiteStore, spec: str, state_cls: Any) -> dict[str, Any]:
    run_id, sep, at_text = spec.partition("@")
    if not run_id or (sep and not at_text):
        raise UsageError(f"{spec!r} is not RUN@STEP; e.g. 3f2a@4, 3f2a@harness/model_call, or just 3f2a")
    lin = await load_lineage(store, run_id)
    rec = _resolve(lin, parse_at(at_text)) if at_text else None
    chain = lin.chain(rec.step if rec is not None else lin.head())
    if state_cls is not None:
        values = lin.state_values(state_cls, chain, pending_update=rec is None and lin.is_fork and not lin.own)
        return jsonable(values)  # type: ignore[no-any-return]
    stored = await store.get_graph(lin.run.fingerprint) or {}
    return fold_raw(stored.get("state", []), lin.runs, chain, lin.journal)


def _resolve(lin: Lineage, at: int | str) -> StepRecord:
    if isinstance(at, int):
        if at not in lin.records:
            raise UsageError(f"run {lin.run.run_id} has no step {at}; see `loomflow trace {lin.run.run_id}`")
        return lin.records[at]
    hits = [r for r in lin.chain(lin.head()) if r.node_path == at]
    if len(hits) != 1:
        where = f"at steps {', '.join(str(r.step) for r in hits)}; give a step number" if hits else "never"
        raise UsageError(f"node {at!r} ran {where} in run {lin.run.run_id}")
    return hits[0]


async def _own_steps(store: SQLiteStore, run_id: str) -> int:
    return sum(1 for rec in await store.steps(run_id) if not rec.superseded)
