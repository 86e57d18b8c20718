"""Graph compatibility: a stored run continues only on a graph whose state schema it understands.

Node and edge changes are accepted while the node the run continues at exists (that is how a run that
failed on an undeclared route is fixed and resumed). A changed state schema needs a version bump and a
registered migration; the migrated state becomes the run's new base, and the recorded schema is kept so
states from before the migration can still be rebuilt (and migrated).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from loomflow.checkpoint.base import CheckpointStore
from loomflow.checkpoint.codec import dumps, loads
from loomflow.checkpoint.records import RunRecord, StepRecord
from loomflow.errors import IncompatibleGraph
from loomflow.graph import Graph
from loomflow.lineage import Lineage, fold_raw, load_lineage

__all__ = ["check_graph", "check_node", "diff_message", "migrate", "migrated_values"]


def check_node(graph: Graph[Any], run_id: str, path: str | None) -> None:
    """Refuse to continue at a node the graph no longer has (before anything is written)."""
    if path is not None and path not in graph.table:
        raise IncompatibleGraph(
            f"run {run_id!r} continues at node {path!r}, which graph {graph.name!r} no longer has "
            f"(nodes: {', '.join(graph.table)}); resume it with a graph that has the node, or fork it "
            f"from an earlier step"
        )


async def check_graph(
    graph: Graph[Any], store: CheckpointStore, lin: Lineage, *, head: int | Literal["latest"] | None = "latest"
) -> Lineage:
    """Refuse a graph whose state schema changed without a migration; migrate when one applies, at ``head``
    (the step the run goes on from: its latest, or the one a rewind goes back to).

    Changes to nodes and edges are accepted as long as the node the run continues at exists (that
    is how a run failed on an undeclared route is fixed and resumed).
    """
    run = lin.run
    graph = graph
    if run.fingerprint == graph.fingerprint:
        return lin
    stored = await store.get_graph(run.fingerprint) or {}
    new = graph.structure()
    version = graph.state.__state_version__
    if stored.get("state", []) != new["state"] or run.state_version != version:
        missing = [v for v in range(run.state_version, version) if v not in graph.migrations]
        if run.state_version >= version or missing:
            raise IncompatibleGraph(diff_message(run, stored, new, missing))
        lin = await migrate(graph, store, lin, stored.get("state", []), head=head)
    await store.put_graph(graph.fingerprint, new)
    await store.update_run(run.run_id, fingerprint=graph.fingerprint, state_version=version)
    return lin


async def migrate(
    graph: Graph[Any],
    store: CheckpointStore,
    lin: Lineage,
    old_schema: list[str],
    *,
    head: int | Literal["latest"] | None = "latest",
) -> Lineage:
    """Fold the run in its recorded schema up to ``head``, apply the registered migrations in order, and keep
    the result as the run's new base state at that step, so later loads never read the old-schema deltas
    again (a rewind migrates at the step it goes back to: its new branch starts from there)."""
    run = lin.run
    if head == "latest":
        head = lin.head()
    raw = fold_raw(old_schema, lin.runs, lin.chain(head), lin.journal)
    for version in range(run.state_version, graph.state.__state_version__):
        raw = graph.migrations[version](raw)
    channels = graph.state.channels()
    unknown = sorted(set(raw) - set(channels))
    if unknown:
        raise IncompatibleGraph(
            f"the migrations for run {run.run_id!r} left channel(s) {unknown} that the state no longer "
            f"declares; drop or rename them in the migration"
        )
    values = {n: ch.decode(raw[n]) if raw.get(n) is not None else ch.default for n, ch in channels.items()}
    base_state = loads(dumps(values))
    # The recorded schema is kept, so states before the migration can still be rebuilt (and migrated).
    origin = {"schema": old_schema, "version": run.state_version}
    metadata = {**(run.metadata or {}), "_migrated_from": origin}
    await store.update_run(run.run_id, base_step=head or 0, base_state=base_state, metadata=metadata)
    return await load_lineage(store, run.run_id)


def migrated_values(graph: Graph[Any], lin: Lineage, chain: list[StepRecord], origin: dict[str, Any]) -> dict[str, Any]:
    """The state at a step recorded before a migration: folded in the old schema, then migrated."""
    runs = [dataclasses.replace(r, base_step=None, base_state=None) for r in lin.runs]
    raw = fold_raw(origin["schema"], runs, chain, lin.journal)
    for version in range(origin["version"], graph.state.__state_version__):
        raw = graph.migrations[version](raw)
    channels = graph.state.channels()
    return {n: ch.decode(raw[n]) if raw.get(n) is not None else ch.default for n, ch in channels.items()}


def diff_message(run: RunRecord, old: dict[str, Any], new: dict[str, Any], missing: list[int]) -> str:
    lines = [f"run {run.run_id!r} was recorded by graph {run.graph!r} of another shape:"]
    old_nodes = {n["path"] for n in old.get("nodes", [])}
    new_nodes = {n["path"] for n in new["nodes"]}
    if old_nodes - new_nodes:
        lines.append(f"  nodes removed: {', '.join(sorted(old_nodes - new_nodes))}")
    if new_nodes - old_nodes:
        lines.append(f"  nodes added: {', '.join(sorted(new_nodes - old_nodes))}")
    old_state, new_state = set(old.get("state", [])), set(new["state"])
    for line in sorted(old_state - new_state):
        lines.append(f"  channel removed or changed: {line}")
    for line in sorted(new_state - old_state):
        lines.append(f"  channel added or changed: {line}")
    version = new["state_version"]
    if run.state_version == version:
        lines.append(
            f"The state schema changed but its version is still {version}: declare "
            f"`class MyState(State, version={version + 1})` and register Graph(migrations={{{version}: fn}})."
        )
    elif missing:
        lines.append(f"Register migrations for state version(s) {missing} on the graph to resume it.")
    else:
        lines.append(f"The store holds state version {run.state_version}, newer than this graph's {version}.")
    return "\n".join(lines)
