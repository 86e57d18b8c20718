"""The kernel knows nothing of agents: importing it loads no node, graph, provider, tool, viz or CLI module."""

from __future__ import annotations

import subprocess
import sys

KERNEL = [
    "loomflow.graph",
    "loomflow.state",
    "loomflow.nodedef",
    "loomflow.outcomes",
    "loomflow.interpreter",
    "loomflow.execution",
    "loomflow.lineage",
    "loomflow.journal",
    "loomflow.lifecycle",
    "loomflow.events",
    "loomflow.trace",
    "loomflow.checkpoint",
    "loomflow.schema",
    "loomflow.result",
]
OUTSIDE = (
    "loomflow.agent",
    "loomflow.nodes",
    "loomflow.graphs",
    "loomflow.providers",
    "loomflow.tools",
    "loomflow.viz",
    "loomflow.cli",
    "networkx",
    "pydantic",
    "graphviz",
)


def test_the_kernel_imports_no_layer_above_it() -> None:
    code = (
        "import sys\n"
        f"for m in {KERNEL!r}: __import__(m)\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({OUTSIDE!r}))\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout
