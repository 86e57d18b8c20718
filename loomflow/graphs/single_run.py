"""``single_run``: the default harness — one model/tool loop, judged by the quality gate before exit.

```mermaid
MERMAID
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.nodedef import FunctionNode, Retry
from loomflow.nodes import context_build, governance, model_call, quality_gate, renewal, tool_dispatch

__all__ = ["single_run", "with_retry"]


def with_retry(node: FunctionNode, retry: Retry | None) -> FunctionNode:
    """``node`` with a retry policy (the shared node itself when there is none)."""
    if retry is None:
        return node
    return FunctionNode(
        node.fn,
        name=node.name,
        retry=retry,
        timeout=node.timeout,
        max_visits=node.max_visits,
        routes=node.routes,
        interrupts=node.interrupts,
    )


def single_run(*, model_retry: Retry | None = None) -> Graph[AgentState]:
    """The harness graph: context_build -> model_call -> governance -> tool_dispatch -> ... -> quality_gate.

    ``model_retry`` gives ``model_call`` a retry policy (on top of the provider adapter's transport retries).
    """
    return Graph(
        "single_run",
        state=AgentState,
        nodes=[context_build, with_retry(model_call, model_retry), governance, tool_dispatch, renewal, quality_gate],
        edges=[
            ("context_build", "model_call"),
            ("model_call", "governance", "tool_calls"),
            ("model_call", "quality_gate", "final"),
            ("model_call", "context_build", "reask"),
            ("governance", "tool_dispatch"),
            ("tool_dispatch", "context_build", "continue"),
            ("tool_dispatch", "renewal", "pressure"),
            ("renewal", "context_build"),
            ("quality_gate", END),
        ],
        start="context_build",
    )
