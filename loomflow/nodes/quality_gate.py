"""``quality_gate``: the answer is judged here before the run may end, whatever the harness.

With ``QualityGate.none()`` (the default) every answer passes. Otherwise the gate's checks and the task's
criteria are judged (the agent's model, another model, or a function); a FAIL sends the critique back
(``retry``) up to ``max_retries`` times, then ends the run ``failed`` with the critique.
"""

from __future__ import annotations

from typing import Any

from loomflow.agent.quality import judge
from loomflow.errors import RunError
from loomflow.messages import Message
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import End, Update

__all__ = ["QualityGateFailed", "quality_gate"]


class QualityGateFailed(RunError):
    """The answer failed the quality gate more often than ``max_retries`` allows (named in the run's error)."""


@node(routes=("pass", "retry"))
async def quality_gate(ctx: Ctx) -> Update | End:
    svc = services(ctx)
    gate = svc.quality
    state = ctx.state
    if not gate.active:
        return Update(route="pass")
    criteria = (*gate.checks, *state.current_task().criteria)
    verdict, writes = await judge(
        ctx, svc, state.output or "", criteria, evaluator=gate.judge_by, instructions=gate.instructions, name="quality"
    )
    writes["verdict"] = verdict.to_json()
    ctx.emit("quality_verdict", passed=verdict.passed, critique=verdict.critique)
    if verdict.passed:
        return Update(writes, route="pass")
    if state.gate_retries < gate.max_retries:
        feedback: Any = Message.user(f"Your answer did not pass the quality gate: {verdict.critique}\nRevise it.")
        writes.update(messages=[feedback], gate_retries=1)
        return Update(writes, route="retry")
    reason = f"the answer failed the quality gate {state.gate_retries + 1} time(s); last critique: {verdict.critique}"
    return End(writes, status="failed", reason=f"QualityGateFailed: {reason}")
