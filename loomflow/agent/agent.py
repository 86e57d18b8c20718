"""``Agent``: the user-side API. Underneath, every run is the ``agent_run`` graph on the interpreter.

    agent = Agent(model=Model.scripted(["Hello!"]), instructions="Be brief.")
    result = await agent.run("Say hello")
    print(result.output, result.status)

An agent holds configuration only; every run's state lives in its checkpoints, so runs (and sessions)
share nothing mutable.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from loomflow.agent.children import ChildRunner
from loomflow.agent.config import Generation, RunContext, Runtime, RuntimeTask
from loomflow.agent.context import AgentServices
from loomflow.agent.delegation import DelegationPolicy, OrchestrationConfig
from loomflow.agent.harness import Harness
from loomflow.agent.hooks import Hooks
from loomflow.agent.quality import QualityGate
from loomflow.agent.session import RunHandle, Session, SessionConfig
from loomflow.agent.session_store import MemorySessionStore, SessionStore, SQLiteSessionStore
from loomflow.agent.state import AgentState
from loomflow.checkpoint import DEFAULT_PATH, CheckpointStore, SQLiteStore
from loomflow.checkpoint.records import StepRecord
from loomflow.clock import Clock
from loomflow.errors import RunError
from loomflow.events import Event
from loomflow.execution import Execution
from loomflow.graph import Graph
from loomflow.interpreter import _MISSING, Durability, Interpreter, RunResult
from loomflow.limits import Limits
from loomflow.messages import Message
from loomflow.providers.base import ModelProvider
from loomflow.tools.lint import lint_tools
from loomflow.tools.registry import ToolRegistry
from loomflow.tools.tool import Tool

if TYPE_CHECKING:
    from loomflow.tools.capability import Capability
    from loomflow.tools.skills import Skill

__all__ = ["Agent"]

T = TypeVar("T")
_DERIVED_EVENTS = frozenset({"node_started", "node_finished", "model_delta"})
Task = str | RuntimeTask


class Agent:
    """An agent: a model, instructions, tools and a runtime policy, run as an explicit graph.

    ``model`` is a provider (``Model.scripted(...)``, ``Model.anthropic(...)``) or a ``"provider:model"``
    string. ``checkpoint_store`` is a store or a path to an SQLite file (default ``.loomflow/loomflow.db``);
    ``session_store`` defaults to the same file (or to memory, with a memory checkpoint store).

    >>> from loomflow import Model
    >>> Agent(model=Model.scripted(["hi"])).graph.name
    'agent_run'
    """

    def __init__(
        self,
        model: ModelProvider | str,
        *,
        instructions: str = "",
        tools: Sequence[Tool] = (),
        capabilities: Sequence[Capability] = (),
        generation: Generation | None = None,
        runtime: Runtime | None = None,
        checkpoint_store: CheckpointStore | str | os.PathLike[str] | None = None,
        session_store: SessionStore | str | os.PathLike[str] | None = None,
        output_type: type[BaseModel] | None = None,
        output_retries: int = 2,
        orchestration: bool | OrchestrationConfig = False,
        durability: Durability = "sync",
        name: str = "agent",
        clock: Clock | None = None,
        ids: Callable[[], str] | None = None,
    ) -> None:
        if isinstance(model, str):
            from loomflow.model import Model

            model = Model.parse(model)  # "anthropic:<model>", "openai:<model>", ...
        if not isinstance(model, ModelProvider):
            raise TypeError(f"model must be a model provider such as Model.scripted([...]), not {model!r}")
        _check_arguments(
            instructions=instructions,
            tools=tools,
            generation=generation,
            runtime=runtime,
            checkpoint_store=checkpoint_store,
            session_store=session_store,
            output_type=output_type,
            output_retries=output_retries,
            orchestration=orchestration,
        )
        self.name = name
        self.model = model
        self.instructions = instructions
        self.tools = ToolRegistry(tools)
        #: capabilities compile into the same registry (MCP servers start on first use); skills index the prompt
        self.skills: tuple[Skill, ...] = ()
        if capabilities:  # the capability modules (shell, web, MCP...) load only when an agent uses them
            from loomflow.tools.capability import install_capabilities

            self.skills = install_capabilities(capabilities, self.tools)
        self.generation = generation or Generation()
        if orchestration:
            if runtime is not None:
                raise ValueError(
                    "orchestration= is a shortcut for runtime=Runtime.orchestrated(...); pass one, not both"
                )
            config = orchestration if isinstance(orchestration, OrchestrationConfig) else OrchestrationConfig()
            runtime = Runtime(
                harness=Harness.orchestrated(config), delegation=DelegationPolicy.depth_limited(config.max_depth)
            )
        self.runtime = runtime or Runtime.sdk()
        self.hooks = Hooks()
        self.output_type = output_type
        self.output_retries = output_retries
        self.durability = durability
        self._clock = clock
        self._ids = ids
        self._checkpoint_arg = checkpoint_store
        self._session_arg = session_store
        self._interp: Interpreter[AgentState] | None = None
        self._sessions: SessionStore | None = None
        self._closed = False
        self._transcripts: dict[str, tuple[list[Message], int]] = {}
        self._history: dict[str, list[Message]] = {}  # a run's session transcript, once it cannot change
        from loomflow.graphs.agent_run import agent_run  # graphs import the nodes, which import this package

        self.graph: Graph[AgentState] = agent_run(self.runtime.harness.graph(model_retry=self.runtime.model_retry))
        self._child_interps: dict[str, Interpreter[AgentState]] = {}

    # ------------------------------------------------------------------ wiring
    @property
    def interpreter(self) -> Interpreter[AgentState]:
        """The interpreter that runs this agent's graph (its store opens on first use)."""
        self._check_open()
        if self._interp is None:
            store = self._checkpoint_arg
            if store is None or isinstance(store, str | os.PathLike):
                store = SQLiteStore(Path(store) if store is not None else DEFAULT_PATH)
            self._interp = Interpreter(
                self.graph,
                store=store,
                durability=self.durability,
                services={"agent": self._services()},
                clock=self._clock,
                ids=self._ids,
            )
        return self._interp

    def child_interpreter(self, harness: Harness | None = None) -> Interpreter[AgentState]:
        """Runs this agent's child runs (candidates, attempts, delegations, plan steps): by default on the
        plain single-run graph, since a child is one attempt at a task judged by its parent."""
        from loomflow.graphs.agent_run import agent_run

        harness = harness or Harness.single_run()
        parent = self.interpreter
        interp = self._child_interps.get(harness.kind)
        if interp is None:
            runtime = dataclasses.replace(self.runtime, harness=harness, quality=QualityGate.none())
            interp = Interpreter(
                agent_run(harness.graph(model_retry=self.runtime.model_retry)),
                store=parent.store,
                durability=self.durability,
                services={"agent": dataclasses.replace(self._services(), runtime=runtime)},
                clock=self._clock,
                ids=self._ids,
            )
            self._child_interps[harness.kind] = interp
        return interp

    def _services(self) -> AgentServices:
        return AgentServices(
            model=self.model,
            tools=self.tools,
            instructions=self.instructions,
            generation=self.generation,
            runtime=self.runtime,
            hooks=self.hooks,
            transcript=self._transcript,
            take_signals=self._take_signals,
            children=ChildRunner(self),
            output_type=self.output_type,
            output_retries=self.output_retries,
            skills=self.skills,
        )

    @property
    def session_store(self) -> SessionStore:
        self._check_open()
        if self._sessions is None:
            arg = self._session_arg
            if isinstance(arg, str | os.PathLike):
                self._sessions = SQLiteSessionStore(Path(arg))
            elif arg is not None:
                self._sessions = arg
            else:
                store = self.interpreter.store
                if isinstance(store, SQLiteStore) and store.path is not None:
                    self._sessions = SQLiteSessionStore(store.path)
                else:
                    self._sessions = MemorySessionStore()
        return self._sessions

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Register a hook: ``before_run``, ``before_llm``, ``before_tool`` (may return ``Deny``/``Ask``),
        ``after_llm``, ``after_tool``, ``on_context_compact``, ``after_run``."""
        self.hooks.on(event, handler)

    # ------------------------------------------------------------------ running
    async def run(
        self,
        task: Task,
        *,
        context: RunContext | None = None,
        run_id: str | None = None,
        limits: Limits | None = None,
        session_id: str | None = None,
    ) -> RunResult[AgentState]:
        """Run ``task`` to completion, an interrupt, a failure or a limit, and return where it stands."""
        exe = await self._start(task, context=context, run_id=run_id, limits=limits, session_id=session_id)
        return await self._drive(exe)

    def run_sync(self, task: Task, **kwargs: Any) -> RunResult[AgentState]:
        """``run`` from synchronous code; inside a running event loop (a notebook) it runs on a worker
        thread's loop and waits."""
        return _sync(self.run(task, **kwargs))

    async def stream(self, task: Task, **kwargs: Any) -> AsyncIterator[Event]:
        """Run ``task`` and yield its events as they happen (the same loop as ``run``)."""
        handle = self.start(task, **kwargs)
        async for event in handle.events():
            yield event
        await handle.wait()

    def start(self, task: Task, **kwargs: Any) -> RunHandle:
        """Start ``task`` in the background; the handle streams ``events()`` and ``wait()``s for the result."""
        return RunHandle(self, self._start(task, **kwargs))

    def session(self, config: SessionConfig | str) -> Session:
        """A session: runs that see the earlier runs' turns (by ``Runtime.session_restore``)."""
        return Session(self, config if isinstance(config, SessionConfig) else SessionConfig(id=config))

    async def resume(
        self,
        run_id: str,
        value: Any = _MISSING,
        *,
        values: Mapping[str, Any] | None = None,
        at: int | str | None = None,
        limits: Limits | None = None,
    ) -> RunResult[AgentState]:
        """Continue a run: after a crash or failure, past a limit (with larger ``limits``), or answering its
        interrupt with ``value`` (``"approve"``, ``"deny"``, ``{"arguments": ...}``, ``"retry"``, ...)."""
        interp = await self._interpreter_for(run_id)
        result = await interp.resume(run_id, value=value, values=values, at=at, limits=limits)
        return await self._finished(result)

    async def fork(
        self, run_id: str, *, at: int | str, update: Mapping[str, Any] | None = None
    ) -> RunResult[AgentState]:
        """A new run sharing ``run_id``'s history before step ``at``, re-running that step with ``update``."""
        interp = await self._interpreter_for(run_id)
        return await self._finished(await interp.fork(run_id, at=at, update=update))

    async def replay(self, run_id: str) -> RunResult[AgentState]:
        """Re-run a recorded run with every model and tool call served from its journal (no network, no
        tools); a run whose node now asks differently fails with ``ReplayDivergence`` in its error."""
        return await (await self._interpreter_for(run_id)).replay(run_id)

    async def cancel(self, run_id: str) -> None:
        await self.interpreter.cancel(run_id)

    async def history(self, run_id: str) -> list[StepRecord]:
        return await self.interpreter.history(run_id)

    async def state(self, run_id: str, at: int | str | None = None) -> AgentState:
        return await self.interpreter.state(run_id, at=at)

    async def result(self, run_id: str) -> RunResult[AgentState]:
        return await self.interpreter.result(run_id)

    def lint(self) -> list[str]:
        """Static problems: the graph's (``graph.lint()``) and this agent's tools against its governance
        policy (``lint_tools``), e.g. a destructive tool that can run without approval."""
        tools = lint_tools(self.tools, self.runtime.governance, skills=self.skills, delegation=self.runtime.delegation)
        return self.graph.lint() + tools

    async def close(self) -> None:
        """Close the stores this agent opened and stop the MCP servers its capabilities started. A closed
        agent refuses to run or read runs; closing it again does nothing."""
        if self._closed:
            return
        self._closed = True
        await self.tools.close()
        if self._interp is not None:
            await self._interp.store.close()
        if self._sessions is not None:
            await self._sessions.close()

    # ------------------------------------------------------------------ internals
    async def _interpreter_for(self, run_id: str) -> Interpreter[AgentState]:
        """The interpreter whose graph ran ``run_id``: this agent's, or the one its child runs use (a child
        runs one attempt on the single-run graph, or on the harness its parent gave it)."""
        interp = self.interpreter
        run = await interp.store.get_run(run_id)
        if run is None or run.kind != "child" or run.fingerprint == interp.graph.fingerprint:
            return interp
        for child in (self.child_interpreter(), *self._child_interps.values()):
            if child.graph.fingerprint == run.fingerprint:
                return child
        raise RunError(
            f"run {run_id!r} is a child of run {run.parent_run!r} on a graph this agent does not build; resume "
            f"the parent, which passes the answers on: agent.resume({run.parent_run!r}, values={{...}})"
        )

    def _check_open(self) -> None:
        # every operation that reads or writes runs comes through here: a closed store must not be reached
        # (SQLite would fail with a bare sqlite3 error, memory would quietly keep working)
        if self._closed:
            raise RunError(f"agent {self.name!r} is closed; create a new Agent to run or read runs")

    async def _start(
        self,
        task: Task,
        *,
        context: RunContext | None = None,
        run_id: str | None = None,
        limits: Limits | None = None,
        session_id: str | None = None,
        interp: Interpreter[AgentState] | None = None,
        parent: tuple[str, int] | None = None,
        lane: str | None = None,
        depth: int = 0,
        in_session: bool = True,
    ) -> Execution:
        goal = RuntimeTask(goal=task) if isinstance(task, str) else task
        if not isinstance(goal, RuntimeTask):
            raise TypeError(f"a task is a string or a RuntimeTask, not {type(task).__name__}")
        interp = interp or self.interpreter
        offset = 0
        if session_id is not None and in_session:
            await self.session_store.ensure_session(session_id, interp.clock.now())
            for earlier in await self.session_store.runs(session_id):
                offset += (await self._turns(earlier))[1]
        writes: dict[str, Any] = {
            "messages": [Message.user(goal.prompt())],
            "session_id": session_id,
            "call_offset": offset,
        }
        if not isinstance(task, str):  # a plain prompt is its own user turn: not stored a second time
            writes["task"] = goal
        if context is not None:
            writes["run_context"] = context
        if lane is not None:
            writes["lane"] = lane
        if depth:
            writes["depth"] = depth
        run_limits = Limits(budgets=self.runtime.budgets())
        exe = await interp.start(
            writes, run_id=run_id, limits=run_limits.raised(limits) if limits else run_limits, parent=parent
        )
        if session_id is not None and in_session:
            await self.session_store.add_run(session_id, exe.run_id)
        return exe

    async def _drive(self, exe: Execution, interp: Interpreter[AgentState] | None = None) -> RunResult[AgentState]:
        return await self._finished(await (interp or self.interpreter).drive(exe))

    async def _finished(self, result: RunResult[AgentState]) -> RunResult[AgentState]:
        sid = result.state.session_id
        if sid is not None:
            log = self.interpreter._logs.get(result.run_id)
            if log is not None:
                # node events are the run's steps (history()) and streamed text is in the journal: the session
                # keeps the rest (tools, governance, interrupts, compaction, the run's end)
                kept = [e for e in log.events if e.kind not in _DERIVED_EVENTS]
                await self.session_store.save_events(result.run_id, kept)
        await self.hooks.fire(
            "after_run",
            run_id=result.run_id,
            result={"status": result.status, "output": result.output, "error": result.error},
        )
        return result

    async def _turns(self, run_id: str) -> tuple[list[Message], int]:
        """A run's contribution to its session transcript (user turns, then its answer) and its model calls.

        Cached once the run is final: a finished run never changes.
        """
        cached = self._transcripts.get(run_id)
        if cached is not None:
            return cached
        interp = self.interpreter
        run = await interp.get_run(run_id)
        state = await interp.state(run_id)
        turns = [m for m in state.messages if m.role == "user"]
        if run.status == "completed" and state.output:
            turns.append(Message.assistant(state.output))
        out = (turns, state.iterations)
        if run.status in ("completed", "cancelled"):  # final: a failed run may still be resumed
            self._transcripts[run_id] = out
        return out

    async def _take_signals(self, session_id: str, run_id: str) -> list[dict[str, Any]]:
        return await self.session_store.take_signals(session_id, run_id)

    async def _transcript(self, session_id: str, run_id: str) -> list[Message]:
        cached = self._history.get(run_id)
        if cached is not None:
            return cached
        runs = await self.session_store.runs(session_id)
        anchor = run_id
        while anchor not in runs:  # a fork: place it where the run it was forked from stands
            parent = (await self.interpreter.get_run(anchor)).parent_run
            if parent is None:
                return []
            anchor = parent
        history: list[Message] = []
        earlier = runs[: runs.index(anchor)]
        for other in earlier:
            history += (await self._turns(other))[0]
        if all(other in self._transcripts for other in earlier):  # every earlier run is final: it stays so
            self._history[run_id] = history
            while len(self._history) > 1024:
                self._history.pop(next(iter(self._history)))
        return history

    def __repr__(self) -> str:
        return f"<Agent {self.name!r} model={self.model.name!r} tools={self.tools!r}>"


def _check_arguments(
    *,
    instructions: object,
    tools: object,
    generation: object,
    runtime: object,
    checkpoint_store: object,
    session_store: object,
    output_type: object,
    output_retries: object,
    orchestration: object,
) -> None:
    """Wrong arguments fail when the agent is built, named, rather than inside a step of its first run."""
    if not isinstance(instructions, str):
        raise TypeError(f"Agent(instructions=...) takes a str, not {instructions!r}")
    if isinstance(tools, Tool):
        raise TypeError(f"Agent(tools=...) takes a list of tools; write tools=[{tools.name}]")
    if isinstance(tools, str) or not isinstance(tools, Iterable):
        raise TypeError(f"Agent(tools=...) takes a list of @tool functions, not {tools!r}")
    if generation is not None and not isinstance(generation, Generation):
        raise TypeError(f"Agent(generation=...) takes a Generation(temperature=..., ...), not {generation!r}")
    if runtime is not None and not isinstance(runtime, Runtime):
        raise TypeError(f"Agent(runtime=...) takes a Runtime such as Runtime.sdk(max_iterations=10), not {runtime!r}")
    if checkpoint_store is not None and not isinstance(checkpoint_store, CheckpointStore | str | os.PathLike):
        raise TypeError(
            f"Agent(checkpoint_store=...) takes a store (MemoryStore(), SQLiteStore(path)) or the path of an "
            f"SQLite file, not {checkpoint_store!r}"
        )
    if session_store is not None and not isinstance(session_store, SessionStore | str | os.PathLike):
        raise TypeError(
            f"Agent(session_store=...) takes a session store or the path of an SQLite file, not {session_store!r}"
        )
    if output_type is not None and not (isinstance(output_type, type) and issubclass(output_type, BaseModel)):
        raise TypeError(
            f"Agent(output_type=...) takes a pydantic model class (a BaseModel subclass), not {output_type!r}"
        )
    if not isinstance(output_retries, int) or output_retries < 0:
        raise ValueError(f"Agent(output_retries=...) takes an int >= 0, not {output_retries!r}")
    if not isinstance(orchestration, bool | OrchestrationConfig):
        raise TypeError(f"Agent(orchestration=...) takes True or an OrchestrationConfig(...), not {orchestration!r}")


def _sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="loomflow-run-sync") as pool:
        return pool.submit(asyncio.run, coro).result()
