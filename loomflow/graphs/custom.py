"""``custom``: a harness written as a function (``Harness.custom(fn)``); every ``run_once()`` is a
checkpointed child run, and the quality gate judges the function's chosen output.

```mermaid
flowchart TD
    %% custom
    __start__(("start"))
    n_custom{{"⏸ custom ↻20"}}
    n_quality_gate["quality_gate"]
    __end__(("end"))
    __start__ --> n_custom
    n_custom --> n_quality_gate
    n_quality_gate -->|"pass"| __end__
    n_quality_gate -->|"retry"| n_custom
    classDef limit stroke-width:3px
    classDef interrupt fill:#ffe0b2,stroke:#e65100
    classDef startpoint fill:#a5d6a7,stroke:#2e7d32
    classDef endpoint fill:#eeeeee,stroke:#616161
    class n_custom limit
    class n_custom interrupt
    class __start__ startpoint
    class __end__ endpoint
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
