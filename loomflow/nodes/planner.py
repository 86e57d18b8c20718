"""``planner``: the orchestrated harness's first step. The model writes a plan as structured output (a
``Plan``: steps, each a self-contained task), validated with pydantic and re-asked with the validation error
(twice at most); the plan is kept in state, so the trace shows what was decided."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from loomflow.agent.delegation import Plan
from loomflow.agent.quality import ask_model
from loomflow.errors import RunError
from loomflow.messages import Message, ModelRequest
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services, transcript
from loomflow.nodes.model_call import parse_output
from loomflow.outcomes import Update

__all__ = ["planner"]

PLAN = (
    "Break the task into at most {n} independent steps that sub-agents can do in parallel. Reply with only a "
    "JSON object matching this schema: {schema}"
)


@node(max_visits=20)
async def planner(ctx: Ctx) -> Update:
    svc = services(ctx)
    state = ctx.state
    config = svc.harness.orchestration
    goal = state.current_task().goal
    verdict = state.verdict
    if verdict is not None and not verdict.get("passed", True):  # the quality gate sent us back
        goal = f"{goal}\n\nA reviewer said of the last answer: {verdict.get('critique', '')}"
    schema = Plan.model_json_schema()
    history = await transcript(ctx)
    restored = list(history[len(history) - state.restored :]) if state.restored else []
    messages = [Message.system(PLAN.format(n=config.max_steps, schema=schema)), *restored, Message.user(goal)]
    writes: dict[str, Any] = {"iterations": 0, "tokens": 0}
    problems = ""
    for attempt in range(3):
        request = ModelRequest(
            messages=tuple(messages),
            generation=svc.generation.to_request(),
            output_schema=schema,
            metadata={"run_id": ctx.run_id, "call_index": state.call_offset + state.iterations + attempt},
        )
        response = await ask_model(ctx, svc.model, request, "plan")
        ctx.add_usage(**response.usage.counts())
        writes["iterations"] += 1
        writes["tokens"] += response.usage.input_tokens + response.usage.output_tokens
        parsed, problems = parse_output(response.message.text, Plan)
        if parsed is not None:
            try:
                plan = Plan.model_validate(parsed)
            except ValidationError as exc:  # pragma: no cover - parse_output validated it already
                raise RunError(str(exc)) from exc
            if len(plan.steps) > config.max_steps:
                plan = Plan(steps=plan.steps[: config.max_steps])
            writes["plan"] = plan.model_dump(mode="json")
            return Update(writes)
        messages += [response.message, Message.user(f"That plan is not valid: {problems}. Reply with JSON only.")]
    raise RunError(f"the planner did not produce a valid plan in 3 attempts: {problems}")
