"""``agent_run``: the graph of every agent run — intake, the harness slot, finalize.

```mermaid
flowchart TD
    %% agent_run
    __start__(("start"))
    n_intake{{"⏸ intake"}}
    subgraph c_harness["harness: single_run"]
        n_harness_context_build["context_build"]
        n_harness_model_call{{"⏸ model_call ↻1000"}}
        n_harness_governance{{"⏸ governance"}}
        n_harness_quality_gate["quality_gate"]
        n_harness_tool_dispatch["tool_dispatch"]
        n_harness_renewal["renewal"]
        n_harness_delegation{{"⏸ delegation"}}
    end
    n_finalize["finalize"]
    __end__(("end"))
    __start__ --> n_intake
    n_intake --> n_harness_context_build
    n_harness_context_build --> n_harness_model_call
    n_harness_model_call -->|"tool_calls"| n_harness_governance
    n_harness_model_call -->|"final"| n_harness_quality_gate
    n_harness_model_call -->|"reask"| n_harness_context_build
    n_harness_governance --> n_harness_tool_dispatch
    n_harness_tool_dispatch -->|"continue"| n_harness_context_build
    n_harness_tool_dispatch -->|"pressure"| n_harness_renewal
    n_harness_tool_dispatch -->|"delegate"| n_harness_delegation
    n_harness_renewal --> n_harness_context_build
    n_harness_delegation --> n_harness_context_build
    n_harness_quality_gate -->|"pass"| n_finalize
    n_harness_quality_gate -->|"retry"| n_harness_context_build
    n_finalize --> __end__
    classDef limit stroke-width:3px
    classDef interrupt fill:#ffe0b2,stroke:#e65100
    classDef startpoint fill:#a5d6a7,stroke:#2e7d32
    classDef endpoint fill:#eeeeee,stroke:#616161
    class n_harness_model_call limit
    class n_intake,n_harness_model_call,n_harness_governance,n_harness_delegation interrupt
    class __start__ startpoint
    class __end__ endpoint
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
