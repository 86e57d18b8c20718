"""``delegation``: the model's ``delegate`` calls become child runs, folded back as the calls' results.

Each child gets its task and the policy's context contract; children of one turn run concurrently (up to
``max_concurrent``); a re-run step re-attaches to finished children. A child that stops at a limit returns a
structured outcome (which limit, the partial output), not nothing; one waiting for a person pauses this run.
"""

from __future__ import annotations

import json
from typing import Any

from loomflow.agent.children import ChildSpec, child_interrupts
from loomflow.agent.config import RunContext, RuntimeTask
from loomflow.agent.delegation import DelegationPolicy
from loomflow.messages import Message, ToolCallPart
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services, transcript
from loomflow.nodes.renewal import extractive_summary
from loomflow.outcomes import Pause, Update

__all__ = ["delegation"]


@node(interrupts=True)
async def delegation(ctx: Ctx) -> Update | Pause:
    svc = services(ctx)
    policy = svc.runtime.delegation
    state = ctx.state
    results: list[Message | None] = [None] * len(state.pending_calls)
    specs: list[tuple[int, ChildSpec]] = []
    for i, call in enumerate(state.pending_calls):
        # a reviewer may have approved the delegation with edited arguments
        call = call.model_copy(update={"arguments": state.decisions.get(call.id, {}).get("arguments", call.arguments)})
        problem = _problem(call, policy, state.depth)
        if problem is not None:
            results[i] = Message.tool_result(call.id, problem, is_error=True)
            continue
        agent_name = call.arguments.get("agent")
        spec = ChildSpec(
            f"delegate-{i}",
            RuntimeTask(goal=str(call.arguments["task"])),
            context=await _contract(ctx, policy, str(call.arguments.get("context", ""))),
            agent=policy.agents.get(agent_name) if agent_name else None,
            deeper=True,
        )
        specs.append((i, spec))
    finished = await svc.children.run_all(ctx, [s for _, s in specs], limit=policy.max_concurrent)
    waiting = child_interrupts(ctx, finished)
    if waiting:
        return Pause(waiting)
    for (i, _), child in zip(specs, finished, strict=True):
        call = state.pending_calls[i]
        if child.status == "completed":
            results[i] = Message.tool_result(call.id, str(child.output or ""))
        elif child.status == "limit_reached":
            outcome = {"status": "limit_reached", "limit": child.error, "partial_output": child.output}
            results[i] = Message.tool_result(call.id, json.dumps(outcome), is_error=True)
        else:
            results[i] = Message.tool_result(call.id, f"the sub-agent {child.status}: {child.error}", is_error=True)
        ctx.emit("delegated", call_id=call.id, child_run=child.run_id, status=child.status)
    writes: dict[str, Any] = {
        "messages": [r for r in results if r is not None],
        "pending_calls": (),
        "decisions": {},
        "tool_calls": len(specs),
    }
    return Update(writes)


def _problem(call: ToolCallPart, policy: DelegationPolicy, depth: int) -> str | None:
    if not policy.allows(depth):
        return f"delegation is not allowed here (max_depth={policy.max_depth}); do the task yourself"
    if call.raw_arguments is not None or not isinstance(call.arguments.get("task"), str):
        return "delegate needs a JSON object with a string 'task'"
    name = call.arguments.get("agent")
    if name is not None and name not in policy.agents:
        return f"no sub-agent {name!r}; known: {', '.join(sorted(policy.agents)) or 'none'}"
    return None


async def _contract(ctx: Ctx, policy: DelegationPolicy, extra: str) -> RunContext:
    """What the child receives besides its task, by the policy's contract (recorded in its run input)."""
    inputs: dict[str, Any] = {"delegated_by": ctx.run_id}
    if extra:
        inputs["context"] = extra
    state = ctx.state
    if policy.context == "handoff":
        inputs["handoff"] = extractive_summary(state, list(state.messages), 2000)
    elif policy.context == "transcript":
        history = [*await transcript(ctx), *state.messages]
        inputs["transcript"] = "\n".join(f"{m.role}: {m.text}" for m in history if m.text and m.role != "tool")
    return RunContext(inputs=inputs)
