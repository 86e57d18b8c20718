"""``orchestrated``: a planner writes a plan, its steps fan out to child runs, a reducer writes the answer;
then the quality gate (which can send the task back to the planner with its critique).

```mermaid
MERMAID
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
