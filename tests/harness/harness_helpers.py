"""Helpers shared by the harness tests: a scripted model that records, counts and can hold child requests,
agents on a memory store with sequential ids, and traces of a run and its child runs."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from loomflow import Agent, HarnessCandidate, HarnessOutcome, HarnessRequest, MemoryStore, RunResult, sequential_ids
from loomflow.messages import ModelDelta, ModelRequest, ModelResponse
from loomflow.providers.scripted import ScriptedModel

#: a guard against a hung run (a held request that is never released), never a timing assertion
GUARD = 10.0
JUDGE = "You are a strict reviewer"


class ProbeModel:
    """A scripted model (``lanes=`` as ``Model.scripted``) that keeps every request it was sent, counts them
    by lane, and measures how many child-run requests (those with a lane) were in flight at once.

    With ``hold=k`` the first child requests wait until ``k`` of them are in flight together; later ones
    pass straight through. So a harness that runs its children concurrently reaches a peak of exactly its
    cap, and one that runs them one at a time hangs until ``GUARD`` and shows a peak of 1.
    """

    def __init__(
        self,
        responses: Sequence[Any],
        *,
        lanes: Mapping[str, Sequence[Any]] | None = None,
        hold: int = 0,
        block: Sequence[str] = (),
        name: str = "probe",
    ) -> None:
        self.script = ScriptedModel(responses, lanes=lanes, name=name)
        self.name = name
        self.requests: list[ModelRequest] = []
        self.active = 0
        self.peak = 0
        self.hold = hold
        self._released = asyncio.Event()
        #: lanes whose requests never return (a child cut off mid-call, for the crash tests)
        self.block = set(block)
        self.blocked = asyncio.Event()

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        lane = request.metadata.get("lane")
        if lane is None:
            return await self.script.request(request)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if lane in self.block:
                self.blocked.set()
                await asyncio.Event().wait()  # until cancelled
            if self.hold and not self._released.is_set():
                if self.active >= self.hold:
                    self._released.set()
                await asyncio.wait_for(self._released.wait(), GUARD)
            return await self.script.request(request)
        finally:
            self.active -= 1

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta | ModelResponse]:
        yield await self.request(request)

    def lanes(self) -> Counter[str | None]:
        """How many requests each lane sent (``None``: the top-level run)."""
        return Counter(r.metadata.get("lane") for r in self.requests)

    def sent(self, lane: str | None = None) -> list[ModelRequest]:
        return [r for r in self.requests if r.metadata.get("lane") == lane]

    def judged(self) -> list[ModelRequest]:
        """The judge's requests (quality gate, evaluator)."""
        return [r for r in self.requests if r.messages and JUDGE in r.messages[0].text]

    def generated(self, lane: str | None = None) -> list[ModelRequest]:
        """The generation requests of ``lane`` (not the judge's)."""
        return [r for r in self.sent(lane) if not (r.messages and JUDGE in r.messages[0].text)]


def text_of(request: ModelRequest) -> str:
    """Everything a request shows the model (texts, tool results, tool names), as one string."""
    texts = [m.text for m in request.messages] + [p.content for m in request.messages for p in m.tool_results]
    return "\n".join(texts) + "\n" + json.dumps([t.name for t in request.tools])


def make_agent(model: Any, **kwargs: Any) -> Agent:
    """An agent on a memory store with sequential run ids (override with keyword arguments)."""
    kwargs.setdefault("checkpoint_store", MemoryStore())
    kwargs.setdefault("ids", sequential_ids())
    return Agent(model, **kwargs)


def children_of(result: RunResult[Any]) -> list[str]:
    """The child run ids a run's candidates/steps recorded, in order."""
    return [c["run_id"] for c in result.state.candidates]


async def family_trace(agent: Agent, result: RunResult[Any], children: Sequence[tuple[str, str]] = ()) -> str:
    """The run's trace, then each child's trace under a heading naming its lane (no ids in the text)."""
    parts = [f"== {result.status}", result.trace.to_text()]
    for label, child_id in children:
        child = await agent.result(child_id)
        parts += [f"== child {label}: {child.status}", child.trace.to_text()]
    return "\n".join(parts)


async def events_of(agent: Agent, run_id: str, kind: str) -> list[dict[str, Any]]:
    """The data of the run's events of ``kind`` that this process saw."""
    return [e.data async for e in agent.interpreter.events(run_id) if e.kind == kind]


async def choose_best(request: HarnessRequest) -> HarnessOutcome:
    """The seed README's custom harness, unchanged."""
    baseline = await request.run_once()
    candidates = [
        HarnessCandidate(id="baseline", content=str(baseline["output"]), score=0.4, rationale="raw runtime output"),
        HarnessCandidate(
            id="expanded",
            content=f"{baseline['output']}\n\nChecked against release criteria.",
            score=0.9,
            rationale="application-specific evaluator preferred this candidate",
        ),
    ]
    return HarnessOutcome(output=candidates[1].content, candidates=candidates, selected_candidate_id="expanded")
