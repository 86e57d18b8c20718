"""A deterministic model for tests, examples, notebooks and the demo.

``Model.scripted(["hello", ToolCall("search", {"q": "x"}), "done"])``: response *n* answers model call *n*
of the run (the run's model-call index, carried in the request), never a FIFO cursor, so a fresh process
resumes a run against the same script correctly: calls already made are served from the journal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from loomflow.errors import ProviderError
from loomflow.messages import (
    Message,
    ModelDelta,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCall,
    ToolCallPart,
    Usage,
)

__all__ = ["ScriptExhausted", "ScriptedModel", "ScriptedResponse"]

ScriptedResponse: TypeAlias = (
    "str | ToolCall | Sequence[ToolCall] | ModelResponse | Callable[[ModelRequest], ScriptedResponse]"
)


class ScriptExhausted(ProviderError):
    """The run asked for more model calls than the script has."""


class ScriptedModel:
    """Answers model call *n* with ``responses[n]``.

    A response is a string (a final answer), one or several ``ToolCall`` (a tool-call turn), a complete
    ``ModelResponse``, or a function of the request returning any of those. Usage is estimated from
    characters (4 per token), so budgets behave as with a real model.

    >>> model = ScriptedModel(["hi"])
    >>> model.unused()
    [0]
    """

    def __init__(
        self,
        responses: Sequence[Any],
        *,
        name: str = "scripted",
        chunk: int = 0,
        lanes: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        self.responses = _script(responses)
        #: scripts for child runs by lane (``candidate-0``, ``attempt-1``, ``delegate-0``...); a child whose
        #: lane has no script of its own reads the main script from its own call 0
        self.lanes = {k: _script(v, lane=k) for k, v in (lanes or {}).items()}
        self._name = name
        self.chunk = chunk
        self._requested: set[tuple[str | None, int]] = set()
        self._cursor = 0

    @property
    def name(self) -> str:
        return self._name

    def unused(self, lane: str | None = None) -> list[int]:
        """Indexes of the (main or ``lane``'s) responses no request asked for (in this process)."""
        script = self.responses if lane is None else self.lanes[lane]
        return [i for i in range(len(script)) if (lane, i) not in self._requested]

    def assert_all_used(self) -> None:
        """Fail loudly when responses were left over: the script and the run disagree."""
        left = {lane: self.unused(lane) for lane in [None, *self.lanes]}
        left = {lane: idx for lane, idx in left.items() if idx}
        if left:
            raise AssertionError(f"scripted responses never requested, by lane: {left}")

    def _index(self, request: ModelRequest) -> int:
        index = request.metadata.get("call_index")
        if index is None:  # used directly, outside a run: a plain cursor
            index = self._cursor
            self._cursor += 1
        return int(index)

    async def request(self, request: ModelRequest) -> ModelResponse:
        index = self._index(request)
        lane = request.metadata.get("lane")
        key = lane if lane in self.lanes else None
        script = self.responses if key is None else self.lanes[key]
        if index >= len(script):
            where = f"lane {key!r}'s script" if key is not None else "the script"
            raise ScriptExhausted(
                f"{where} has {len(script)} response(s) but the run asked for model call #{index} (0-based); "
                f"add responses to Model.scripted([...])"
            )
        self._requested.add((key, index))
        return _response(script[index], request, index, self.name)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta | ModelResponse]:
        response = await self.request(request)
        text = response.message.text
        size = self.chunk or max(len(text), 1)
        for start in range(0, len(text), size):
            yield ModelDelta(kind="text", text=text[start : start + size])
        yield response

    def __repr__(self) -> str:
        return f"ScriptedModel({len(self.responses)} responses)"


def _script(responses: Sequence[Any], lane: str | None = None) -> list[Any]:
    """The responses as a list, each checked now: a wrong one would otherwise fail only when its call came."""
    if isinstance(responses, str):  # a str is a sequence too: each character would answer one call
        fix = f"Model.scripted([{responses!r}])" if lane is None else f"lanes={{{lane!r}: [{responses!r}]}}"
        raise TypeError(f"a script is a list of responses, not one string; write {fix}")
    script = list(responses)
    for index, item in enumerate(script):
        if not callable(item):  # what a function returns is checked when it answers
            _tool_calls(item, index if lane is None else f"{index} of lane {lane!r}")
    return script


def _tool_calls(item: Any, index: int | str) -> list[ToolCall]:
    """The tool calls a response stands for (none for a text answer or a ModelResponse); raises for a
    response of no accepted type."""
    if isinstance(item, str | ModelResponse):
        return []
    calls = [item] if isinstance(item, ToolCall) else list(item) if isinstance(item, list | tuple) else []
    if not calls or not all(isinstance(c, ToolCall) for c in calls):
        raise TypeError(
            f"scripted response #{index} must be a string, ToolCall(s), a ModelResponse or a function; got {item!r}"
        )
    return calls


def _response(item: Any, request: ModelRequest, index: int, name: str) -> ModelResponse:
    if callable(item) and not isinstance(item, ToolCall):
        item = item(request)
    if isinstance(item, ModelResponse):
        return item
    if isinstance(item, str):
        message = Message(role="assistant", parts=(TextPart(text=item),))
        finish: Literal["stop", "tool_calls"] = "stop"
    else:
        calls = _tool_calls(item, index)
        parts = tuple(
            ToolCallPart(id=c.id or f"call_{index}_{j}", name=c.name, arguments=c.arguments)
            for j, c in enumerate(calls)
        )
        message = Message(role="assistant", parts=parts)
        finish = "tool_calls"
    sent = sum(m.chars() for m in request.messages) + sum(len(t.description) + 40 for t in request.tools)
    usage = Usage(input_tokens=sent // 4 + 1, output_tokens=message.chars() // 4 + 1)
    return ModelResponse(
        message=message, usage=usage, finish_reason=finish, model=name, response_id=f"scripted-{index}"
    )
