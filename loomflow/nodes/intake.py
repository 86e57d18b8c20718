"""``intake``: the first step of every agent run. Fires ``before_run`` and fixes what of the session's
earlier runs this run will see (``restored``), so a resumed run sees exactly the same history."""

from __future__ import annotations

from loomflow.agent.context import transcript_turns
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, control_hook, services, transcript
from loomflow.outcomes import Pause, Update

__all__ = ["intake"]


@node(interrupts=True)
async def intake(ctx: Ctx) -> Update | Pause:
    task = ctx.state.task
    pause = await control_hook(ctx, "before_run", "before_run", goal=task.goal if task else "")
    if pause is not None:
        return pause
    history = await transcript(ctx)
    restored = services(ctx).runtime.session_restore.select(transcript_turns(history))
    return Update({"restored": restored} if restored else {})
