"""``single_run``: the default harness — one model/tool loop, judged by the quality gate before exit.

```mermaid
flowchart TD
    %% single_run
    __start__(("start"))
    n_context_build["context_build"]
    n_model_call{{"⏸ model_call ↻1000"}}
    n_governance{{"⏸ governance"}}
    n_quality_gate["quality_gate"]
    n_tool_dispatch["tool_dispatch"]
    n_renewal["renewal"]
    n_delegation{{"⏸ delegation"}}
    __end__(("end"))
    __start__ --> n_context_build
    n_context_build --> n_model_call
    n_model_call -->|"tool_calls"| n_governance
    n_model_call -->|"final"| n_quality_gate
    n_model_call -->|"reask"| n_context_build
    n_governance --> n_tool_dispatch
    n_tool_dispatch -->|"continue"| n_context_build
    n_tool_dispatch -->|"pressure"| n_renewal
    n_tool_dispatch -->|"delegate"| n_delegation
    n_renewal --> n_context_build
    n_delegation --> n_context_build
    n_quality_gate -->|"pass"| __end__
    n_quality_gate -->|"retry"| n_context_build
    classDef limit stroke-width:3px
    classDef interrupt fill:#ffe0b2,stroke:#e65100
    classDef startpoint fill:#a5d6a7,stroke:#2e7d32
    classDef endpoint fill:#eeeeee,stroke:#616161
    class n_model_call limit
    class n_model_call,n_governance,n_delegation interrupt
    class __start__ startpoint
    class __end__ endpoint
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.graphs._loop import loop, with_retry
from loomflow.nodedef import Retry
from loomflow.nodes.quality_gate import quality_gate

__all__ = ["single_run", "with_retry"]


def single_run(*, model_retry: Retry | None = None) -> Graph[AgentState]:
    """context_build -> model_call -> governance -> tool_dispatch -> ... -> quality_gate.

    ``model_retry`` gives ``model_call`` a retry policy (on top of the provider adapter's transport retries).
    """
    nodes, edges = loop("quality_gate", model_retry=model_retry)
    return Graph(
        "single_run",
        state=AgentState,
        nodes=[*nodes, quality_gate],
        edges=[*edges, ("quality_gate", END, "pass"), ("quality_gate", "context_build", "retry")],
        start="context_build",
    )
