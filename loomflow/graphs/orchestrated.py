"""``orchestrated``: a planner writes a plan, its steps fan out to child runs, a reducer writes the answer;
then the quality gate (which can send the task back to the planner with its critique).

```mermaid
flowchart TD
    %% orchestrated
    __start__(("start"))
    n_planner[["planner ↻20"]]
    n_fan_out{{"⏸ fan_out ↻20"}}
    n_reduce["reduce"]
    n_quality_gate["quality_gate"]
    __end__(("end"))
    __start__ --> n_planner
    n_planner --> n_fan_out
    n_fan_out --> n_reduce
    n_reduce --> n_quality_gate
    n_quality_gate -->|"pass"| __end__
    n_quality_gate -->|"retry"| n_planner
    classDef limit stroke-width:3px
    classDef interrupt fill:#ffe0b2,stroke:#e65100
    classDef startpoint fill:#a5d6a7,stroke:#2e7d32
    classDef endpoint fill:#eeeeee,stroke:#616161
    class n_planner,n_fan_out limit
    class n_fan_out interrupt
    class __start__ startpoint
    class __end__ endpoint
```
"""

from __future__ import annotations

from loomflow.agent.state import AgentState
from loomflow.graph import END, Graph
from loomflow.nodes.fan_out import fan_out
from loomflow.nodes.planner import planner
from loomflow.nodes.quality_gate import quality_gate
from loomflow.nodes.reduce import reduce

__all__ = ["orchestrated"]


def orchestrated() -> Graph[AgentState]:
    """planner -> fan_out -> reduce -> quality_gate (settings come from OrchestrationConfig)."""
    return Graph(
        "orchestrated",
        state=AgentState,
        nodes=[planner, fan_out, reduce, quality_gate],
        edges=[
            ("planner", "fan_out"),
            ("fan_out", "reduce"),
            ("reduce", "quality_gate"),
            ("quality_gate", END, "pass"),
            ("quality_gate", "planner", "retry"),
        ],
        start="planner",
    )
