"""Prebuilt graphs: the agent run graph and the harness subgraphs that fill its ``harness`` slot."""

from __future__ import annotations

from loomflow.graphs.agent_run import agent_run
from loomflow.graphs.single_run import single_run

__all__ = ["agent_run", "single_run"]
