"""The built-in nodes of the agent run graph, one module each. Node names in traces are exactly these."""

from __future__ import annotations

from loomflow.nodes.candidates import candidates
from loomflow.nodes.context_build import context_build
from loomflow.nodes.custom_harness import custom
from loomflow.nodes.delegation import delegation
from loomflow.nodes.evaluate import evaluate
from loomflow.nodes.fan_out import fan_out
from loomflow.nodes.finalize import finalize
from loomflow.nodes.governance import governance
from loomflow.nodes.intake import intake
from loomflow.nodes.model_call import model_call
from loomflow.nodes.planner import planner
from loomflow.nodes.quality_gate import quality_gate
from loomflow.nodes.reduce import reduce
from loomflow.nodes.renewal import renewal
from loomflow.nodes.review import review
from loomflow.nodes.select import select
from loomflow.nodes.tool_dispatch import tool_dispatch

__all__ = [
    "candidates",
    "context_build",
    "custom",
    "delegation",
    "evaluate",
    "fan_out",
    "finalize",
    "governance",
    "intake",
    "model_call",
    "planner",
    "quality_gate",
    "reduce",
    "renewal",
    "review",
    "select",
    "tool_dispatch",
]
