"""``generator_evaluator``: the model/tool loop generates; ``evaluate`` judges each answer and feeds a FAIL's
critique back, up to ``max_rounds`` rounds; then the quality gate.

```mermaid
MERMAID
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
            ("evaluate", "context_build", "fail"),
            ("quality_gate", END, "pass"),
            ("quality_gate", "context_build", "retry"),
        ],
        start="context_build",
    )
