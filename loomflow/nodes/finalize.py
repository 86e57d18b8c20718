"""``finalize``: the last step of a completed agent run; its output is the run's output (validated as
``Agent(output_type=...)`` when one is set)."""

from __future__ import annotations

from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import End

__all__ = ["finalize"]


@node
async def finalize(ctx: Ctx) -> End:
    output_type = services(ctx).output_type
    if output_type is not None and ctx.state.parsed is not None:
        return End(output=output_type.model_validate(ctx.state.parsed))
    return End(output=ctx.state.output)
