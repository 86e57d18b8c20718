"""Messages and the provider protocol's records (CONTRACTS: "Messages and the provider protocol").

A ``Message`` has a role and a list of parts; every provider adapter translates these to and from its
wire format. ``ThinkingPart`` is opaque and goes back unchanged to the provider that made it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FilePart",
    "ImagePart",
    "Message",
    "ModelDelta",
    "ModelRequest",
    "ModelResponse",
    "Part",
    "TextPart",
    "ThinkingPart",
    "ToolCall",
    "ToolCallPart",
    "ToolResultPart",
    "ToolSpec",
    "Usage",
]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class TextPart(_Record):
    type: Literal["text"] = "text"
    text: str


class ToolCallPart(_Record):
    """A tool call the model made. ``raw_arguments`` keeps the model's text when it was not valid JSON."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None


class ToolResultPart(_Record):
    type: Literal["tool_result"] = "tool_result"
    call_id: str
    content: str
    is_error: bool = False


class ThinkingPart(_Record):
    """Provider reasoning, kept opaque and sent back unchanged to the provider that made it."""

    type: Literal["thinking"] = "thinking"
    provider: str
    data: str
    signature: str | None = None


class ImagePart(_Record):
    type: Literal["image"] = "image"
    media_type: str
    data: str | None = None
    uri: str | None = None


class FilePart(_Record):
    type: Literal["file"] = "file"
    media_type: str
    data: str | None = None
    uri: str | None = None


Part = TextPart | ToolCallPart | ToolResultPart | ThinkingPart | ImagePart | FilePart


class Message(_Record):
    """One message of a conversation.

    >>> Message.user("hi").text
    'hi'
    """

    role: Literal["system", "user", "assistant", "tool"]
    parts: tuple[Part, ...] = ()

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", parts=(TextPart(text=text),))

    @classmethod
    def system(cls, text: str) -> Message:
        return cls(role="system", parts=(TextPart(text=text),))

    @classmethod
    def assistant(cls, text: str = "", tool_calls: tuple[ToolCallPart, ...] = ()) -> Message:
        parts: tuple[Part, ...] = ((TextPart(text=text),) if text else ()) + tool_calls
        return cls(role="assistant", parts=parts)

    @classmethod
    def tool_result(cls, call_id: str, content: str, *, is_error: bool = False) -> Message:
        return cls(role="tool", parts=(ToolResultPart(call_id=call_id, content=content, is_error=is_error),))

    @property
    def text(self) -> str:
        """The text parts joined."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> tuple[ToolCallPart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ToolCallPart))

    @property
    def tool_results(self) -> tuple[ToolResultPart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ToolResultPart))

    def chars(self) -> int:
        """Size for local token estimates."""
        total = 0
        for p in self.parts:
            if isinstance(p, TextPart):
                total += len(p.text)
            elif isinstance(p, ToolCallPart):
                total += len(p.name) + len(p.raw_arguments or str(p.arguments))
            elif isinstance(p, ToolResultPart):
                total += len(p.content)
            elif isinstance(p, ThinkingPart):
                total += len(p.data)
            else:
                total += 1000  # images and files: a flat estimate
        return total


@dataclasses.dataclass(frozen=True)
class ToolCall:
    """A tool call for a scripted model's turn: ``ToolCall("search", {"q": "x"})``."""

    name: str
    arguments: dict[str, Any] = dataclasses.field(default_factory=dict)
    id: str | None = None


class ToolSpec(_Record):
    """What the model is told about one tool."""

    name: str
    description: str
    parameters: dict[str, Any]


class Usage(_Record):
    """Normalised usage of one model call. ``cost`` is ``None`` when the model has no known price."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    latency_s: float = 0.0
    cost: float | None = None

    def counts(self) -> dict[str, float | int | None]:
        return self.model_dump()


class ModelRequest(_Record):
    """One request to a model. ``metadata`` carries the run id and the run's model-call index."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    generation: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ModelResponse(_Record):
    message: Message
    usage: Usage = Field(default_factory=Usage)
    finish_reason: Literal["stop", "tool_calls", "length", "content_filter", "error"] = "stop"
    model: str = ""
    response_id: str | None = None


class ModelDelta(_Record):
    """A streamed piece of a response: text, tool-call input, or thinking."""

    kind: Literal["text", "tool_input", "thinking"] = "text"
    text: str = ""
    call_id: str | None = None
