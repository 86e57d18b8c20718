"""Helpers shared by the agent tests: a model that records what it was asked, and request checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from loomflow import Agent, MemoryStore, sequential_ids
from loomflow.messages import Message, ModelDelta, ModelRequest, ModelResponse, ToolCallPart, ToolResultPart
from loomflow.providers.scripted import ScriptedModel

SUMMARY_PROMPT = "Summarise the work so far"


class RecordingModel:
    """A model provider that answers from a ``ScriptedModel`` and keeps every request it was sent.

    Responses follow the scripted model's rules: model call *n* of the run gets ``responses[n]``, and a
    response may be a function of the request (``lambda req: ...``).
    """

    def __init__(self, responses: Sequence[Any], *, name: str = "recording", chunk: int = 0) -> None:
        self.script = ScriptedModel(responses, name=name, chunk=chunk)
        self.name = name
        self.requests: list[ModelRequest] = []

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        return await self.script.request(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta | ModelResponse]:
        self.requests.append(request)
        async for item in self.script.stream(request):
            yield item

    def unused(self) -> list[int]:
        return self.script.unused()

    def run_requests(self) -> list[ModelRequest]:
        """The requests of the run's own turns (not the summaries the renewal node asked for)."""
        return [r for r in self.requests if not is_summary_request(r)]


def is_summary_request(request: ModelRequest) -> bool:
    first = request.messages[0] if request.messages else None
    return first is not None and first.role == "system" and SUMMARY_PROMPT in first.text


def make_agent(model: Any, **kwargs: Any) -> Agent:
    """An agent on a memory store with sequential run ids (override with keyword arguments)."""
    kwargs.setdefault("checkpoint_store", MemoryStore())
    kwargs.setdefault("ids", sequential_ids())
    return Agent(model, **kwargs)


def roles_and_texts(request: ModelRequest) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in request.messages]


def system_text(request: ModelRequest) -> str:
    return "\n".join(m.text for m in request.messages if m.role == "system")


def tool_results(messages: Sequence[Message]) -> list[ToolResultPart]:
    return [p for m in messages for p in m.tool_results]


def tool_calls(messages: Sequence[Message]) -> list[ToolCallPart]:
    return [p for m in messages for p in m.tool_calls]


def result_texts(messages: Sequence[Message]) -> dict[str, str]:
    """Tool results by call id."""
    return {p.call_id: p.content for p in tool_results(messages)}


def pairing_problems(messages: Sequence[Message]) -> list[str]:
    """Every tool call must be answered later by exactly one result, and every result must follow its call."""
    problems = []
    called: set[str] = set()
    answered: set[str] = set()
    for i, msg in enumerate(messages):
        for part in msg.parts:
            if isinstance(part, ToolCallPart):
                if part.id in called:
                    problems.append(f"message {i}: call id {part.id!r} used twice")
                called.add(part.id)
            elif isinstance(part, ToolResultPart):
                if part.call_id not in called:
                    problems.append(f"message {i}: result for {part.call_id!r} has no call before it")
                if part.call_id in answered:
                    problems.append(f"message {i}: call {part.call_id!r} answered twice")
                answered.add(part.call_id)
    problems += [f"call {c!r} has no result" for c in sorted(called - answered)]
    return problems
