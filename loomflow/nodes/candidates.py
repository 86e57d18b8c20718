"""``candidates``: best-of-N's fan-out. N child runs attempt the task concurrently, each a checkpointed
branch with its own steps; a re-run step re-attaches to them instead of starting them again. A child that
waits for a person pauses this run too, with the child's interrupt (answer it here; it is passed on)."""

from __future__ import annotations

from loomflow.agent.children import ChildSpec, child_interrupts
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import Pause, Update

__all__ = ["candidates"]


@node(interrupts=True, max_visits=20)
async def candidates(ctx: Ctx) -> Update | Pause:
    svc = services(ctx)
    state = ctx.state
    task = state.current_task()
    verdict = state.verdict
    if verdict is not None and not verdict.get("passed", True):  # the quality gate sent us back
        task = task.model_copy(update={"goal": f"{task.goal}\n\nA reviewer said: {verdict.get('critique', '')}"})
    specs = [ChildSpec(f"candidate-{k}", task, context=state.run_context) for k in range(svc.harness.n)]
    results = await svc.children.run_all(ctx, specs, limit=svc.harness.concurrency)
    waiting = child_interrupts(ctx, results)
    if waiting:
        return Pause(waiting)
    found = [
        {"id": spec.label, "content": r.output or "", "status": r.status, "run_id": r.run_id, "error": r.error}
        for spec, r in zip(specs, results, strict=True)
    ]
    return Update({"candidates": found})
