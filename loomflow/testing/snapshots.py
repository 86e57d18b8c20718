"""Snapshot tests of runs and graphs with syrupy: readable ``.ambr`` files, readable diffs.

The ``trace_snapshot`` fixture (registered by loomflow's pytest plugin) is syrupy's ``snapshot`` with
``TraceSnapshotExtension``, which stores a trace as its canonical text, one line per step::

    def test_my_agent(trace_snapshot):
        result = agent.run_sync("Summarise the repo")
        assert result.trace == trace_snapshot            # stored under __snapshots__/test_x.ambr
        assert agent.graph == trace_snapshot(name="graph")  # a Graph is stored as its Mermaid text

``pytest --snapshot-update`` writes or refreshes the files, as with any syrupy snapshot. This module
imports syrupy, so only tests import it; ``import loomflow`` never does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from syrupy.extensions.amber import AmberSnapshotExtension

from loomflow.trace import Trace

if TYPE_CHECKING:
    from syrupy.types import SerializableData

    from loomflow.agent import AgentState, Runtime
    from loomflow.graph import Graph
    from loomflow.interpreter import RunResult
    from loomflow.tools import Tool

__all__ = ["TraceSnapshotExtension", "canonical_text", "prebuilt_graphs", "scripted_run"]


def canonical_text(data: Any) -> Any:
    """What a snapshot stores for ``data``: a trace's text (for a ``Trace`` or a run result), a graph's
    Mermaid, anything else unchanged. Amber stores a text of several lines as an indented block, one
    line per step, so the files and their diffs read like the trace itself."""
    if isinstance(data, Trace):
        return data.to_text()
    trace = getattr(data, "trace", None)
    if isinstance(trace, Trace) and hasattr(data, "status"):  # a RunResult
        return f"status: {data.status}\n{trace.to_text()}"
    to_mermaid = getattr(data, "to_mermaid", None)
    if callable(to_mermaid) and callable(getattr(data, "structure", None)):  # a Graph
        return to_mermaid()
    return data


class TraceSnapshotExtension(AmberSnapshotExtension):
    """Amber snapshots (``__snapshots__/<test file>.ambr``) that store traces and graphs as text."""

    def serialize(self, data: SerializableData, **kwargs: Any) -> str:
        return super().serialize(canonical_text(data), **kwargs)


def prebuilt_graphs() -> dict[str, Callable[[], Graph[Any]]]:
    """Every factory in ``loomflow.graphs.__all__`` callable with no arguments that returns a ``Graph``,
    by name: parametrize a test over it and each new prebuilt graph is snapshot-tested with no edit."""
    import loomflow.agent  # before loomflow.graphs: the agent package imports it, and the other order is a cycle
    import loomflow.graphs
    from loomflow.graph import Graph

    found: dict[str, Callable[[], Graph[Any]]] = {}
    for name in loomflow.graphs.__all__:
        factory = getattr(loomflow.graphs, name)
        if not callable(factory) or isinstance(factory, type) or not _no_required_args(factory):
            continue
        if isinstance(factory(), Graph):
            found[name] = factory
    return found


def _no_required_args(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


def scripted_run(
    script: Sequence[Any],
    task: str = "Do the task.",
    *,
    tools: Sequence[Tool] = (),
    runtime: Runtime | None = None,
    answers: Sequence[Any] = (),
    instructions: str = "",
) -> RunResult[AgentState]:
    """Run an agent on ``Model.scripted(script)`` in memory, answering each interrupt with the next of
    ``answers``; the result's trace is the whole traversal, ready for ``trace_snapshot``::

        result = scripted_run([ToolCall("look", {}), "done"], tools=[look], runtime=Runtime(harness=...))
        assert result.trace == trace_snapshot
    """
    from loomflow.agent import Agent
    from loomflow.agent.agent import _sync
    from loomflow.checkpoint import MemoryStore
    from loomflow.model import Model

    agent = Agent(
        model=Model.scripted(list(script)),
        tools=tools,
        runtime=runtime,
        instructions=instructions,
        checkpoint_store=MemoryStore(),
    )

    async def drive() -> RunResult[AgentState]:
        result = await agent.run(task)
        for answer in answers:
            if result.status != "interrupted":
                raise AssertionError(f"run is {result.status}, but answers are left: {list(answers)!r}")
            result = await agent.resume(result.run_id, answer)
        return result

    return _sync(drive())
