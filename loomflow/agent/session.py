"""Sessions: runs that continue one conversation, and handles on runs in progress.

session = agent.session(SessionConfig(id="demo-user"))
first = await session.run("List three qualities of a good API")
second = await session.run("Summarise the previous answer in one sentence")   # sees the first turn

run = session.start("Inspect the project layout")
async for event in run.events():
    print(event.type, event.payload)
result = await run.wait()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from loomflow.agent.config import RunContext, RuntimeTask
from loomflow.agent.signals import RuntimeSignal
from loomflow.agent.state import AgentState
from loomflow.events import Event
from loomflow.execution import Execution
from loomflow.interpreter import RunResult
from loomflow.messages import Message

if TYPE_CHECKING:
    from loomflow.agent.agent import Agent

__all__ = ["RunHandle", "Session", "SessionConfig"]


class SessionConfig(BaseModel):
    """Names a session; its runs share a transcript (restored by ``Runtime.session_restore``)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class RunHandle:
    """A run started in the background: stream its ``events()``, ``wait()`` for its result."""

    def __init__(self, agent: Agent, starting: Coroutine[Any, Any, Execution]) -> None:
        self._agent = agent
        self._exe: asyncio.Task[Execution] = asyncio.get_running_loop().create_task(starting)
        self._result: asyncio.Task[RunResult[AgentState]] | None = None

    async def _execution(self) -> Execution:
        exe = await self._exe
        if self._result is None:
            self._result = asyncio.get_running_loop().create_task(self._agent._drive(exe))
        return exe

    async def started(self) -> str:
        """The run's id once the run exists; raises what kept it from starting (a taken run id, say)."""
        return (await self._execution()).run_id

    @property
    def run_id(self) -> str | None:
        """The run id, once the run has been created."""
        return self._exe.result().run_id if self._exe.done() and not self._exe.exception() else None

    async def events(self, after: int = 0) -> AsyncIterator[Event]:
        """Events with a seq greater than ``after``, live, until the run pauses or ends."""
        exe = await self._execution()
        async for event in exe.events.follow(after):
            yield event

    async def wait(self) -> RunResult[AgentState]:
        await self._execution()
        assert self._result is not None
        return await self._result

    async def artifacts(self) -> tuple[dict[str, Any], ...]:
        """What the run's tools saved as artifacts (name, media type, content, call id)."""
        return (await self.wait()).state.artifacts


class Session:
    """A conversation of runs. The session stores only which runs belong to it; its transcript is read
    from those runs' checkpoints, and nothing of one session is visible to another."""

    def __init__(self, agent: Agent, config: SessionConfig) -> None:
        self.agent = agent
        self.config = config
        self.id = config.id

    async def run(
        self, task: str | RuntimeTask, *, context: RunContext | None = None, run_id: str | None = None
    ) -> RunResult[AgentState]:
        return await self.agent.run(task, context=context, run_id=run_id, session_id=self.id)

    def start(
        self, task: str | RuntimeTask, *, context: RunContext | None = None, run_id: str | None = None
    ) -> RunHandle:
        return self.agent.start(task, context=context, run_id=run_id, session_id=self.id)

    async def stream(self, task: str | RuntimeTask, *, context: RunContext | None = None) -> AsyncIterator[Event]:
        async for event in self.agent.stream(task, context=context, session_id=self.id):
            yield event

    async def receive(self, signal: RuntimeSignal, *, run: bool = False) -> RunResult[AgentState] | bool:
        """Queue an external signal for the session's next run (which shows it in its dashboard).

        Returns ``False`` for a duplicate (same ``dedupe_key``), else ``True``; with ``run=True`` it starts
        that run at once, with the signal's summary as the task, and returns its result.
        """
        store = self.agent.session_store
        await store.ensure_session(self.id, signal.created_at)
        fresh = await store.add_signal(self.id, signal.dedupe_key, signal.model_dump(mode="json"))
        if run and fresh:
            return await self.run(signal.summary)
        return fresh

    async def runs(self) -> list[str]:
        """The session's run ids, oldest first."""
        return await self.agent.session_store.runs(self.id)

    async def transcript(self) -> list[Message]:
        """Every user turn and answer of the session so far, oldest first."""
        out: list[Message] = []
        for run_id in await self.runs():
            out += (await self.agent._turns(run_id))[0]
        return out

    async def usage(self) -> dict[str, float]:
        """Usage summed over every run of the session."""
        total: dict[str, float] = {}
        for run_id in await self.runs():
            for key, value in (await self.agent.result(run_id)).usage.items():
                total[key] = total.get(key, 0) + value
        return total

    async def events(self, run_id: str, after: int = 0) -> list[Event]:
        """Stored events of one of the session's runs (kept when the run paused or ended)."""
        return await self.agent.session_store.events(run_id, after)

    def __repr__(self) -> str:
        return f"<Session {self.id!r} of {self.agent.name!r}>"
