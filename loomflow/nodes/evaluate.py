"""``evaluate``: the generator/evaluator harness's judge. Each round is a visible step: PASS goes on to the
quality gate; FAIL feeds the critique back to the generator; a FAIL in the last of ``max_rounds`` rounds goes
on to the quality gate as ``exhausted``, its verdict in ``state.verdict`` (the gate decides: with
``QualityGate.none()`` the last answer stands)."""

from __future__ import annotations

from typing import Any

from loomflow.agent.quality import judge
from loomflow.messages import Message
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import Update

__all__ = ["evaluate"]


@node(routes=("pass", "fail", "exhausted"), max_visits=100)
async def evaluate(ctx: Ctx) -> Update:
    svc = services(ctx)
    harness = svc.harness
    state = ctx.state
    criteria = (*svc.quality.checks, *state.current_task().criteria)
    verdict, writes = await judge(
        ctx,
        svc,
        state.output or "",
        criteria,
        evaluator=harness.evaluator,
        instructions=harness.instructions,
        name="evaluate",
    )
    round_no = state.rounds + 1
    writes.update(verdict=verdict.to_json(), rounds=1)
    ctx.emit("evaluated", round=round_no, passed=verdict.passed, critique=verdict.critique)
    if verdict.passed:
        return Update(writes, route="pass")
    if round_no >= harness.max_rounds:
        return Update(writes, route="exhausted")
    feedback: Any = Message.user(f"Evaluator, round {round_no}: FAIL. {verdict.critique}\nRevise your answer.")
    writes["messages"] = [feedback]
    return Update(writes, route="fail")
