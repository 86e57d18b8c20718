"""``tool_dispatch``: run exactly the tool calls ``model_call`` produced (carried in state), and answer
every one of them.

Parallel-safe tools run concurrently up to ``Runtime.tool_concurrency``; a tool that is not parallel-safe
runs alone. Results are appended in request order. Unknown tools, arguments that are not JSON, schema
violations, timeouts, exceptions and denials all become error results the model sees, never a crash.
Each call goes through the journal (its result *is* the tool message, stored once).
"""

from __future__ import annotations

import asyncio
from typing import Any

from loomflow.agent.context import context_tokens, estimate
from loomflow.agent.delegation import DELEGATE
from loomflow.errors import EffectSkipped
from loomflow.journal import UncertainCall
from loomflow.messages import Message, ToolCallPart
from loomflow.nodedef import node
from loomflow.nodes._common import Ctx, services, transcript
from loomflow.nodes.model_call import partial_output
from loomflow.outcomes import End, JournalRef, Update
from loomflow.tools.tool import Tool, ToolArgumentError, ToolTimeout

__all__ = ["tool_dispatch"]


def _error(call: ToolCallPart, text: str) -> Message:
    return Message.tool_result(call.id, text, is_error=True)


@node(routes=("continue", "pressure", "delegate"))
async def tool_dispatch(ctx: Ctx) -> Update | End:
    svc = services(ctx)
    state = ctx.state
    calls = state.pending_calls
    results: list[Message | JournalRef | None] = [None] * len(calls)
    runnable: list[tuple[int, ToolCallPart, Tool, dict[str, Any]]] = []
    limit = ctx.budgets.get("max_tool_calls")
    over = limit is not None and state.tool_calls + len(calls) > limit
    delegating = svc.runtime.delegation.max_depth > 0
    # the delegation node answers the delegations governance let through, after this step answers the rest
    # (a refused delegation is answered here, like any refused call)
    delegated = [
        c for c in calls if delegating and c.name == DELEGATE and state.decisions.get(c.id, {}).get("action") != "deny"
    ]
    if delegated:
        calls = tuple(c for c in calls if c not in delegated)
        results = [None] * len(calls)
    for i, call in enumerate(calls):
        decision = state.decisions.get(call.id, {"action": "allow"})
        tool = svc.tools.get(call.name)
        if over:
            results[i] = _error(call, f"not run: the run's tool-call budget (max_tool_calls={limit:g}) is spent")
        elif decision["action"] == "deny":
            results[i] = _error(call, f"denied: {decision.get('reason', 'by policy')}")
        elif tool is None:
            known = ", ".join(svc.tools.names()) or "none"
            results[i] = _error(call, f"unknown tool {call.name!r}; available tools: {known}")
        elif call.raw_arguments is not None:
            results[i] = _error(
                call,
                f"the arguments for {call.name!r} were not valid JSON: {call.raw_arguments[:200]!r}; "
                f"send a JSON object matching the tool's schema",
            )
        else:
            runnable.append((i, call, tool, decision.get("arguments", call.arguments)))
    if over:
        answers = {"messages": results, "pending_calls": (), "decisions": {}}
        reason = f"max_tool_calls={limit:g} reached; resume with a larger budget to go on"
        partial = partial_output(state)
        return End({**answers, "output": partial}, output=partial, status="limit_reached", reason=reason)

    gate = asyncio.Semaphore(svc.runtime.tool_concurrency)
    artifacts: list[JournalRef] = []  # appended as calls finish; sorted into request order below

    async def run_one(i: int, call: ToolCallPart, tool: Tool, args: dict[str, Any]) -> None:
        async def invoke() -> dict[str, Any]:
            artifact = None
            try:
                content, artifact = await tool.invoke(args)
                message = Message.tool_result(call.id, content)
            except ToolArgumentError as exc:
                message = _error(call, str(exc))
            except ToolTimeout:
                raise  # the journal records timed_out; answered below
            except Exception as exc:
                message = _error(call, f"tool {call.name!r} failed: {type(exc).__name__}: {exc}")
            out = {"message": message.model_dump(mode="json")}
            if artifact is not None:
                out["artifact"] = {**artifact.to_json(), "call_id": call.id}
            return out

        ctx.emit("tool_started", call_id=call.id, tool=call.name)
        request = {"id": call.id, "name": call.name, "arguments": args}
        try:
            out = await ctx.effect(f"tool:{call.name}", invoke, request=request, idempotent=tool.idempotent, index=i)
            results[i] = ctx.journal_ref(index=i, key="message")
            ok = not any(p.get("is_error") for p in out["message"]["parts"])
            if "artifact" in out:
                artifacts.append(ctx.journal_ref(index=i, key="artifact"))
        except TimeoutError:
            maybe = "" if tool.idempotent else " It may have taken effect before it was stopped."
            results[i] = _error(call, f"tool {call.name!r} timed out after {tool.timeout}s.{maybe}")
            ok = False
        except EffectSkipped:
            results[i] = _error(call, f"tool {call.name!r} was skipped by an operator; it may or may not have run")
            ok = False
        ctx.emit("tool_finished", call_id=call.id, tool=call.name, ok=ok)
        await svc.hooks.fire("after_tool", run_id=ctx.run_id, tool_name=call.name, call_id=call.id, success=ok)

    async def guarded(i: int, call: ToolCallPart, tool: Tool, args: dict[str, Any]) -> None:
        async with gate:
            await run_one(i, call, tool, args)

    # Consecutive parallel-safe calls form a batch; a call that is not parallel-safe runs by itself.
    batches: list[list[tuple[int, ToolCallPart, Tool, dict[str, Any]]]] = []
    for item in runnable:
        if item[2].parallel_safe and batches and batches[-1][0][2].parallel_safe:
            batches[-1].append(item)
        else:
            batches.append([item])
    for batch in batches:
        outcomes = await asyncio.gather(*(guarded(*item) for item in batch), return_exceptions=True)
        uncertain = [o for o in outcomes if isinstance(o, UncertainCall)]
        if uncertain:
            raise uncertain[0]
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    answered = [r for r in results if r is not None]
    writes: dict[str, Any] = {"messages": answered, "pending_calls": (), "decisions": {}, "tool_calls": len(runnable)}
    if artifacts:
        writes["artifacts"] = sorted(artifacts, key=lambda ref: ref.index)
    if delegated:
        writes["pending_calls"] = tuple(delegated)
        writes["decisions"] = {c.id: state.decisions[c.id] for c in delegated if c.id in state.decisions}
        return Update(writes, route="delegate")
    cp = svc.runtime.context
    added = sum(len(r.text) + sum(len(p.content) for p in r.tool_results) for r in answered if isinstance(r, Message))
    added += sum(len(str(ctx.resolve(r)["parts"])) for r in answered if isinstance(r, JournalRef))
    tokens = context_tokens(svc, state, await transcript(ctx)) + estimate(added)
    route = "pressure" if tokens >= cp.soft * cp.max_tokens else "continue"
    return Update(writes, route=route)
