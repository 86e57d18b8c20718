"""What a fake provider is scripted with, what it records, and what it sends back.

A script is a queue of items, one per model request: a ``Turn`` (a provider-neutral answer, rendered into
whichever wire format the request used), a ``Fail`` (an HTTP error in the provider's error shape), a plain
string (a text answer), or a function of the ``Received`` request returning one of those.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

__all__ = ["Fail", "Item", "Received", "Reply", "ToolUse", "Turn"]


@dataclasses.dataclass(frozen=True)
class ToolUse:
    """A tool call in a scripted turn. ``arguments`` as a string is sent verbatim (malformed JSON too)."""

    name: str
    arguments: Mapping[str, Any] | str = dataclasses.field(default_factory=dict)
    id: str | None = None

    def raw(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(dict(self.arguments))


@dataclasses.dataclass(frozen=True)
class Turn:
    """One scripted answer.

    Content: ``text``, ``tool_calls`` (parallel when several), ``thinking`` (+ ``signature``; Anthropic
    thinking block, Responses reasoning item, ``reasoning_content`` on Chat), ``redacted_thinking``.
    ``stop`` defaults to ``"tool_calls"`` when there are calls, else ``"stop"``. Usage: ``input_tokens``
    counts every prompt token (cache reads and writes included) and defaults to a size estimate.

    Faults (streaming): ``error_after=n`` sends the provider's mid-stream error event after *n* events;
    ``drop_after=n`` closes the connection after *n* events (0 also works without streaming);
    ``delay`` waits that many seconds before each event. ``chunk`` splits text and tool JSON into pieces of
    that many characters.
    """

    text: str = ""
    tool_calls: Sequence[ToolUse] = ()
    thinking: str | None = None
    signature: str = "sig_fake"
    redacted_thinking: str | None = None
    stop: Literal["stop", "tool_calls", "length", "content_filter"] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    chunk: int = 5
    error_after: int | None = None
    error_type: str | None = None
    error_message: str = "Overloaded"
    drop_after: int | None = None
    delay: float = 0.0
    model: str | None = None

    @property
    def finish(self) -> str:
        return self.stop or ("tool_calls" if self.tool_calls else "stop")

    def pieces(self, text: str) -> list[str]:
        size = max(self.chunk, 1)
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]

    def usage(self, body_size: int) -> tuple[int, int]:
        """(input tokens, output tokens): scripted, or estimated at 4 characters a token."""
        out = len(self.text) + sum(len(c.raw()) for c in self.tool_calls) + len(self.thinking or "")
        return (
            self.input_tokens if self.input_tokens is not None else body_size // 4 + 1,
            self.output_tokens if self.output_tokens is not None else out // 4 + 1,
        )


@dataclasses.dataclass(frozen=True)
class Fail:
    """An HTTP error in the provider's shape; ``type`` defaults by status (``rate_limit_error`` for 429...)."""

    status: int
    message: str = "scripted failure"
    type: str | None = None
    code: str | None = None
    retry_after: float | str | None = None
    retry_after_ms: int | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        if self.retry_after is not None:
            out["retry-after"] = str(self.retry_after)
        if self.retry_after_ms is not None:
            out["retry-after-ms"] = str(self.retry_after_ms)
        return out


@dataclasses.dataclass(frozen=True)
class Received:
    """One request the fake received: method, path, headers (lower-case names) and the JSON body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    dialect: str

    @property
    def api_key(self) -> str | None:
        bearer = self.headers.get("authorization", "")
        return self.headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else None)


Item: TypeAlias = "Turn | Fail | str | Callable[[Received], Turn | Fail | str]"


@dataclasses.dataclass
class Reply:
    """What the fake sends: a status, headers, and the body in chunks (one SSE event a chunk)."""

    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    chunks: list[bytes] = dataclasses.field(default_factory=list)
    sse: bool = False
    drop_after: int | None = None
    delay: float = 0.0

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(
            status=status,
            headers={"content-type": "application/json", **(headers or {})},
            chunks=[json.dumps(payload).encode()],
        )

    @classmethod
    def events(cls, chunks: list[bytes], turn: Turn, error_event: bytes | None) -> Reply:
        """An SSE reply with the turn's faults applied."""
        if turn.error_after is not None and error_event is not None:
            chunks = [*chunks[: turn.error_after], error_event]
        return cls(
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
            chunks=chunks,
            sse=True,
            drop_after=turn.drop_after,
            delay=turn.delay,
        )


def sse(event: str | None, data: Any) -> bytes:
    """One server-sent event; ``event=None`` for Chat Completions' data-only frames."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
