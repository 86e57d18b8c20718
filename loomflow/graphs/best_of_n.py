"""``best_of_n``: N candidates generated concurrently as child runs, scored, the best selected; all of them
kept in state. The quality gate can send the task back with its critique.

```mermaid
flowchart TD
    %% best_of_n
    __start__(("start"))
    n_candidates{{"⏸ candidates ↻20"}}
    n_select["select"]
    n_quality_gate["quality_gate"]
    __end__(("end"))
    __start__ --> n_candidates
    n_candidates --> n_select
    n_select --> n_quality_gate
    n_quality_gate -->|"pass"| __end__
    n_quality_gate -->|"retry"| n_candidates
    classDef limit stroke-width:3px
    classDef interrupt fill:#ffe0b2,stroke:#e65100
    classDef startpoint fill:#a5d6a7,stroke:#2e7d32
    classDef endpoint fill:#eeeeee,stroke:#616161
    class n_candidates limit
    class n_candidates interrupt
    class __start__ startpoint
    class __end__ endpoint
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
