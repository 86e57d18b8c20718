"""``loomflow`` commands that execute code: ``run``, ``resume``, ``fork``, ``replay``, ``lint``.

They import the agent or graph named ``MODULE:NAME`` and drive it on the store given by ``--db``
(for an agent without ``--db``: the store it was built with, by default the same file).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from loomflow.cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    Out,
    UsageError,
    exit_code,
    interrupt_json,
    jsonable,
    show_usage,
    store_path,
)
from loomflow.events import Event
from loomflow.interpreter import _MISSING, Interpreter, RunResult
from loomflow.limits import Limits
from loomflow.trace import summarize

__all__ = ["Target", "lint", "report", "run"]


class Target:
    """An imported agent or graph, ready to run on the chosen store."""

    def __init__(self, spec: str, obj: Any, db: str | None) -> None:
        from loomflow.agent import Agent
        from loomflow.graph import Graph

        self.spec = spec
        self.agent: Agent | None = None
        self.interp: Interpreter[Any] | None = None
        if isinstance(obj, Agent):
            self.agent = obj
            if db is not None:
                if obj._interp is not None:
                    raise UsageError(f"{spec} has already opened its store; --db cannot move it, drop --db")
                # Agent has no public setter: its store is chosen at construction and opened on first use.
                obj._checkpoint_arg = db
        elif isinstance(obj, Graph):
            self.interp = Interpreter(obj, store=store_path(db, must_exist=False))
        else:
            raise UsageError(f"{spec} is a {type(obj).__name__}, not an Agent or a Graph")

    @property
    def flag(self) -> str:
        return f"--agent {self.spec}" if self.agent is not None else f"--graph {self.spec}"

    @property
    def interpreter(self) -> Interpreter[Any]:
        if self.agent is not None:
            return self.agent.interpreter
        assert self.interp is not None
        return self.interp

    async def stream(
        self, prompt: str | None, input: Mapping[str, Any] | None, run_id: str, session: str | None
    ) -> tuple[AsyncIterator[Event], asyncio.Future[RunResult[Any]]]:
        """Start a run; its events as they happen, and its result once it pauses or ends."""
        if self.agent is not None:
            if prompt is None:
                raise UsageError(f'running an agent takes a prompt: loomflow run {self.spec} "what to do"')
            if input is not None:
                raise UsageError("--input belongs to graphs; an agent takes its task as the prompt")
            handle = self.agent.start(prompt, run_id=run_id, session_id=session)
            await handle.started()  # a run that cannot start fails here, before anything is printed
            return handle.events(), asyncio.ensure_future(handle.wait())
        if session is not None:
            raise UsageError("--session belongs to agents; a graph run has no session")
        if prompt is not None:
            raise UsageError("a graph takes its input as JSON: loomflow run MODULE:GRAPH --input '{\"key\": 1}'")
        interp = self.interpreter
        exe = await interp.start(input, run_id=run_id)
        return exe.events.follow(0), asyncio.ensure_future(interp.drive(exe))

    async def resume(self, run_id: str, value: Any, values: Any, at: int | str | None, limits: Limits | None) -> Any:
        if self.agent is not None:
            return await self.agent.resume(run_id, value, values=values, at=at, limits=limits)
        return await self.interpreter.resume(run_id, value=value, values=values, at=at, limits=limits)

    async def fork(self, run_id: str, at: int | str, update: Mapping[str, Any], limits: Limits | None) -> Any:
        if self.agent is not None:
            if limits is not None:
                raise UsageError("--budget on fork needs --graph; an agent's fork keeps the budgets of its origin")
            return await self.agent.fork(run_id, at=at, update=update or None)
        return await self.interpreter.fork(run_id, at=at, update=update or None, limits=limits)

    async def replay(self, run_id: str) -> Any:
        if self.agent is not None:
            return await self.agent.replay(run_id)
        return await self.interpreter.replay(run_id)

    async def close(self) -> None:
        if self.agent is not None:
            await self.agent.close()
        elif self.interp is not None:
            await self.interp.store.close()


async def run(
    target: Target,
    out: Out,
    *,
    prompt: str | None,
    input: Mapping[str, Any] | None,
    run_id: str | None,
    session: str | None,
    quiet: bool,
) -> int:
    run_id = run_id or uuid.uuid4().hex
    events, result = await target.stream(prompt, input, run_id, session)
    if not quiet:
        out.progress(f"run {run_id} ({target.spec})")
    async for event in events:
        if not quiet:
            _progress(out, event)
    return report(target, out, await result)


def _progress(out: Out, event: Event) -> None:
    data = event.data
    if event.kind == "node_finished":
        status = "" if data.get("status") == "ok" else f" [{data.get('status')}]"
        target = data.get("target")
        route = f" --{data['route']}-->" if data.get("route") else " -->" if target else ""
        where = "" if not target else " END" if target == "__end__" else f" {target}"
        out.progress(f"  {event.step:>3} {event.node_path}{status}{route}{where}")
    elif event.kind == "node_retry":
        out.progress(f"      retry after attempt {data.get('attempt')}: {data.get('error')}")
    elif event.kind == "tool_started":
        out.progress(f"      tool {data.get('tool')}")
    elif event.kind == "interrupt":
        out.progress(f"      waiting for {data.get('kind')}: {data.get('prompt')}")


def report(target: Target | None, out: Out, result: RunResult[Any]) -> int:
    """Print where a run stands; the exit code follows its status."""
    out.data(
        {
            "run_id": result.run_id,
            "status": result.status,
            "step": result.step,
            "output": jsonable(result.output),
            "error": result.error,
            "interrupts": [interrupt_json(i) for i in result.interrupts],
            "usage": result.usage,
        }
    )
    out.line(f"run {result.run_id}: {result.status} ({len(result.records)} steps, usage: {show_usage(result.usage)})")
    for i in result.interrupts:
        out.line(f"waiting for {i.kind} at {i.node_path}  [{i.id}]")
        if i.prompt:
            out.line(f"  prompt:  {i.prompt}")
        if i.allowed is not None:
            out.line(f"  accepts: {', '.join(map(repr, i.allowed))}")
    if result.interrupts:
        flag = target.flag if target is not None else "--agent MODULE:AGENT"
        example = "approve" if result.interrupt and result.interrupt.kind == "approval" else "VALUE"
        several = len(result.interrupts) > 1
        answer = "--values '{\"ID\": VALUE, ...}'" if several else f"--value {example}"
        out.line(f"answer with: loomflow resume {result.run_id} {answer} {flag}")
    if result.error:
        out.line(f"error: {result.error}")
    if result.output is not None:
        out.line(f"output: {summarize(result.output, 400) if not isinstance(result.output, str) else result.output}")
    return exit_code(result.status)


async def resume(
    target: Target,
    out: Out,
    run_id: str,
    *,
    value: Any = _MISSING,
    values: Any = None,
    at: int | str | None = None,
    limits: Limits | None = None,
) -> int:
    return report(target, out, await target.resume(run_id, value, values, at, limits))


def lint(obj: Any, out: Out, spec: str) -> int:
    """Problems beyond those that fail construction: ``agent.lint()`` if the agent has one, else its
    graph's ``lint()``."""
    from loomflow.agent import Agent
    from loomflow.graph import Graph

    if isinstance(obj, Agent):
        rule = getattr(obj, "lint", None)
        problems: list[str] = list(rule() if callable(rule) else obj.graph.lint())
        name = obj.graph.name
    elif isinstance(obj, Graph):
        problems, name = list(obj.lint()), obj.name
    else:
        raise UsageError(f"{spec} is a {type(obj).__name__}, not an Agent or a Graph")
    out.data({"target": spec, "graph": name, "problems": problems})
    for problem in problems:
        out.line(f"{spec}: {problem}")
    out.line(f"{name}: {len(problems)} problem(s)" if problems else f"{name}: no problems")
    return EXIT_FAILED if problems else EXIT_OK
