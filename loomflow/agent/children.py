"""Child runs: best-of-N candidates, custom-harness attempts, delegations and plan steps.

A child run has its own id (derived from the parent's run, node path, visit and the child's label, so it
is the same after a crash), its own steps, and ``parent=(run_id, step)``. The parent step records each
spawn in its journal; a re-run parent step re-attaches to its children: a finished child is read back,
an interrupted one is resumed with the answers the parent received, a crashed one is resumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loomflow.agent.config import RunContext, RuntimeTask
from loomflow.agent.state import AgentState
from loomflow.interpreter import RunResult
from loomflow.nodedef import NodeContext
from loomflow.outcomes import Interrupt

if TYPE_CHECKING:
    from loomflow.agent.agent import Agent
    from loomflow.agent.harness import Harness

__all__ = ["ChildRunner", "ChildSpec", "child_interrupts"]

SEP = "::"


class ChildSpec:
    """One child to run: a label unique among its siblings, the task, and what context it receives."""

    def __init__(
        self,
        label: str,
        task: RuntimeTask,
        *,
        context: RunContext | None = None,
        agent: Agent | None = None,
        harness: Harness | None = None,
        deeper: bool = False,
    ) -> None:
        self.label = label
        self.task = task
        self.context = context
        #: a sub-agent to run the child on (its own graph), instead of this agent's single-run graph
        self.agent = agent
        #: a harness for the child (default: single_run); only with ``agent`` unset
        self.harness = harness
        #: a delegation: the child is one level deeper (candidates, attempts and plan steps are not)
        self.deeper = deeper


class ChildRunner:
    """Runs children of the agent's runs on the agent's single-run graph (or a sub-agent's own graph)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def run_all(
        self, ctx: NodeContext[AgentState], specs: Sequence[ChildSpec], *, limit: int = 4
    ) -> list[RunResult[AgentState]]:
        """Run ``specs`` concurrently (at most ``limit`` at once); results in the order of ``specs``."""
        gate = asyncio.Semaphore(limit)

        async def one(index: int, spec: ChildSpec) -> RunResult[AgentState]:
            async with gate:
                return await self.run(ctx, spec, index=index)

        return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(specs))))

    async def run(self, ctx: NodeContext[AgentState], spec: ChildSpec, *, index: int) -> RunResult[AgentState]:
        child_id = f"{ctx.run_id}/{ctx.node_path}@{ctx.visit}/{spec.label}"

        async def spawned() -> dict[str, str]:
            return {"child": child_id}

        # the request names the child by its label only (the journal key holds node and visit), so that a
        # replay, under another run id, asks the same; what it is served is the recorded child's id
        recorded = await ctx.effect(
            f"spawn:{spec.label}", spawned, request={"child": spec.label}, idempotent=True, index=index
        )
        agent = spec.agent or self.agent
        interp = agent.child_interpreter(spec.harness) if spec.agent is None else agent.interpreter
        existing = await interp.store.get_run(child_id)
        source = recorded.get("child") if isinstance(recorded, dict) else None
        if existing is None and source is not None and source != child_id:  # this run replays a recording:
            return await agent._finished(await interp.replay(source, new_run_id=child_id))  # so does its child
        if existing is None:
            exe = await agent._start(
                spec.task,
                context=spec.context,
                run_id=child_id,
                interp=interp,
                parent=(ctx.run_id, ctx.step),
                lane=spec.label,
                depth=ctx.state.depth + (1 if spec.deeper else 0),
                session_id=ctx.state.session_id,  # sees the session's history, without joining the session
                in_session=False,
            )
            return await agent._drive(exe, interp)
        # the parent keeps every answer given to this visit's children; the child takes those it waits for
        waiting = {i.id for i in existing.interrupts}
        answers = {k: v for k, v in _answers_for(child_id, ctx).items() if k in waiting}
        if existing.status == "interrupted" and answers:
            return await agent._finished(await interp.resume(child_id, values=answers))
        if existing.status == "running":  # the process died while the child ran
            return await agent._finished(await interp.resume(child_id))
        return await interp.result(child_id)


def _answers_for(child_id: str, ctx: NodeContext[AgentState]) -> dict[str, Any]:
    prefix = child_id + SEP
    answers: Mapping[str, Any] = ctx._answers
    return {k[len(prefix) :]: v for k, v in answers.items() if k.startswith(prefix)}


def child_interrupts(ctx: NodeContext[AgentState], results: Sequence[RunResult[AgentState]]) -> tuple[Interrupt, ...]:
    """The interrupts of waiting children, re-keyed so the parent can be resumed with their answers."""
    out = []
    for result in results:
        for intr in result.interrupts:
            out.append(
                Interrupt(
                    f"{result.run_id}{SEP}{intr.id}",
                    intr.kind,
                    ctx.node_path,
                    ctx.step,
                    f"[child {result.run_id}] {intr.prompt}",
                    {"child_run": result.run_id, "child_interrupt": intr.id, "payload": intr.payload},
                    intr.allowed,
                )
            )
    return tuple(out)
