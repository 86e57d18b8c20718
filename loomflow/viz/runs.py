"""Several runs of one graph in one picture, and the graph a run's own steps describe.

``to_dot_runs`` draws each run in a cluster of its own, side by side, so a fork sits beside the run it
was forked from, with a dashed arrow where it left it. ``structure_from_steps`` rebuilds the part of a
graph a run went through from its step records alone, for when the graph itself is not at hand (a
``RunResult`` in a notebook knows its steps, not its graph).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

from loomflow.checkpoint.records import StepRecord
from loomflow.viz._parse import parse
from loomflow.viz._structure import END, NodeSpec, Structure
from loomflow.viz.ascii import to_ascii
from loomflow.viz.dot import body, header, quote

__all__ = ["RunLink", "fork_links", "structure_from_steps", "to_ascii_runs", "to_dot_runs"]

_INDENT = "    "


class RunLink(NamedTuple):
    """A dashed arrow between two runs of a side-by-side drawing, e.g. where a fork left its origin.

    ``source_run`` and ``target_run`` index the overlays; the nodes are paths of the structure.
    """

    source_run: int
    source_node: str
    target_run: int
    target_node: str
    label: str = ""


def to_dot_runs(
    structure: Mapping[str, Any],
    overlays: Sequence[Mapping[str, Any]],
    *,
    links: Iterable[RunLink] = (),
    title: str | None = None,
) -> str:
    """Draw several runs of one structure side by side, one cluster per run, as DOT source.

    >>> graph = {"name": "g", "start": "a", "nodes": [{"path": "a"}], "edges": [{"source": "a", "target": "__end__"}]}
    >>> dot = to_dot_runs(graph, [{"run_id": "r1"}, {"run_id": "r2"}], links=[RunLink(0, "a", 1, "a", "fork")])
    >>> '"run0/a" -> "run1/a"' in dot
    True
    """
    if not overlays:
        raise ValueError("to_dot_runs needs at least one overlay; draw a bare graph with to_dot()")
    parsed = [parse(structure, overlay) for overlay in overlays]
    diagram = parsed[0][0]
    lines = [f"digraph {quote(diagram.name + ' runs')} {{", *header(title or f"{diagram.name}: {len(parsed)} runs")]
    lines.append(f"{_INDENT}compound=true;")
    for i, (_, run) in enumerate(parsed):
        assert run is not None
        lines.append(f"{_INDENT}subgraph {quote(f'cluster_run{i}')} {{")
        inner = _INDENT * 2
        lines.append(f'{inner}label={quote(run.title(diagram.name))}; style="dashed"; color="#546e7a";')
        body(diagram, run, inner, lines, prefix=f"run{i}/")
        lines.append(f"{_INDENT}}}")
    known = {node.path for node in diagram.nodes}
    for link in links:
        for index, path in ((link.source_run, link.source_node), (link.target_run, link.target_node)):
            if not 0 <= index < len(parsed) or path not in known:
                raise ValueError(
                    f"link {link} names run {index} / node {path!r}, which the drawing does not have; "
                    f"runs are numbered 0..{len(parsed) - 1} and nodes are paths of {diagram.name!r}."
                )
        attrs = ["style=dashed", 'color="#6a1b9a"', 'fontcolor="#6a1b9a"', "constraint=false"]
        if link.label:
            attrs.insert(0, f"label={quote(link.label)}")
        source, target = f"run{link.source_run}/{link.source_node}", f"run{link.target_run}/{link.target_node}"
        lines.append(f"{_INDENT}{quote(source)} -> {quote(target)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines)


def to_ascii_runs(
    structure: Mapping[str, Any], overlays: Sequence[Mapping[str, Any]], *, links: Iterable[RunLink] = ()
) -> str:
    """The text version of ``to_dot_runs``: each run's drawing in turn, then the links between them."""
    parts = [to_ascii(structure, overlay) for overlay in overlays]
    names = [str(overlay.get("run_id") or f"run {i}") for i, overlay in enumerate(overlays)]
    for link in links:
        text = f"{names[link.source_run]} [{link.source_node}] ╌╌> {names[link.target_run]} [{link.target_node}]"
        parts.append(text + (f"  ({link.label})" if link.label else ""))
    return "\n\n".join(parts)


def structure_from_steps(steps: Iterable[StepRecord], name: str = "run") -> Structure:
    """The nodes, edges and clusters a run went through, read from its steps (superseded ones left out).

    Nodes the run was routed to but never entered (it paused or failed first) are included, so the
    drawing shows where the run was heading. The result draws like any structure:
    ``to_ascii(structure_from_steps(steps), overlay_from_steps(steps, start=...))``.
    """
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str], str | None] = {}
    for rec in steps:
        if rec.superseded:
            continue
        spec = nodes.setdefault(rec.node_path, {"path": rec.node_path})
        if rec.status == "interrupted":
            spec["interrupts"] = True
        if rec.target is not None:
            edges.setdefault((rec.node_path, rec.target), rec.route)
            if rec.target != END:
                nodes.setdefault(rec.target, {"path": rec.target})
    clusters: dict[str, str | None] = {}
    for path in nodes:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            clusters.setdefault("/".join(parts[:depth]), "/".join(parts[: depth - 1]) or None)
    for spec in nodes.values():
        parent = spec["path"].rpartition("/")[0]
        spec["cluster"] = parent or None
    return Structure(
        name=name,
        start=next(iter(nodes), ""),
        nodes=[cast(NodeSpec, spec) for spec in nodes.values()],
        edges=[{"source": s, "target": t, "route": r} for (s, t), r in edges.items()],
        clusters=[{"path": p, "label": p.rsplit("/", 1)[-1], "parent": parent} for p, parent in clusters.items()],
    )


def fork_links(
    runs: Sequence[tuple[str, Sequence[StepRecord]]], parents: Mapping[str, str | None] | None = None
) -> list[RunLink]:
    """Links from each run to the forks of it among ``runs`` (``(run_id, steps)`` pairs, steps as
    ``history()`` or ``RunResult.records`` give them): a fork's own first step re-runs the node it was
    forked at. ``parents`` (a fork's ``parent_run``, from its run record) names each fork's origin; without
    it the origin is the run of the last step the fork shares, which a fork at step 1 does not have."""
    index = {run_id: i for i, (run_id, _) in enumerate(runs)}
    links = []
    for j, (run_id, steps) in enumerate(runs):
        shared = [rec for rec in steps if rec.run_id != run_id]
        own = next((rec for rec in steps if rec.run_id == run_id), None)
        origin = parents.get(run_id) if parents is not None else shared[-1].run_id if shared else None
        if own is None or origin not in index:
            continue
        links.append(RunLink(index[origin], own.node_path, j, own.node_path, f"fork at step {own.step}"))
    return links
