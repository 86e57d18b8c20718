"""Graphviz DOT drawing of a graph structure.

The text is built by hand rather than with the ``graphviz`` package, so getting
DOT costs no optional dependency; only turning it into SVG or PNG (``render``)
needs Graphviz. Every id and label is a quoted DOT string, so paths with ``/``
and labels with quotes need no special casing beyond ``_quote``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loomflow.viz._parse import parse
from loomflow.viz._structure import END, START, TIMES, Block, Diagram, Node, Run

_FONT = "Helvetica"
_INDENT = "    "


def to_dot(structure: Mapping[str, Any], overlay: Mapping[str, Any] | None = None) -> str:
    """Draw a structure (and optionally one run on it) as Graphviz DOT source.

    >>> graph = {"name": "g", "start": "a", "nodes": [{"path": "a", "limit": 2}],
    ...          "edges": [{"source": "a", "target": "a", "route": "again"}]}
    >>> print(to_dot(graph))  # doctest: +ELLIPSIS
    digraph "g" {
    ...
        "a" [label="a\\nlimit 2", peripheries=2];
    ...
        "a" -> "a" [label="again"];
    }
    """
    diagram, run = parse(structure, overlay)
    title = diagram.name if run is None else run.title(diagram.name)
    lines = [f"digraph {quote(diagram.name)} {{", *header(title)]
    body(diagram, run, _INDENT, lines)
    lines.append("}")
    return "\n".join(lines)


def header(title: str) -> list[str]:
    """The graph title and default node and edge attributes of a drawing."""
    return [
        f"{_INDENT}graph [label={quote(title)}, labelloc=t, fontname={quote(_FONT)}];",
        f'{_INDENT}node [shape=box, style="rounded", fontname={quote(_FONT)}, fontsize=11];',
        f"{_INDENT}edge [fontname={quote(_FONT)}, fontsize=10];",
    ]


def body(diagram: Diagram, run: Run | None, indent: str, lines: list[str], prefix: str = "") -> None:
    """Nodes, clusters and edges of one drawing; ``prefix`` keeps ids apart when several share a file."""
    lines.append(
        f"{indent}{quote(prefix + START)} "
        '[label="start", shape=circle, style=filled, fillcolor="#a5d6a7", color="#2e7d32", fontsize=9];'
    )
    _block(diagram.layout(), run, indent, lines, prefix)
    lines.append(f'{indent}{quote(prefix + END)} [label="end", shape=Msquare, fontsize=9];')

    # Any run went through the start edge, whether or not the overlay counted it.
    lines.append(indent + _edge(START, diagram.start, None, run, prefix, taken=True))
    lines.extend(indent + _edge(e.source, e.target, e.route, run, prefix) for e in diagram.edges)


def _block(block: Block, run: Run | None, indent: str, lines: list[str], prefix: str) -> None:
    inner = indent
    if block.cluster is not None:
        lines.append(f"{indent}subgraph {quote('cluster_' + prefix + block.cluster.path)} {{")
        inner = indent + _INDENT
        lines.append(f'{inner}label={quote(block.cluster.label)}; style="rounded"; color="#90a4ae";')
    for item in block.items:
        if isinstance(item, Block):
            _block(item, run, inner, lines, prefix)
        else:
            lines.append(inner + _node(item, run, prefix))
    if block.cluster is not None:
        lines.append(f"{indent}}}")


def _node(node: Node, run: Run | None, prefix: str) -> str:
    label = [node.label]
    # Values are DOT text: quoted where they are strings.
    attrs: dict[str, str] = {}
    styles = ["rounded"]
    if node.limit is not None:
        label.append(f"limit {node.limit}")
        attrs["peripheries"] = "2"
    if node.interrupts:
        # An octagon has no rounded corners to keep.
        styles = ["filled"]
        attrs.update(shape="octagon", color='"darkorange"', fillcolor='"#ffe0b2"')
    if run is not None:
        if stats := run.stats(node.path):
            label.append(stats)
        if node.path == run.failed:
            label.append("failed")
            styles += ["filled", "bold"]
            attrs.update(color='"#c62828"', fillcolor='"#ffcdd2"')
        elif node.path == run.waiting:
            label.append("waiting here")
            styles += ["filled", "bold"]
            attrs.update(color='"darkorange"', fillcolor='"orange"')
        elif run.visited(node.path):
            styles.append("filled")
            attrs["fillcolor"] = '"#e8f5e9"'
        else:
            attrs.update(color='"gray60"', fontcolor='"gray50"')
    if styles != ["rounded"]:  # the default set on every node
        attrs["style"] = quote(",".join(dict.fromkeys(styles)))
    text = ", ".join(f"{key}={value}" for key, value in {"label": quote("\n".join(label)), **attrs}.items())
    return f"{quote(prefix + node.path)} [{text}];"


def _edge(source: str, target: str, route: str | None, run: Run | None, prefix: str, *, taken: bool = False) -> str:
    label = route or ""
    attrs: list[str] = []
    if run is not None:
        count = run.count(source, target)
        if count or taken:
            attrs.append("penwidth=2")
            if count:
                label = f"{label} {TIMES}{count}".strip()
        else:
            attrs += ["style=dashed", 'color="gray60"', 'fontcolor="gray60"']
    if label:
        attrs.insert(0, f"label={quote(label)}")
    suffix = f" [{', '.join(attrs)}]" if attrs else ""
    return f"{quote(prefix + source)} -> {quote(prefix + target)}{suffix};"


def quote(text: str) -> str:
    """A DOT quoted string; backslashes doubled so labels show them rather than escape with them."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
