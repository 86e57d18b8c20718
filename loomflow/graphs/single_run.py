"""``single_run``: the default harness — one model/tool loop, judged by the quality gate before exit.

```mermaid
MERMAID
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
