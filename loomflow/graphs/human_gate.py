"""``human_gate``: after generation a person reviews the answer (a durable ``review`` interrupt):
approve goes on to the quality gate, a rejection's note goes back to the model.

```mermaid
MERMAID
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
