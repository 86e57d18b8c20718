"""``best_of_n``: N candidates generated concurrently as child runs, scored, the best selected; all of them
kept in state. The quality gate can send the task back with its critique.

```mermaid
MERMAID
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.nodes.candidates import candidates
from loomflow.nodes.quality_gate import quality_gate
from loomflow.nodes.select import select

__all__ = ["best_of_n"]


def best_of_n() -> Graph[AgentState]:
    """candidates -> select -> quality_gate (N, the scorer and the evaluator come from the Harness)."""
    return Graph(
        "best_of_n",
        state=AgentState,
        nodes=[candidates, select, quality_gate],
        edges=[
            ("candidates", "select"),
            ("select", "quality_gate"),
            ("quality_gate", END, "pass"),
            ("quality_gate", "candidates", "retry"),
        ],
        start="candidates",
    )
