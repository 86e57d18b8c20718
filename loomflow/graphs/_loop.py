"""The model/tool loop that the model-driven harnesses share, so each harness graph lists only what it adds."""

from __future__ import annotations

from loomflow.graph import EdgeSpec
from loomflow.nodedef import FunctionNode, Node, Retry
from loomflow.nodes.context_build import context_build
from loomflow.nodes.delegation import delegation
from loomflow.nodes.governance import governance
from loomflow.nodes.model_call import model_call
from loomflow.nodes.renewal import renewal
from loomflow.nodes.tool_dispatch import tool_dispatch

__all__ = ["loop", "with_retry"]


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


def loop(final: str, *, model_retry: Retry | None = None) -> tuple[list[Node], list[EdgeSpec]]:
    """context_build -> model_call -> governance -> tool_dispatch -> context_build, with renewal under
    pressure, delegation of ``delegate`` calls to child runs, a re-ask for an answer that fails
    ``output_type``, and the final answer going to ``final``."""
    nodes: list[Node] = [
        context_build,
        with_retry(model_call, model_retry),
        governance,
        tool_dispatch,
        renewal,
        delegation,
    ]
    edges: list[EdgeSpec] = [
        ("context_build", "model_call"),
        ("model_call", "governance", "tool_calls"),
        ("model_call", final, "final"),
        ("model_call", "context_build", "reask"),
        ("governance", "tool_dispatch"),
        ("tool_dispatch", "context_build", "continue"),
        ("tool_dispatch", "renewal", "pressure"),
        ("renewal", "context_build"),
        ("tool_dispatch", "delegation", "delegate"),
        ("delegation", "context_build"),
    ]
    return nodes, edges
