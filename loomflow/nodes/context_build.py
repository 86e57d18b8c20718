"""``context_build``: plan the next model request within the token budget.

It measures the context (provider-reported tokens of the last request plus a local estimate of what
was added) and, when the restored session transcript alone would break the budget, restores less.
"""

from __future__ import annotations

from loomflow.agent.context import context_tokens
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services, transcript
from loomflow.outcomes import Update

__all__ = ["context_build"]


@node
async def context_build(ctx: Ctx) -> Update:
    svc = services(ctx)
    state = ctx.state
    history = await transcript(ctx)
    tokens = context_tokens(svc, state, history)
    budget = svc.runtime.context.max_tokens
    writes: dict[str, object] = {}
    restored = state.restored
    while restored and tokens > budget * svc.runtime.context.hard:
        restored -= 1  # drop the oldest restored message first; this run's own messages stay
        tokens = context_tokens(svc, type(state).from_values({**state.values(), "restored": restored}), history)
    if restored != state.restored:
        writes["restored"] = restored
    writes["context"] = {"tokens": tokens, "budget": budget, "messages": len(state.messages) - state.window_start}
    return Update(writes)
