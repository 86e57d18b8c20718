"""``review``: the human gate. The run waits (a durable ``review`` interrupt) until a person answers:
``"approve"`` lets the answer through, ``{"reject": "note"}`` sends the note back to the model."""

from __future__ import annotations

from loomflow.messages import Message
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx
from loomflow.outcomes import Pause, Update

__all__ = ["review"]


@node(interrupts=True, routes=("approve", "revise"), max_visits=100)
async def review(ctx: Ctx) -> Update | Pause:
    state = ctx.state
    if not ctx.answered("review"):
        return ctx.interrupt(
            "review",
            kind="review",
            prompt=f"Approve this answer?\n\n{state.output or ''}",
            payload={"output": state.output},
            allowed=("approve", "reject"),
        )
    answer = ctx.answer("review")
    if answer == "approve":
        return Update({"verdict": {"passed": True, "critique": "approved by the reviewer"}}, route="approve")
    note = str(answer["reject"]) if isinstance(answer, dict) else "the reviewer rejected the answer"
    writes = {
        "messages": [Message.user(f"Reviewer: {note}\nRevise your answer.")],
        "verdict": {"passed": False, "critique": note},
        "rounds": 1,
    }
    return Update(writes, route="revise")
