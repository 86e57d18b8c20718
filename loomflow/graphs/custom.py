"""``custom``: a harness written as a function (``Harness.custom(fn)``); every ``run_once()`` is a
checkpointed child run, and the quality gate judges the function's chosen output.

```mermaid
MERMAID
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.nodes import custom as custom_node, quality_gate

__all__ = ["custom"]


def custom(name: str = "custom") -> Graph[AgentState]:
    """custom -> quality_gate; the graph carries the harness's ``name``."""
    return Graph(
        name,
        state=AgentState,
        nodes=[custom_node, quality_gate],
        edges=[("custom", "quality_gate"), ("quality_gate", END, "pass"), ("quality_gate", "custom", "retry")],
        start="custom",
    )
