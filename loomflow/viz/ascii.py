"""Plain-text drawing of a graph structure, for terminals, logs and snapshots.

It needs nothing beyond the standard library, so it works where Graphviz and a
Mermaid viewer are absent (a CI log, an SSH session). Nodes are listed top to
bottom in the shared drawing order, each followed by its out-edges, with boxes
drawn around clusters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loomflow.viz._parse import parse
from loomflow.viz._structure import END, TIMES, Block, Diagram, Edge, Node, Run

_BAR = "│ "


def to_ascii(structure: Mapping[str, Any], overlay: Mapping[str, Any] | None = None) -> str:
    """Draw a structure (and optionally one run on it) as plain text.

    >>> graph = {"name": "g", "start": "a", "nodes": [{"path": "a"}, {"path": "b", "limit": 3}],
    ...          "edges": [{"source": "a", "target": "b"},
    ...                    {"source": "b", "target": "a", "route": "again"},
    ...                    {"source": "b", "target": "__end__", "route": "done"}]}
    >>> print(to_ascii(graph))
    g
    [a] (start)
      --> b
    [b] ↻3 (max 3 visits)
      --again--> a
      --done--> END
    """
    diagram, run = parse(structure, overlay)
    lines = [diagram.name if run is None else run.title(diagram.name)]
    _block(diagram.layout(), diagram, run, "", lines)
    return "\n".join(lines)


def _block(block: Block, diagram: Diagram, run: Run | None, indent: str, lines: list[str]) -> None:
    inner = indent
    if block.cluster is not None:
        lines.append(f"{indent}┌─ {block.cluster.label}")
        inner = indent + _BAR
    for item in block.items:
        if isinstance(item, Block):
            _block(item, diagram, run, inner, lines)
        else:
            lines.append(inner + _node(item, diagram, run))
            edges = diagram.out_edges(item.path)
            lines.extend(f"{inner}  {_edge(edge, run)}" for edge in edges)
            if not edges:
                lines.append(f"{inner}  (no out-edges)")
    if block.cluster is not None:
        lines.append(f"{indent}└─")


def _node(node: Node, diagram: Diagram, run: Run | None) -> str:
    text = f"[{node.path}]"
    if node.path == diagram.start:
        text += " (start)"
    if node.interrupts:
        text += " ⏸ (interrupt)"
    if node.limit is not None:
        text += f" ↻{node.limit} (max {node.limit} visits)"
    if run is not None:
        if stats := run.stats(node.path):
            text += f"  · {stats}"
        if node.path == run.failed:
            text += "  ✗ failed"
        if node.path == run.waiting:
            text += "  ⏸ waiting here"
    return text


def _edge(edge: Edge, run: Run | None) -> str:
    arrow = "-->" if edge.route is None else f"--{edge.route}-->"
    target = "END" if edge.target == END else edge.target
    # With a run, untaken edges show a zero count, so "not taken" differs from "not counted".
    count = "" if run is None else f"  {TIMES}{run.count(edge.source, edge.target)}"
    return f"{arrow} {target}{count}"
