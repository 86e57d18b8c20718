"""``fan_out``: each step of the plan runs as a child run (concurrently, up to ``max_concurrent``), judged
by a generator/evaluator loop when ``OrchestrationConfig(gen_eval=True)``; results are kept by step."""

from __future__ import annotations

from loomflow.agent.children import ChildSpec, child_interrupts
from loomflow.agent.config import RuntimeTask
from loomflow.agent.delegation import Plan
from loomflow.agent.harness import Harness
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import Pause, Update

__all__ = ["fan_out"]


@node(interrupts=True, max_visits=20)
async def fan_out(ctx: Ctx) -> Update | Pause:
    svc = services(ctx)
    state = ctx.state
    config = svc.harness.orchestration
    plan = Plan.model_validate(state.plan)
    criteria = state.current_task().criteria
    harness = Harness.generator_evaluator() if config.gen_eval else None
    specs = [
        ChildSpec(f"step-{step.id}", RuntimeTask(goal=step.task, criteria=criteria), harness=harness)
        for step in plan.steps
    ]
    results = await svc.children.run_all(ctx, specs, limit=config.max_concurrent)
    waiting = child_interrupts(ctx, results)
    if waiting:
        return Pause(waiting)
    found = [
        {
            "id": step.id,
            "task": step.task,
            "content": r.output or "",
            "status": r.status,
            "run_id": r.run_id,
            "error": r.error,
        }
        for step, r in zip(plan.steps, results, strict=True)
    ]
    return Update({"candidates": found})
