"""Graphs: named nodes, declared edges, one start node and ``END``; a graph can be a node of another.

    from loomflow import END, Graph

    graph = Graph(
        "counter",
        state=Counter,
        nodes=[count, report],
        edges=[("count", "count", "again"), ("count", "report", "done"), ("report", END)],
        start="count",
    )

A graph is checked when built; every problem is reported at once, each naming the node and the fix.
Subgraphs are flattened into one table of node paths (``harness/model_call``), so the interpreter runs
one flat loop and every step has a stable path. The drawn graph is the executed graph: edges are
declared, never inferred.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from loomflow.errors import GraphError
from loomflow.nodedef import Node
from loomflow.state import State

if TYPE_CHECKING:
    import networkx

__all__ = ["END", "CompiledNode", "Edge", "Graph", "Subgraph"]

END = "__end__"
_START = "__start__"  # the start point in pictures (loomflow.viz)

S = TypeVar("S", bound=State)
EdgeSpec = tuple[str, str] | tuple[str, str, str | None]
Migration = Callable[[dict[str, Any]], dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class Edge:
    """A declared edge; ``route`` is the label a node returns to take it (``None``: the default)."""

    source: str
    target: str
    route: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Subgraph:
    """A graph embedded as one node of another graph, under ``name``."""

    graph: Graph[Any]
    name: str


@dataclasses.dataclass(slots=True)
class CompiledNode:
    """One entry of the flat node table the interpreter runs."""

    path: str
    node: Node
    out: dict[str | None, str]
    cluster: str | None
    default: str | None = None


class Graph(Generic[S]):
    """A validated graph of nodes over one state schema.

    ``migrations`` maps an old state-schema version to a function that upgrades a stored state dict
    by one version, so runs recorded before a schema change can still be resumed.
    """

    def __init__(
        self,
        name: str,
        *,
        state: type[S],
        nodes: Sequence[Node | Graph[Any] | Subgraph],
        edges: Iterable[EdgeSpec | Edge],
        start: str,
        migrations: Mapping[int, Migration] | None = None,
        description: str = "",
    ) -> None:
        self.name = name
        self.state = state
        self.start = start
        self.description = description
        self.migrations: dict[int, Migration] = dict(migrations or {})
        self.edges: tuple[Edge, ...] = tuple(_edge(e) for e in edges)
        self.entries: dict[str, Node | Subgraph] = {}
        problems: list[str] = []
        for entry in nodes:
            item: Node | Subgraph = Subgraph(entry, entry.name) if isinstance(entry, Graph) else entry
            if not item.name or "/" in item.name or item.name in (END, _START):
                problems.append(
                    f"node name {item.name!r} is not allowed; use a non-empty name without '/' "
                    f"({END!r} and {_START!r} are the graph's own end points)"
                )
            elif item.name in self.entries:
                problems.append(f"node {item.name!r} is declared twice; give each node a unique name")
            self.entries[item.name] = item
        problems += self._check_level()
        state.channels()  # a bad schema is a GraphError now, not at the first step
        self.table: dict[str, CompiledNode] = {}
        self.clusters: list[dict[str, Any]] = []
        if self.start in self.entries:  # check the rest too, so every problem is reported at once
            known = set(self.entries) | {END}
            valid = tuple(e for e in self.edges if e.source in self.entries and e.target in known)
            edges, self.edges = self.edges, valid
            flat = _Flattener(self).run()
            problems += flat
            if not flat:
                problems += self._check_flat()
            self.edges = edges
        if problems:
            raise GraphError(name, problems)
        self.start_path = _entry_path(self, start, "")
        self._structure: dict[str, Any] | None = None
        self._fingerprint: str | None = None

    def as_node(self, name: str) -> Subgraph:
        """This graph as a node named ``name`` of another graph."""
        return Subgraph(self, name)

    # ------------------------------------------------------------------ checks
    def _check_level(self) -> list[str]:
        problems = []
        if self.start not in self.entries:
            problems.append(f"start node {self.start!r} is not a node; declare it or fix start=")
        seen: dict[tuple[str, str | None], str] = {}
        for e in self.edges:
            if e.source not in self.entries:
                problems.append(
                    f"edge {e.source} -> {e.target}: source {e.source!r} is not a node; declare it or fix the edge"
                )
            if e.target != END and e.target not in self.entries:
                problems.append(
                    f"edge {e.source} -> {e.target}: target {e.target!r} is not a node; declare it or use END"
                )
            key = (e.source, e.route)
            if key in seen:
                label = f"route {e.route!r}" if e.route else "the default (unlabelled) route"
                problems.append(
                    f"node {e.source!r} has two edges for {label} ({seen[key]} and {e.target}); "
                    f"label them with distinct routes"
                )
            seen[key] = e.target
        for name, entry in self.entries.items():
            routes = entry.routes if isinstance(entry, Node) else None
            declared = {e.route for e in self.edges if e.source == name}
            for route in routes or ():
                if route not in declared:
                    problems.append(
                        f"node {name!r} can route to {route!r}, but graph {self.name!r} declares no edge "
                        f"{name} --{route}--> ...; add it to the edges"
                    )
        return problems

    def _check_flat(self) -> list[str]:
        problems: list[str] = []
        succ = {p: set(c.out.values()) for p, c in self.table.items()}
        start = _entry_path(self, self.start, "")
        reached = _reach(start, succ)
        for path in self.table:
            if path not in reached:
                problems.append(f"node {path!r} is unreachable from start {start!r}; add an edge to it or remove it")
        pred: dict[str, set[str]] = {p: set() for p in [*self.table, END]}
        for p, targets in succ.items():
            for t in targets:
                pred[t].add(p)
        for path in self.table:
            if path in reached and path not in _reach(END, pred):
                problems.append(f"node {path!r} cannot reach END; add an edge from it towards END")
        unlimited = {
            p: {t for t in ts if t in self.table and self.table[t].node.max_visits is None}
            for p, ts in succ.items()
            if self.table[p].node.max_visits is None
        }
        for cycle in _cycles(unlimited):
            names = " -> ".join([*cycle, cycle[0]])
            problems.append(f"cycle {names} has no iteration limit; give one of its nodes max_visits=N")
        return problems

    def lint(self) -> list[str]:
        """Problems beyond the structural ones (which fail construction): each node's own rules."""
        problems: list[str] = []
        for compiled in self.table.values():
            rule = getattr(compiled.node, "lint_problems", None)
            if callable(rule):
                problems += [f"node {compiled.path!r}: {p}" for p in rule()]
        return problems

    # ------------------------------------------------------------------ views
    def structure(self) -> dict[str, Any]:
        """The flattened graph as JSON-able data: what stores keep and renderers draw."""
        if self._structure is None:
            nodes = [
                {
                    "path": c.path,
                    "label": c.path.rsplit("/", 1)[-1],
                    "cluster": c.cluster,
                    **c.node.describe(),
                }
                for c in self.table.values()
            ]
            edges = [
                {"source": c.path, "target": target, "route": route}
                for c in self.table.values()
                for route, target in c.out.items()
            ]
            self._structure = {
                "name": self.name,
                "start": self.start_path,
                "nodes": nodes,
                "edges": edges,
                "clusters": self.clusters,
                "state": self.state.describe(),
                "state_version": self.state.__state_version__,
            }
        return self._structure

    @property
    def fingerprint(self) -> str:
        """A hash of the whole structure (name, nodes with their limits and interrupt marks, edges, clusters,
        state schema): stores keep one structure per fingerprint, so a stored run is drawn with its own graph.
        A run resumes on another fingerprint when the state schema still fits (see ``loomflow.schema``)."""
        if self._fingerprint is None:  # computed once, like the structure it hashes (every run reads it)
            data = json.dumps(self.structure(), sort_keys=True).encode()
            self._fingerprint = hashlib.sha256(data).hexdigest()[:16]
        return self._fingerprint

    @property
    def nx(self) -> networkx.DiGraph:
        """The flattened graph as a ``networkx.DiGraph`` (node and edge attributes included)."""
        import networkx

        g = networkx.DiGraph(name=self.name)
        s = self.structure()
        for n in s["nodes"]:
            g.add_node(n["path"], **{k: v for k, v in n.items() if k != "path"})
        g.add_node(END)
        for e in s["edges"]:
            g.add_edge(e["source"], e["target"], route=e["route"])
        return g

    def to_ascii(self) -> str:
        from loomflow.viz import to_ascii

        return to_ascii(self.structure())

    def to_mermaid(self) -> str:
        from loomflow.viz import to_mermaid

        return to_mermaid(self.structure())

    def to_dot(self) -> str:
        from loomflow.viz import to_dot

        return to_dot(self.structure())

    def render(self, path: str | Path, format: str | None = None) -> Path:
        """Write SVG/PNG/PDF with Graphviz's ``dot``; a clear error names the fix when it is missing."""
        from loomflow.viz import render

        return render(self.structure(), path, format=format)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from loomflow.viz import mimebundle

        return mimebundle(self.structure())

    def __repr__(self) -> str:
        return f"<Graph {self.name!r}: {len(self.table)} nodes>"


def _edge(spec: EdgeSpec | Edge) -> Edge:
    if isinstance(spec, Edge):
        return spec
    if len(spec) == 2:
        return Edge(spec[0], spec[1])
    return Edge(spec[0], spec[1], spec[2])


def _entry_path(graph: Graph[Any], name: str, prefix: str) -> str:
    entry = graph.entries[name]
    if isinstance(entry, Subgraph):
        return _entry_path(entry.graph, entry.graph.start, f"{prefix}{name}/")
    return prefix + name


class _Flattener:
    """Turns nested graphs into one table of node paths, wiring subgraph exits to the parent's edges."""

    def __init__(self, root: Graph[Any]) -> None:
        self.root = root
        self.problems: list[str] = []

    def run(self) -> list[str]:
        self._flatten(self.root, "", None, None)
        return self.problems

    def _flatten(self, g: Graph[Any], prefix: str, exits: dict[str | None, str] | None, cluster: str | None) -> None:
        for name, entry in g.entries.items():
            path = prefix + name
            outs = [e for e in g.edges if e.source == name]
            if isinstance(entry, Subgraph):
                sub_exits = {e.route: self._target(g, e, prefix, exits) for e in outs}
                label = entry.graph.name if entry.graph.name == name else f"{name}: {entry.graph.name}"
                self.root.clusters.append({"path": path, "label": label, "parent": cluster})
                self._flatten(entry.graph, path + "/", sub_exits, path)
                continue
            out = {e.route: self._target(g, e, prefix, exits) for e in outs}
            compiled = CompiledNode(path, entry, out, cluster)
            if None in out:
                compiled.default = out[None]
            elif len(out) == 1:
                compiled.default = next(iter(out.values()))
            self.root.table[path] = compiled

    def _target(self, g: Graph[Any], e: Edge, prefix: str, exits: dict[str | None, str] | None) -> str:
        if e.target != END:
            return _entry_path(g, e.target, prefix)
        if exits is None:
            return END
        if e.route in exits:
            return exits[e.route]
        if None in exits:
            return exits[None]
        if len(exits) == 1:
            return next(iter(exits.values()))
        where = prefix.rstrip("/")
        self.problems.append(
            f"{prefix}{e.source} exits subgraph {where!r} with route {e.route!r}, but the parent declares no "
            f"edge {where} --{e.route}--> ... (it declares {sorted(map(str, exits))}); add one"
        )
        return END


def _reach(start: str, succ: Mapping[str, set[str]]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in succ.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _cycles(succ: Mapping[str, set[str]]) -> list[list[str]]:
    """One representative cycle per strongly connected component that has a cycle (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(succ.get(v, ())):
            if w not in succ:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in succ.get(v, ()):
                found.append(sorted(comp))

    for v in sorted(succ):
        if v not in index:
            visit(v)
    return found
