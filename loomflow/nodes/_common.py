"""Helpers shared by the agent nodes."""

from __future__ import annotations

from typing import Any

from loomflow.agent.context import AgentServices
from loomflow.agent.hooks import Ask, Deny
from loomflow.agent.state import AgentState
from loomflow.errors import GovernanceError
from loomflow.messages import Message
from loomflow.nodedef import NodeContext
from loomflow.outcomes import Pause

__all__ = ["Ctx", "control_hook", "services", "transcript"]

Ctx = NodeContext[AgentState]


def services(ctx: Ctx) -> AgentServices:
    svc = ctx.services.get("agent")
    if not isinstance(svc, AgentServices):
        raise RuntimeError("agent nodes need services={'agent': AgentServices(...)}; run them through an Agent")
    return svc


async def transcript(ctx: Ctx) -> list[Message]:
    """The session transcript before this run (empty outside a session)."""
    sid = ctx.state.session_id
    return await services(ctx).transcript(sid, ctx.run_id) if sid else []


async def control_hook(ctx: Ctx, event: str, key: str, **payload: Any) -> Pause | None:
    """Fire a control hook: ``Deny`` fails the run, ``Ask`` pauses it until a human approves."""
    if ctx.answered(key):
        answer = ctx.answer(key)
        if answer == "approve":
            return None
        reason = answer.get("deny") if isinstance(answer, dict) else "denied by the reviewer"
        raise GovernanceError(f"{event} was denied: {reason}")
    decision = await services(ctx).hooks.fire(event, run_id=ctx.run_id, **payload)
    if isinstance(decision, Deny):
        raise GovernanceError(f"a {event} hook denied the run: {decision.reason}")
    if isinstance(decision, Ask):
        return ctx.interrupt(
            key,
            kind="approval",
            prompt=decision.prompt,
            payload={"event": event, **payload},
            allowed=("approve", "deny"),
        )
    return None
