"""``agent_run``: the graph of every agent run — intake, the harness slot, finalize.

```mermaid
MERMAID
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.graphs.single_run import single_run
from loomflow.nodes.finalize import finalize
from loomflow.nodes.intake import intake

__all__ = ["agent_run"]


def agent_run(harness: Graph[AgentState] | None = None) -> Graph[AgentState]:
    """The run graph with ``harness`` (default: ``single_run``) embedded as the ``harness`` cluster."""
    return Graph(
        "agent_run",
        state=AgentState,
        nodes=[intake, (harness or single_run()).as_node("harness"), finalize],
        edges=[("intake", "harness"), ("harness", "finalize"), ("finalize", END)],
        start="intake",
    )
