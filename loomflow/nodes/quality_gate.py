"""``quality_gate``: where the harness judges an answer before the run may end.

The default single-run harness accepts every answer here; quality gates that really judge (criteria,
evaluators, retries with the critique) fill this node with the harness issue. It is a node already so
that traces keep their shape.
"""

from __future__ import annotations

from loomflow.nodedef import node
from loomflow.nodes._common import Ctx
from loomflow.outcomes import Update

__all__ = ["quality_gate"]


@node
async def quality_gate(ctx: Ctx) -> Update:
    return Update()
