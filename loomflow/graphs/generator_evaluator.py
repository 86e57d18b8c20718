"""``generator_evaluator``: the model/tool loop generates; ``evaluate`` judges each answer and feeds a FAIL's
critique back, up to ``max_rounds`` rounds; then the quality gate (``pass``, or ``exhausted`` after a FAIL in
the last round).

```mermaid
flowchart TD
    %% generator_evaluator
    __start__(("start"))
    n_context_build["context_build"]
    n_model_call{{"⏸ model_call ↻1000"}}
    n_governance{{"⏸ governance"}}
    n_evaluate[["evaluate ↻100"]]
    n_tool_dispatch["tool_dispatch"]
    n_quality_gate["quality_gate"]
    n_renewal["renewal"]
    n_delegation{{"⏸ delegation"}}
    __end__(("end"))
    __start__ --> n_context_build
    n_context_build --> n_model_call
    n_model_call -->|"tool_calls"| n_governance
    n_model_call -->|"final"| n_evaluate
    n_model_call -->|"reask"| n_context_build
    n_governance --> n_tool_dispatch
    n_tool_dispatch -->|"continue"| n_context_build
    n_tool_dispatch -->|"pressure"| n_renewal
    n_tool_dispatch -->|"delegate"| n_delegation
    n_renewal --> n_context_build
    n_delegation --> n_context_build
    n_evaluate -->|"pass"| n_quality_gate
    n_evaluate -->|"exhausted"| n_quality_gate
    n_evaluate -->|"fail"| n_context_build
    n_quality_gate -->|"pass"| __end__
    n_quality_gate -->|"retry"| n_context_build
    classDef limit stroke-width:3px
    classDef interrupt fill:#ffe0b2,stroke:#e65100
    classDef startpoint fill:#a5d6a7,stroke:#2e7d32
    classDef endpoint fill:#eeeeee,stroke:#616161
    class n_model_call,n_evaluate limit
    class n_model_call,n_governance,n_delegation interrupt
    class __start__ startpoint
    class __end__ endpoint
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.graphs._loop import loop
from loomflow.nodedef import Retry
from loomflow.nodes.evaluate import evaluate
from loomflow.nodes.quality_gate import quality_gate

__all__ = ["generator_evaluator"]


def generator_evaluator(*, max_rounds: int = 3, model_retry: Retry | None = None) -> Graph[AgentState]:
    """Generate, evaluate, loop on FAIL (``max_rounds`` is enforced by ``evaluate``; see Harness)."""
    nodes, edges = loop("evaluate", model_retry=model_retry)
    return Graph(
        "generator_evaluator",
        state=AgentState,
        nodes=[*nodes, evaluate, quality_gate],
        edges=[
            *edges,
            ("evaluate", "quality_gate", "pass"),
            ("evaluate", "quality_gate", "exhausted"),
            ("evaluate", "context_build", "fail"),
            ("quality_gate", END, "pass"),
            ("quality_gate", "context_build", "retry"),
        ],
        start="context_build",
    )
