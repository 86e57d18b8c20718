"""``model_call``: one request through the provider protocol, recorded in the journal.

Budgets are checked first (a spent budget ends the run ``limit_reached`` with the partial output).
The response streams as ``model_delta`` events; the assistant message enters state as a reference to
its journal entry (stored once). Routes to ``tool_calls`` when the model asked for tools, else ``final``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from loomflow.agent.context import build_request
from loomflow.agent.state import AgentState
from loomflow.errors import ProviderError, RunError
from loomflow.messages import Message, ModelDelta, ModelResponse, TextPart
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, control_hook, services, transcript
from loomflow.outcomes import End, Pause, Update

__all__ = ["model_call", "spent_budget"]


def spent_budget(state: AgentState, budgets: dict[str, float] | Any, elapsed: float) -> str | None:
    """Which budget is spent, as a message, or None."""
    checks = (
        ("max_iterations", state.iterations, "model calls"),
        ("max_tokens", state.tokens, "tokens"),
        ("max_cost", state.cost, "cost"),
        ("max_seconds", elapsed, "seconds of run time"),
        ("max_tool_calls", state.tool_calls, "tool calls"),
    )
    for name, used, what in checks:
        limit = budgets.get(name)
        if limit is not None and used >= limit:
            return f"{name}={limit:g} reached ({used:g} {what}); resume with a larger budget to go on"
    return None


def partial_output(state: AgentState) -> str:
    for msg in reversed(state.messages):
        if msg.role == "assistant" and msg.text:
            return msg.text
    return ""


def parse_output(text: str, output_type: type[BaseModel]) -> tuple[dict[str, Any] | None, str]:
    """The answer validated as ``output_type`` (JSON form), or None and what is wrong with it."""
    body = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", body, re.S)
    if fenced:
        body = fenced.group(1)
    try:
        return output_type.model_validate_json(body).model_dump(mode="json"), ""
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors())
        return None, problems


@node(max_visits=1000, routes=("tool_calls", "final", "reask"), interrupts=True)
async def model_call(ctx: Ctx) -> Update | Pause | End:
    state = ctx.state
    svc = services(ctx)
    spent = spent_budget(state, ctx.budgets, ctx.elapsed)
    if spent is not None:
        partial = partial_output(state)
        return End({"output": partial}, output=partial, status="limit_reached", reason=spent)
    pause = await control_hook(ctx, "before_llm", "before_llm", iteration=state.iterations)
    if pause is not None:
        return pause
    history = await transcript(ctx)
    request = build_request(svc, state, history, state.call_offset + state.iterations, ctx.run_id)

    async def call() -> dict[str, Any]:
        response = None
        async for item in svc.model.stream(request):
            if isinstance(item, ModelDelta):
                ctx.emit("model_delta", delta=item.kind, text=item.text, call_id=item.call_id)
            else:
                response = item
        if response is None:
            raise ProviderError(f"model {svc.model.name!r} ended its stream without a response")
        return response.model_dump(mode="json")

    # The run id is left out of what is compared, so a replay (a new run) matches the recording. A model
    # request changes nothing outside the run, so one cut off by a crash is simply sent again (idempotent).
    recorded = request.model_dump(mode="json", exclude={"metadata": {"run_id"}})
    response = ModelResponse.model_validate(await ctx.effect("model", call, request=recorded, idempotent=True))
    if response.finish_reason == "content_filter":
        raise ProviderError(f"model {response.model!r} refused to answer (content_filter)")
    usage = response.usage
    ctx.add_usage(**usage.counts())
    ctx.usage["model"] = response.model
    await svc.hooks.fire("after_llm", run_id=ctx.run_id, iteration=state.iterations, usage=usage.counts())
    writes: dict[str, Any] = {
        "messages": [ctx.journal_ref(key="message")],
        "iterations": 1,
        "tokens": usage.input_tokens + usage.output_tokens,
        "last_input_tokens": usage.input_tokens,
    }
    if usage.cost:
        writes["cost"] = usage.cost
    calls = response.message.tool_calls
    if calls:
        writes["pending_calls"] = calls
        return Update(writes, route="tool_calls")
    text = response.message.text
    parts = response.message.parts
    single = len(parts) == 1 and isinstance(parts[0], TextPart)
    # the answer is usually the message's one text part: refer to it rather than storing it twice
    writes["output"] = ctx.journal_ref(key="message.parts.0.text") if single else text
    if svc.output_type is not None:
        parsed, problems = parse_output(text, svc.output_type)
        if parsed is None:
            if state.output_retries >= svc.output_retries:
                raise RunError(
                    f"the model's answer did not validate as {svc.output_type.__name__} after "
                    f"{state.output_retries + 1} attempt(s): {problems}"
                )
            ask = f"Your answer does not match the required {svc.output_type.__name__} schema: {problems}. "
            ask += "Reply again with only a JSON object that matches the schema."
            writes["messages"] = [writes["messages"][0], Message.user(ask)]
            writes["output_retries"] = 1
            return Update(writes, route="reask")
        writes["parsed"] = parsed
    return Update(writes, route="final")
