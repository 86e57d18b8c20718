"""Reading structure and overlay dicts into the records of ``_structure``.

They arrive as plain dicts, often decoded from a stored run, so every field is
checked here once and a bad one is named with its fix, instead of surfacing as
a ``KeyError`` deep inside a renderer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from loomflow.viz._structure import END, START, Cluster, Diagram, Edge, Node, NodeStats, Run


def parse(structure: Mapping[str, Any], overlay: Mapping[str, Any] | None) -> tuple[Diagram, Run | None]:
    """Check a structure (and overlay) and return the records the renderers draw."""
    diagram = _parse_structure(structure)
    return diagram, None if overlay is None else _parse_overlay(overlay, diagram)


def _parse_structure(raw: Mapping[str, Any]) -> Diagram:
    name = _text(raw, "name", "structure")
    where = f"structure of graph {name!r}"
    clusters = tuple(
        Cluster(
            path=(path := _text(c, "path", f"{where}, a cluster")),
            label=_text(c, "label", f"{where}, cluster {path!r}", default=path),
            parent=_optional_text(c, "parent", f"{where}, cluster {path!r}"),
        )
        for c in _items(raw, "clusters", where, required=False)
    )
    nodes = tuple(
        Node(
            path=(path := _text(n, "path", f"{where}, a node")),
            label=_text(n, "label", f"{where}, node {path!r}", default=path.rsplit("/", 1)[-1]),
            cluster=_optional_text(n, "cluster", f"{where}, node {path!r}"),
            interrupts=bool(n.get("interrupts", False)),
            limit=_limit(n, f"{where}, node {path!r}"),
        )
        for n in _items(raw, "nodes", where)
    )
    edges = tuple(
        Edge(
            source=_text(e, "source", f"{where}, an edge"),
            target=_text(e, "target", f"{where}, an edge"),
            route=_optional_text(e, "route", f"{where}, an edge"),
        )
        for e in _items(raw, "edges", where)
    )
    diagram = Diagram(name, _text(raw, "start", where), nodes, edges, clusters)
    _check(diagram, where)
    return diagram


def _check(diagram: Diagram, where: str) -> None:
    paths = [node.path for node in diagram.nodes]
    cluster_paths = [cluster.path for cluster in diagram.clusters]
    for kind, names in (("node", paths), ("cluster", cluster_paths)):
        duplicates = sorted(p for p, n in Counter(names).items() if n > 1)
        if duplicates:
            raise ValueError(f"{where} lists {kind} {duplicates[0]!r} twice; {kind} paths must be unique.")
    for reserved in (START, END):
        if reserved in paths:
            raise ValueError(f"{where} has a node named {reserved!r}, which is reserved for the pseudo-node.")
    if diagram.start not in paths:
        raise ValueError(f"{where} starts at {diagram.start!r}, which is not in its nodes; add it to nodes.")
    for edge in diagram.edges:
        for end, allowed in ((edge.source, paths), (edge.target, [*paths, END])):
            if end not in allowed:
                raise ValueError(
                    f"{where} has an edge {edge.source} -> {edge.target}, but {end!r} is not in its nodes; "
                    "add the node or fix the edge."
                )
    for node in diagram.nodes:
        if node.cluster is not None and node.cluster not in cluster_paths:
            raise ValueError(
                f"{where} puts node {node.path!r} in cluster {node.cluster!r}, which is not in its clusters."
            )
    parents = {c.path: c.parent for c in diagram.clusters}
    for cluster in diagram.clusters:
        seen = {cluster.path}
        parent = cluster.parent
        while parent is not None:
            if parent not in parents:
                raise ValueError(f"{where} nests cluster {cluster.path!r} in undeclared cluster {parent!r}.")
            if parent in seen:
                raise ValueError(f"{where} nests cluster {cluster.path!r} inside itself.")
            seen.add(parent)
            parent = parents[parent]


def _parse_overlay(raw: Mapping[str, Any], diagram: Diagram) -> Run:
    where = f"overlay on graph {diagram.name!r}"
    known = {node.path for node in diagram.nodes}

    def node(path: object, what: str) -> str:
        if not isinstance(path, str) or path not in known:
            raise ValueError(
                f"{where}: {what} names node {path!r}, which the graph does not have; "
                "draw a run with the structure stored alongside it."
            )
        return path

    counts: dict[tuple[str, str], int] = {}
    for pair, count in dict(raw.get("edge_counts") or {}).items():
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not isinstance(count, int):
            raise ValueError(f"{where}: edge_counts wants (source, target) -> int, got {pair!r}: {count!r}.")
        source, target = pair
        source = source if source == START else node(source, "edge_counts")
        target = target if target == END else node(target, "edge_counts")
        counts[(source, target)] = counts.get((source, target), 0) + count
    stats = {
        node(path, "node_stats"): _stats(value, f"{where}: node_stats[{path!r}]")
        for path, value in dict(raw.get("node_stats") or {}).items()
    }
    failed, waiting = raw.get("failed"), raw.get("waiting")
    return Run(
        edge_counts=counts,
        node_stats=stats,
        failed=None if failed is None else node(failed, "failed"),
        waiting=None if waiting is None else node(waiting, "waiting"),
        status=_optional_text(raw, "status", where),
        run_id=_optional_text(raw, "run_id", where),
    )


def _stats(raw: object, where: str) -> NodeStats:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a dict, got {raw!r}.")
    stats = NodeStats()
    if (visits := _number(raw, "visits", where)) is not None:
        stats["visits"] = int(visits)
    if (seconds := _number(raw, "seconds", where)) is not None:
        stats["seconds"] = float(seconds)
    if (tokens := _number(raw, "tokens", where)) is not None:
        stats["tokens"] = int(tokens)
    return stats


def _number(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    # bool is an int subclass, and True visits is a bug upstream, not a count.
    if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise ValueError(f"{where}: {key!r} must be a number, got {value!r}.")
    return value


def _items(raw: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> list[Mapping[str, Any]]:
    value = raw.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"{where}: {key!r} must be a list of dicts, got {value!r}.")
    for item in value:
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: every entry of {key!r} must be a dict, got {item!r}.")
    return list(value)


def _text(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key!r} must be a string, got {value!r}.")
    return value


def _optional_text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}: {key!r} must be a string or None, got {value!r}.")
    return value


def _limit(raw: Mapping[str, Any], where: str) -> int | None:
    value = raw.get("limit")
    # bool is an int subclass; True is no iteration limit.
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{where}: 'limit' must be an int or None, got {value!r}.")
    return value
