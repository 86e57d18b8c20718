"""``intake``: the first step of every agent run. Fires ``before_run``, fixes what of the session's
earlier runs this run will see (``restored``), and takes the session's pending signals (journaled, so
a resumed run sees exactly the same history and signals; child runs leave them to the session's runs)."""

from __future__ import annotations

from typing import Any

from loomflow.agent.context import transcript_turns
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, control_hook, services, transcript
from loomflow.outcomes import Pause, Update

__all__ = ["intake"]


@node(interrupts=True)
async def intake(ctx: Ctx) -> Update | Pause:
    task = ctx.state.current_task()
    pause = await control_hook(ctx, "before_run", "before_run", goal=task.goal if task else "")
    if pause is not None:
        return pause
    history = await transcript(ctx)
    svc = services(ctx)
    writes: dict[str, Any] = {}
    policy = svc.runtime.session_restore
    restored = len(history) if policy.mode == "transcript" else policy.select(transcript_turns(history))
    if restored:
        writes["restored"] = restored
    sid = ctx.state.session_id
    if sid is not None and ctx.state.lane is None:  # a child run sees the session; its signals are the parent's
        run_id = ctx.run_id

        async def take() -> list[dict[str, Any]]:
            return await svc.take_signals(sid, run_id)

        if await ctx.effect("signals", take, request={"session": sid}, idempotent=True):
            writes["signals"] = ctx.journal_ref()
    return Update(writes)
