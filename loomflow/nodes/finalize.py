"""``finalize``: the last step of a completed agent run; its output is the run's output."""

from __future__ import annotations

from loomflow.nodedef import node
from loomflow.nodes._common import Ctx
from loomflow.outcomes import End

__all__ = ["finalize"]


@node
async def finalize(ctx: Ctx) -> End:
    return End(output=ctx.state.output)
