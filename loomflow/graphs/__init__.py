"""Prebuilt graphs: the agent run graph and the harness subgraphs that fill its ``harness`` slot."""

from __future__ import annotations

from loomflow.graphs.agent_run import agent_run
from loomflow.graphs.best_of_n import best_of_n
from loomflow.graphs.custom import custom
from loomflow.graphs.generator_evaluator import generator_evaluator
from loomflow.graphs.human_gate import human_gate
from loomflow.graphs.orchestrated import orchestrated
from loomflow.graphs.single_run import single_run

__all__ = ["agent_run", "best_of_n", "custom", "generator_evaluator", "human_gate", "orchestrated", "single_run"]
