"""``custom``: a harness written as a function of a ``HarnessRequest`` (the seed's contract).

Each ``await request.run_once()`` is a child run of the single-run graph, checkpointed step by step; when
this step runs again (after a crash or a pause) the same attempts are read back, not run again. The
function's ``HarnessOutcome`` becomes the answer, with every candidate and the selected id in state.
"""

from __future__ import annotations

from typing import Any

from loomflow.agent.children import ChildSpec, child_interrupts
from loomflow.agent.harness import HarnessOutcome, HarnessRequest
from loomflow.agent.state import AgentState
from loomflow.interpreter import RunResult
from loomflow.messages import Message
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import Pause, Update

__all__ = ["custom"]


class _ChildWaiting(Exception):
    def __init__(self, result: RunResult[AgentState]) -> None:
        super().__init__(result.run_id)
        self.result = result


@node(name="custom", interrupts=True, max_visits=20)
async def custom(ctx: Ctx) -> Update | Pause:
    svc = services(ctx)
    fn = svc.harness.fn
    assert fn is not None, "Harness.custom sets the function"
    state = ctx.state
    task = state.current_task()
    verdict = state.verdict
    if verdict is not None and not verdict.get("passed", True):  # the quality gate sent us back
        task = task.model_copy(update={"goal": f"{task.goal}\n\nA reviewer said: {verdict.get('critique', '')}"})
    attempts = 0

    async def run_once(instructions: str | None) -> dict[str, Any]:
        nonlocal attempts
        k = attempts
        attempts += 1
        goal = f"{task.goal}\n\n{instructions}" if instructions else task.goal
        spec = ChildSpec(f"attempt-{k}", task.model_copy(update={"goal": goal}), context=state.run_context)
        result = await svc.children.run(ctx, spec, index=k)
        if result.status == "interrupted":
            raise _ChildWaiting(result)
        return {"output": result.output, "status": result.status, "run_id": result.run_id, "error": result.error}

    inputs = dict(state.run_context.inputs) if state.run_context is not None else {}
    request = HarnessRequest(task.goal, task.criteria, inputs, run_once)
    try:
        outcome = await fn(request)
    except _ChildWaiting as waiting:
        return Pause(child_interrupts(ctx, [waiting.result]))
    if not isinstance(outcome, HarnessOutcome):
        raise TypeError(f"a custom harness returns a HarnessOutcome, not {type(outcome).__name__}")
    writes: dict[str, Any] = {
        "output": outcome.output,
        "candidates": [c.to_json() for c in outcome.candidates],
        "selected": outcome.selected_candidate_id,
        "messages": [Message.assistant(outcome.output)],
    }
    return Update(writes)
