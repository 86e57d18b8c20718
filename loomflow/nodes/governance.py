"""``governance``: every tool call passes here before it runs, as an explicit step of the graph.

Rules, in order: a call the model made badly (unknown tool, arguments that are not JSON) is allowed
through so dispatch answers it with an error; an answered approval decides; a ``before_tool`` hook may
deny (the reason becomes the result the model sees) or ask; a tool declared ``require_approval`` asks.
Asking is a durable ``approval`` interrupt per call: ``"approve"``, ``"deny"``, ``{"deny": reason}`` or
``{"arguments": {...}}`` (approve with edited arguments).
"""

from __future__ import annotations

from typing import Any

from loomflow.agent.hooks import Ask, Deny
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import Interrupt, Pause, Update

__all__ = ["decision_from_answer", "governance"]


def decision_from_answer(answer: Any) -> dict[str, Any]:
    if answer == "approve":
        return {"action": "allow", "by": "reviewer"}
    if answer == "deny":
        return {"action": "deny", "reason": "denied by the reviewer", "by": "reviewer"}
    if isinstance(answer, dict) and "deny" in answer:
        return {"action": "deny", "reason": str(answer["deny"]), "by": "reviewer"}
    return {"action": "allow", "arguments": dict(answer["arguments"]), "by": "reviewer"}


@node(interrupts=True)
async def governance(ctx: Ctx) -> Update | Pause:
    svc = services(ctx)
    decisions: dict[str, Any] = {}
    asks: list[Interrupt] = []
    for call in ctx.state.pending_calls:
        key = f"approve:{call.id}"
        tool = svc.tools.get(call.name)
        if ctx.answered(key):
            decisions[call.id] = decision_from_answer(ctx.answer(key))
            continue
        if tool is None or call.raw_arguments is not None:
            decisions[call.id] = {"action": "allow", "by": "dispatch reports the error"}
            continue
        hook = await svc.hooks.fire(
            "before_tool", run_id=ctx.run_id, tool_name=call.name, arguments=call.arguments, call_id=call.id
        )
        if isinstance(hook, Deny):
            decisions[call.id] = {"action": "deny", "reason": hook.reason, "by": "hook"}
        elif isinstance(hook, Ask) or tool.require_approval:
            prompt = hook.prompt if isinstance(hook, Ask) else f"allow {call.name}({call.arguments})?"
            asks.append(
                ctx.make_interrupt(
                    key,
                    kind="approval",
                    prompt=prompt,
                    payload={"tool": call.name, "arguments": call.arguments, "call_id": call.id},
                    allowed=("approve", "deny", "arguments"),
                )
            )
        else:
            decisions[call.id] = {"action": "allow", "by": "default"}
    if asks:
        return Pause(tuple(asks))
    for call_id, decision in decisions.items():
        ctx.emit("governance_decision", call_id=call_id, **decision)
    return Update({"decisions": decisions})
