"""``single_run``: the default harness — one model/tool loop, judged by the quality gate before exit.

```mermaid
MERMAID
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.nodes import context_build, governance, model_call, quality_gate, renewal, tool_dispatch

__all__ = ["single_run"]


def single_run() -> Graph[AgentState]:
    """The harness graph: context_build -> model_call -> governance -> tool_dispatch -> ... -> quality_gate."""
    return Graph(
        "single_run",
        state=AgentState,
        nodes=[context_build, model_call, governance, tool_dispatch, renewal, quality_gate],
        edges=[
            ("context_build", "model_call"),
            ("model_call", "governance", "tool_calls"),
            ("model_call", "quality_gate", "final"),
            ("governance", "tool_dispatch"),
            ("tool_dispatch", "context_build", "continue"),
            ("tool_dispatch", "renewal", "pressure"),
            ("renewal", "context_build"),
            ("quality_gate", END),
        ],
        start="context_build",
    )
