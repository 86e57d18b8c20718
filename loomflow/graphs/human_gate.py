"""``human_gate``: after generation a person reviews the answer (a durable ``review`` interrupt):
approve goes on to the quality gate, a rejection's note goes back to the model.

```mermaid
flowchart TD
    %% human_gate
    __start__(("start"))
    n_context_build["context_build"]
    n_model_call{{"⏸ model_call ↻1000"}}
    n_governance{{"⏸ governance"}}
    n_review{{"⏸ review ↻100"}}
    n_tool_dispatch["tool_dispatch"]
    n_quality_gate["quality_gate"]
    n_renewal["renewal"]
    n_delegation{{"⏸ delegation"}}
    __end__(("end"))
    __start__ --> n_context_build
    n_context_build --> n_model_call
    n_model_call -->|"tool_calls"| n_governance
    n_model_call -->|"final"| n_review
    n_model_call -->|"reask"| n_context_build
    n_governance --> n_tool_dispatch
    n_tool_dispatch -->|"continue"| n_context_build
    n_tool_dispatch -->|"pressure"| n_renewal
    n_tool_dispatch -->|"delegate"| n_delegation
    n_renewal --> n_context_build
    n_delegation --> n_context_build
    n_review -->|"approve"| n_quality_gate
    n_review -->|"revise"| n_context_build
    n_quality_gate -->|"pass"| __end__
    n_quality_gate -->|"retry"| n_context_build
    classDef limit stroke-width:3px
    classDef interrupt fill:#ffe0b2,stroke:#e65100
    classDef startpoint fill:#a5d6a7,stroke:#2e7d32
    classDef endpoint fill:#eeeeee,stroke:#616161
    class n_model_call,n_review limit
    class n_model_call,n_governance,n_delegation,n_review interrupt
    class __start__ startpoint
    class __end__ endpoint
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.graphs._loop import loop
from loomflow.nodedef import Retry
from loomflow.nodes.quality_gate import quality_gate
from loomflow.nodes.review import review

__all__ = ["human_gate"]


def human_gate(*, max_rounds: int = 5, model_retry: Retry | None = None) -> Graph[AgentState]:
    """Generate, then ``review``; ``max_rounds`` bounds the reviews per run (a run limit; see Harness)."""
    nodes, edges = loop("review", model_retry=model_retry)
    return Graph(
        "human_gate",
        state=AgentState,
        nodes=[*nodes, review, quality_gate],
        edges=[
            *edges,
            ("review", "quality_gate", "approve"),
            ("review", "context_build", "revise"),
            ("quality_gate", END, "pass"),
            ("quality_gate", "context_build", "retry"),
        ],
        start="context_build",
    )
