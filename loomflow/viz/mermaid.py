"""Mermaid ``flowchart`` drawing of a graph structure.

Mermaid renders in GitHub, docs sites and notebooks without installing
anything, which is why each harness module's docstring carries this text.
Paths such as ``harness/model_call`` are not valid Mermaid ids, so every node
gets a sanitised id (``n_harness_model_call``) and its label is quoted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from loomflow.viz._parse import parse
from loomflow.viz._structure import END, START, TIMES, Block, Diagram, Node, Run

# Later classDefs win where two apply, so the run's marks come after the graph's own.
_CLASSES = {
    "limit": "stroke-width:3px",
    "interrupt": "fill:#ffe0b2,stroke:#e65100",
    "visited": "fill:#e8f5e9,stroke:#2e7d32",
    "waiting": "fill:#ffb74d,stroke:#e65100,stroke-width:3px",
    "failed": "fill:#ffcdd2,stroke:#c62828,stroke-width:3px",
    "startpoint": "fill:#a5d6a7,stroke:#2e7d32",
    "endpoint": "fill:#eeeeee,stroke:#616161",
}
_INDENT = "    "


def to_mermaid(structure: Mapping[str, Any], overlay: Mapping[str, Any] | None = None) -> str:
    """Draw a structure (and optionally one run on it) as a Mermaid flowchart.

    >>> graph = {"name": "g", "start": "a/b", "nodes": [{"path": "a/b"}],
    ...          "edges": [{"source": "a/b", "target": "__end__", "route": "done"}]}
    >>> print(to_mermaid(graph))
    flowchart TD
        %% g
        __start__(("start"))
        n_a_b["b"]
        __end__(("end"))
        __start__ --> n_a_b
        n_a_b -->|"done"| __end__
        classDef startpoint fill:#a5d6a7,stroke:#2e7d32
        classDef endpoint fill:#eeeeee,stroke:#616161
        class __start__ startpoint
        class __end__ endpoint
    """
    diagram, run = parse(structure, overlay)
    ids = _ids(diagram)
    # The name goes in a comment, not a front-matter title: front matter must be the very
    # first bytes and older Mermaid rejects it, both easy to trip over in docstrings and docs.
    title = diagram.name if run is None else run.title(diagram.name)
    lines = ["flowchart TD", f"{_INDENT}%% {' '.join(title.split())}"]
    lines.append(f'{_INDENT}{START}(("start"))')
    _block(diagram.layout(), ids, run, _INDENT, lines)
    lines.append(f'{_INDENT}{END}(("end"))')

    # Any run went through the start edge, whether or not the overlay counted it.
    lines.append(_INDENT + _link(START, diagram.start, None, run, ids, taken=True))
    lines.extend(_INDENT + _link(e.source, e.target, e.route, run, ids) for e in diagram.edges)

    members = _classes(diagram, run, ids)
    members["startpoint"] = [START]
    members["endpoint"] = [END]
    lines.extend(f"{_INDENT}classDef {name} {_CLASSES[name]}" for name in _CLASSES if members.get(name))
    lines.extend(f"{_INDENT}class {','.join(members[name])} {name}" for name in _CLASSES if members.get(name))
    return "\n".join(lines)


def _ids(diagram: Diagram) -> dict[str, str]:
    """Mermaid ids for node and cluster paths: prefixed, so never a keyword, and unique."""
    ids: dict[str, str] = {START: START, END: END}
    taken = set(ids.values())
    for prefix, paths in (
        ("n_", [n.path for n in diagram.nodes]),
        ("c_", [c.path for c in diagram.clusters]),
    ):
        for path in paths:
            base = prefix + re.sub(r"\W", "_", path, flags=re.ASCII)
            candidate, suffix = base, 1
            while candidate in taken:
                suffix += 1
                candidate = f"{base}_{suffix}"
            ids[prefix + path] = candidate
            taken.add(candidate)
    return ids


def _block(block: Block, ids: dict[str, str], run: Run | None, indent: str, lines: list[str]) -> None:
    inner = indent
    if block.cluster is not None:
        lines.append(f'{indent}subgraph {ids["c_" + block.cluster.path]}["{_escape(block.cluster.label)}"]')
        inner = indent + _INDENT
    for item in block.items:
        if isinstance(item, Block):
            _block(item, ids, run, inner, lines)
        else:
            lines.append(inner + _node(item, ids, run))
    if block.cluster is not None:
        lines.append(f"{indent}end")


def _node(node: Node, ids: dict[str, str], run: Run | None) -> str:
    text = _escape(node.label)
    if node.interrupts:
        text = "⏸ " + text
    if node.limit is not None:
        text += f" ↻{node.limit}"
    if run is not None:
        extra = [run.stats(node.path)]
        extra.append("✗ failed" if node.path == run.failed else "")
        extra.append("⏸ waiting here" if node.path == run.waiting else "")
        text += "".join(f"<br/>{_escape(line)}" for line in extra if line)
    # Hexagon marks a node that can pause; the subroutine box echoes DOT's double border.
    if node.interrupts:
        return f'{ids["n_" + node.path]}{{{{"{text}"}}}}'
    if node.limit is not None:
        return f'{ids["n_" + node.path]}[["{text}"]]'
    return f'{ids["n_" + node.path]}["{text}"]'


def _link(
    source: str, target: str, route: str | None, run: Run | None, ids: dict[str, str], *, taken: bool = False
) -> str:
    label = "" if route is None else _escape(route)
    arrow = "-->"
    if run is not None:
        count = run.count(source, target)
        # Thick for taken, dotted for not taken: the path of the run stands out.
        arrow = "==>" if count or taken else "-.->"
        if count:
            label = f"{label} {TIMES}{count}".strip()
    text = f'|"{label}"|' if label else ""
    return f"{_id(source, ids)} {arrow}{text} {_id(target, ids)}"


def _id(path: str, ids: dict[str, str]) -> str:
    return ids[path] if path in (START, END) else ids["n_" + path]


def _classes(diagram: Diagram, run: Run | None, ids: dict[str, str]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {name: [] for name in _CLASSES}
    for node in diagram.nodes:
        node_id = ids["n_" + node.path]
        if node.limit is not None:
            members["limit"].append(node_id)
        if node.interrupts:
            members["interrupt"].append(node_id)
        if run is None:
            continue
        if node.path == run.failed:
            members["failed"].append(node_id)
        elif node.path == run.waiting:
            members["waiting"].append(node_id)
        elif run.visited(node.path):
            members["visited"].append(node_id)
    return members


def _escape(text: str) -> str:
    # Mermaid entity codes, not HTML ones: '#' first, since the others introduce it.
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("\n", " ")):
        text = text.replace(raw, code)
    return text
