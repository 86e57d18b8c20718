"""``select``: best-of-N's choice. Every completed candidate is scored, by the harness's ``scorer`` or by a
model rating it 0-10 (journaled), and the best one (the first, on a tie) becomes the answer; every
candidate stays in state with its score."""

from __future__ import annotations

import inspect
import re
from typing import Any

from loomflow.agent.quality import ask_model
from loomflow.errors import RunError
from loomflow.messages import Message, ModelRequest
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services
from loomflow.outcomes import Update
from loomflow.providers.base import ModelProvider

__all__ = ["select"]

RATE = "Rate how well the answer does the task, from 0 (useless) to 10 (perfect). Reply with the number only."


@node
async def select(ctx: Ctx) -> Update:
    state = ctx.state
    done = [c for c in state.candidates if c["status"] == "completed"]
    if not done:
        reasons = "; ".join(f"{c['id']}: {c['status']} {c.get('error') or ''}".strip() for c in state.candidates)
        again = ctx.node_path.rpartition("/")[0] + "/candidates" if "/" in ctx.node_path else "candidates"
        raise RunError(
            f"no candidate completed ({reasons}); resume(run_id, at={again!r}) runs new candidates, "
            f"or fork with another task"
        )
    writes: dict[str, Any] = {}
    scores: dict[str, float] = {}
    for k, cand in enumerate(done):
        scores[cand["id"]] = await _score(ctx, cand["content"], k, writes)
    best = max(done, key=lambda c: scores[c["id"]])  # max keeps the first of equal scores
    scored = tuple({**c, "score": scores.get(c["id"])} for c in state.candidates)
    ctx.emit("selected", candidate=best["id"], scores=scores)
    writes.update(
        candidates=scored, selected=best["id"], output=best["content"], messages=[Message.assistant(best["content"])]
    )
    return Update(writes)


async def _score(ctx: Ctx, content: str, k: int, writes: dict[str, Any]) -> float:
    svc = services(ctx)
    harness = svc.harness
    if harness.scorer is not None:
        scorer = harness.scorer

        async def call() -> float:
            value = scorer(content)
            return float(await value if inspect.isawaitable(value) else value)

        return float(await ctx.effect(f"score:{k}", call, request={"candidate": k}, idempotent=True, index=k))
    own = harness.evaluator is None
    model = svc.model if own else harness.evaluator
    if not isinstance(model, ModelProvider):
        raise TypeError("best_of_n's evaluator must be a model; give a function as scorer= instead")
    state = ctx.state
    base = state.call_offset + state.iterations + writes.get("iterations", 0) if own else state.evaluations + k
    goal = state.current_task().goal
    request = ModelRequest(
        messages=(Message.system(RATE), Message.user(f"Task: {goal}\n\nAnswer:\n{content}")),
        generation=svc.generation.to_request(),
        metadata={"run_id": ctx.run_id, "call_index": base, "lane": state.lane},
    )
    response = await ask_model(ctx, model, request, f"rate:{k}")
    ctx.add_usage(**response.usage.counts())
    key = "iterations" if own else "evaluations"
    writes[key] = writes.get(key, 0) + 1
    found = re.search(r"-?\d+(?:\.\d+)?", response.message.text)
    return float(found.group()) if found else 0.0
