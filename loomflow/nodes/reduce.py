"""``reduce``: the orchestrated harness's last step. The model combines the steps' results into the answer
(a failed step is reported to it as failed, never silently dropped)."""

from __future__ import annotations

from typing import Any

from loomflow.agent.quality import ask_model
from loomflow.messages import Message, ModelRequest
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import Update

__all__ = ["reduce"]

REDUCE = "Combine the results of the plan's steps into one answer to the task. Say plainly if a step failed."


@node
async def reduce(ctx: Ctx) -> Update:
    svc = services(ctx)
    state = ctx.state
    goal = state.current_task().goal
    parts = []
    for c in state.candidates:
        body = c["content"] if c["status"] == "completed" else f"(step {c['status']}: {c.get('error')})"
        parts.append(f"## {c['id']}: {c.get('task', '')}\n{body}")
    request = ModelRequest(
        messages=(Message.system(REDUCE), Message.user(f"Task: {goal}\n\n" + "\n\n".join(parts))),
        generation=svc.generation.to_request(),
        metadata={"run_id": ctx.run_id, "call_index": state.call_offset + state.iterations},
    )
    response = await ask_model(ctx, svc.model, request, "reduce")
    ctx.add_usage(**response.usage.counts())
    text = response.message.text
    writes: dict[str, Any] = {
        "output": text,
        "messages": [Message.assistant(text)],
        "iterations": 1,
        "tokens": response.usage.input_tokens + response.usage.output_tokens,
    }
    return Update(writes)
