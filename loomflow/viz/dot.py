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
from loomflow.viz._structure import END, START, TIMES, Block, Node, Run

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
    lines = [
        f"digraph {_quote(diagram.name)} {{",
        f"{_INDENT}graph [label={_quote(title)}, labelloc=t, fontname={_quote(_FONT)}];",
        f'{_INDENT}node [shape=box, style="rounded", fontname={_quote(_FONT)}, fontsize=11];',
        f"{_INDENT}edge [fontname={_quote(_FONT)}, fontsize=10];",
        f"{_INDENT}{_quote(START)} "
        '[label="start", shape=circle, style=filled, fillcolor="#a5d6a7", color="#2e7d32", fontsize=9];',
    ]
    _block(diagram.layout(), run, _INDENT, lines)
    lines.append(f'{_INDENT}{_quote(END)} [label="end", shape=Msquare, fontsize=9];')

    # Any run went through the start edge, whether or not the overlay counted it.
    lines.append(_INDENT + _edge(START, diagram.start, None, run, taken=True))
    lines.extend(_INDENT + _edge(e.source, e.target, e.route, run) for e in diagram.edges)
    lines.append("}")
    return "\n".join(lines)


def _block(block: Block, run: Run | None, indent: str, lines: list[str]) -> None:
    inner = indent
    if block.cluster is not None:
        lines.append(f"{indent}subgraph {_quote('cluster_' + block.cluster.path)} {{")
        inner = indent + _INDENT
        lines.append(f'{inner}label={_quote(block.cluster.label)}; style="rounded"; color="#90a4ae";')
    for item in block.items:
        if isinstance(item, Block):
            _block(item, run, inner, lines)
        else:
            lines.append(inner + _node(item, run))
    if block.cluster is not None:
        lines.append(f"{indent}}}")


def _node(node: Node, run: Run | None) -> str:
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
        attrs["style"] = _quote(",".join(dict.fromkeys(styles)))
    body = ", ".join(f"{key}={value}" for key, value in {"label": _quote("\n".join(label)), **attrs}.items())
    return f"{_quote(node.path)} [{body}];"


def _edge(source: str, target: str, route: str | None, run: Run | None, *, taken: bool = False) -> str:
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
        attrs.insert(0, f"label={_quote(label)}")
    suffix = f" [{', '.join(attrs)}]" if attrs else ""
    return f"{_quote(source)} -> {_quote(target)}{suffix};"


def _quote(text: str) -> str:
    """A DOT quoted string; backslashes doubled so labels show them rather than escape with them."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
