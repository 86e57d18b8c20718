"""``governance``: every tool call passes here before it runs, as an explicit step of the graph.

Each call of the turn is decided in the fixed order documented in ``loomflow.agent.governance``
(malformed calls pass to dispatch; an answered approval; read-only mode; the active skill's tools; deny
rules; rate limits; the veto; ``before_tool`` hooks; allow/ask rules and approval flags; allow).
Refusals are written to ``decisions`` and become the results the model sees; every decision is a
``governance_decision`` event. Asking is a durable ``approval`` interrupt per call: ``"approve"``,
``"deny"``, ``{"deny": reason}`` or ``{"arguments": {...}}`` (approve with edited arguments).
"""

from __future__ import annotations

from typing import Any

from loomflow.agent.context import AgentServices
from loomflow.agent.delegation import DELEGATE
from loomflow.agent.hooks import Ask, Deny
from loomflow.messages import ToolCallPart
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import Interrupt, Pause, Update
from loomflow.tools.skills import Skill, active_skill
from loomflow.tools.tool import Tool

__all__ = ["decision_from_answer", "governance"]


def decision_from_answer(answer: Any) -> dict[str, Any]:
    if answer == "approve":
        return {"action": "allow", "by": "reviewer"}
    if answer == "deny":
        return {"action": "deny", "reason": "denied by the reviewer", "by": "reviewer"}
    if isinstance(answer, dict) and "deny" in answer:
        return {"action": "deny", "reason": str(answer["deny"]), "by": "reviewer"}
    return {"action": "allow", "arguments": dict(answer["arguments"]), "by": "reviewer"}


def _deny(reason: str, by: str) -> dict[str, Any]:
    return {"action": "deny", "reason": reason, "by": by}


async def _decide(
    ctx: Ctx,
    svc: AgentServices,
    call: ToolCallPart,
    tool: Tool,
    skill: Skill | None,
    log: list[dict[str, Any]],
    now: float,
) -> dict[str, Any] | Interrupt:
    """Steps 3-10 for a well-formed call that has no answer yet: a decision, or the approval to ask."""
    policy = svc.runtime.governance
    args = call.arguments
    if reason := policy.read_only_denial(tool):
        return _deny(reason, "read_only")
    if skill is not None and not skill.allows(call.name):
        allowed = ", ".join(skill.allowed_tools or ()) or "no tools"
        return _deny(f"skill {skill.name!r} is active and allows only: {allowed}", "skill")
    if rule := policy.rule("deny", call.name, args):
        return {**_deny(rule.reason or f"refused by {rule.describe()}", "rule"), "rule": rule.describe()}
    if reason := policy.rate_denial(call.name, log, now):
        return _deny(reason, "rate_limit")
    if reason := await policy.vetoed(call):
        return _deny(reason, "veto")
    hook = await svc.hooks.fire("before_tool", run_id=ctx.run_id, tool_name=call.name, arguments=args, call_id=call.id)
    if isinstance(hook, Deny):
        return _deny(hook.reason, "hook")
    why = hook.prompt if isinstance(hook, Ask) else policy.approval_reason(tool, args)
    if why is None:
        allowed_by = policy.rule("allow", call.name, args)
        return {"action": "allow", "by": "rule", "rule": allowed_by.describe()} if allowed_by else {"action": "allow"}
    prompt = why if isinstance(hook, Ask) else f"allow {call.name}({args})? ({why})"
    return ctx.make_interrupt(
        f"approve:{call.id}",
        kind="approval",
        prompt=prompt,
        payload={"tool": call.name, "arguments": args, "call_id": call.id},
        allowed=("approve", "deny", "arguments"),
    )


@node(interrupts=True)
async def governance(ctx: Ctx) -> Update | Pause:
    svc = services(ctx)
    state = ctx.state
    policy = svc.runtime.governance
    goal = state.current_task().prompt()
    skill, _ = active_skill(svc.skills, state.messages, goal)
    now = ctx.clock.now()
    log = list(state.rate_log)
    counted: list[dict[str, Any]] = []
    decisions: dict[str, Any] = {}
    asks: list[Interrupt] = []
    for call in state.pending_calls:
        made = state.decisions.get(call.id)
        if made is not None:  # decided before the turn paused for another call's approval: kept, not re-asked
            decisions[call.id] = made
            continue
        key = f"approve:{call.id}"
        tool = svc.tools.get(call.name)
        delegation = svc.runtime.delegation
        if tool is None and call.name == DELEGATE and delegation.allows(state.depth):
            tool = delegation.governed()  # delegations pass the same policy as every other call
        if tool is None or call.raw_arguments is not None:  # 1
            decisions[call.id] = {"action": "allow", "by": "dispatch reports the error"}
            continue
        if ctx.answered(key):  # 2
            decision: dict[str, Any] | Interrupt = decision_from_answer(ctx.answer(key))
        else:  # 3-10
            decision = await _decide(ctx, svc, call, tool, skill, log, now)
        if isinstance(decision, Interrupt):
            asks.append(decision)
            continue
        decisions[call.id] = {"by": "default", **decision}
        if decision["action"] == "allow" and policy.counts(call.name):
            entry = {"tool": call.name, "at": now}
            log.append(entry)
            counted.append(entry)
    if asks:
        # the calls decided already keep their decisions (hooks and vetoes are not asked twice, rate limits
        # not counted twice) while the run waits for the approvals
        kept: dict[str, Any] = {"decisions": decisions} if decisions else {}
        if counted:
            kept["rate_log"] = counted
        return Pause(tuple(asks), kept)
    for call_id, made in decisions.items():
        ctx.emit("governance_decision", call_id=call_id, **made)
    writes: dict[str, Any] = {"decisions": decisions}
    if counted:
        writes["rate_log"] = counted
    return Update(writes)
