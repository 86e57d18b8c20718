"""``renewal``: relieve context pressure without losing history.

Past the soft threshold it compacts with the configured strategy: ``drop_tool_outputs`` (old tool
results are shown as a placeholder that keeps the call id), ``sliding_window`` (the view starts at a
later turn boundary, never between a tool call and its result) or ``summarize`` (the model summarises
the turns that leave the view). Past the hard threshold it renews: the view restarts after a handoff
summary that the model is shown. ``messages`` is never rewritten, so the pre-compaction state stays in
the checkpoint history.
"""

from __future__ import annotations

from typing import Any

from loomflow.agent.context import context_tokens, estimate, turn_boundaries, view
from loomflow.agent.state import AgentState
from loomflow.messages import Message, ModelRequest, ModelResponse
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services, transcript
from loomflow.outcomes import Update

__all__ = ["extractive_summary", "renewal"]


def extractive_summary(state: AgentState, messages: list[Message], limit: int) -> str:
    """A handoff written from the run's own record: goal, earlier handoff, tool calls and their results."""
    lines = []
    lines.append(f"Goal: {state.current_task().goal}")
    if state.handoff:
        lines.append(f"Earlier: {state.handoff}")
    results = {p.call_id: p.content for m in messages for p in m.tool_results}
    for msg in messages:
        if msg.role == "user" and msg.text:
            lines.append(f"User: {msg.text[:300]}")
        for call in msg.tool_calls:
            result = results.get(call.id, "(no result)")
            lines.append(f"Called {call.name}({call.arguments}) -> {result[:200]}")
        if msg.role == "assistant" and msg.text:
            lines.append(f"Assistant: {msg.text[:300]}")
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@node
async def renewal(ctx: Ctx) -> Update:
    svc = services(ctx)
    state = ctx.state
    cp = svc.runtime.context
    history = await transcript(ctx)
    before = context_tokens(svc, state, history)
    writes: dict[str, Any] = {"last_input_tokens": 0}
    messages = list(state.messages)
    if before >= cp.hard * cp.max_tokens:
        strategy = "renew"
        summary = await _summary(ctx, messages[state.window_start :], writes)
        writes.update(handoff=summary, window_start=len(messages), renewals=1)
    elif cp.strategy == "drop_tool_outputs" and (ids := _droppable(state, cp.keep_recent)):
        strategy = "drop_tool_outputs"
        writes["dropped_outputs"] = ids
    else:
        strategy = "sliding_window" if cp.strategy != "summarize" else "summarize"
        start = _window_start(state, cp.soft * cp.max_tokens / 2)
        if strategy == "summarize" and start > state.window_start:
            writes["handoff"] = await _summary(ctx, messages[state.window_start : start], writes, by_model=True)
        writes["window_start"] = start
    after_state = type(state).from_values({**state.values(), **_applied(state, writes)})
    after = context_tokens(svc, after_state, history)
    ctx.emit("context_compacted", strategy=strategy, before=before, after=after)
    await svc.hooks.fire("on_context_compact", run_id=ctx.run_id, strategy=strategy, before=before, after=after)
    return Update(writes)


def _applied(state: AgentState, writes: dict[str, Any]) -> dict[str, Any]:
    out = dict(writes)
    if "dropped_outputs" in out:
        out["dropped_outputs"] = (*state.dropped_outputs, *out["dropped_outputs"])
    for key in ("renewals", "iterations", "tokens"):
        if key in out:
            out[key] = getattr(state, key) + out[key]
    return out


def _droppable(state: AgentState, keep_recent: int) -> list[str]:
    dropped = set(state.dropped_outputs)
    ids = [p.call_id for m in view(state) for p in m.tool_results if p.call_id not in dropped]
    return ids[: max(0, len(ids) - keep_recent)]


def _window_start(state: AgentState, target_tokens: float) -> int:
    """The earliest turn boundary after which the view fits ``target_tokens`` (at least the last turn)."""
    messages = state.messages
    bounds = [b for b in turn_boundaries(messages) if b >= state.window_start]
    if not bounds:
        return state.window_start
    for b in bounds:
        if estimate(sum(m.chars() for m in messages[b:])) <= target_tokens:
            return b
    return bounds[-1]


async def _summary(ctx: Ctx, leaving: list[Message], writes: dict[str, Any], *, by_model: bool = False) -> str:
    """The handoff: written by the model for the ``summarize`` strategy (or a model continuity policy),
    else extracted from the run's own record."""
    svc = services(ctx)
    limit = svc.runtime.continuity.max_summary_chars
    if not by_model and svc.runtime.continuity.summarizer == "extractive":
        return extractive_summary(ctx.state, leaving, limit)
    text = extractive_summary(ctx.state, leaving, limit * 4)
    request = ModelRequest(
        messages=(
            Message.system("Summarise the work so far for a colleague who takes over. Be brief and concrete."),
            Message.user(text),
        ),
        generation=svc.generation.to_request(),
        metadata={"run_id": ctx.run_id, "call_index": ctx.state.call_offset + ctx.state.iterations},
    )

    async def call() -> dict[str, Any]:
        return (await svc.model.request(request)).model_dump(mode="json")

    recorded = request.model_dump(mode="json", exclude={"metadata": {"run_id"}})
    response = ModelResponse.model_validate(await ctx.effect("summarize", call, request=recorded, idempotent=True))
    ctx.add_usage(**response.usage.counts())
    writes["iterations"] = 1  # a model call like any other: it counts against max_iterations
    writes["tokens"] = response.usage.input_tokens + response.usage.output_tokens
    return response.message.text[:limit]
