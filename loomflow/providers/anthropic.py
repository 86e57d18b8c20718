"""Claude through the Anthropic Messages API, on the official ``anthropic`` client (imported on first use).

    model = Model.anthropic("claude-sonnet-4-5", thinking=2048, cache=True)

Messages become Messages-API content blocks and back: system messages join into ``system``; tool calls
are ``tool_use`` blocks; tool results go back in a user turn as ``tool_result`` blocks; thinking blocks come
back as ``ThinkingPart(provider="anthropic", data=thinking, signature=...)`` and are sent back unchanged (a
``redacted_thinking`` block is a ``ThinkingPart`` with ``signature=None`` whose ``data`` is the encrypted
blob). Every call streams; the response is assembled from the stream. ``input_tokens`` in the ``Usage``
counts cached tokens too (Anthropic reports them apart), so it is the size of the prompt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from loomflow.messages import (
    FilePart,
    ImagePart,
    Message,
    ModelDelta,
    ModelRequest,
    ModelResponse,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from loomflow.providers import errors as e
from loomflow.providers._http import SDKModel, Spent, parse_arguments

__all__ = ["AnthropicModel", "to_anthropic"]

Thinking = int | Literal["adaptive"] | Mapping[str, Any] | None
Finish = Literal["stop", "tool_calls", "length", "content_filter", "error"]

_FINISH: dict[str, Finish] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}
_EPHEMERAL = {"type": "ephemeral"}


class AnthropicModel(SDKModel):
    """A Claude model. Build it with ``Model.anthropic(name, ...)``; the key is read at the first call."""

    provider = "anthropic"
    price_table = "anthropic"
    sdk_module = "anthropic"
    client_class = "AsyncAnthropic"

    def __init__(
        self,
        model: str,
        *,
        api_key_env: str | None = "ANTHROPIC_API_KEY",
        thinking: Thinking = None,
        cache: bool = False,
        max_tokens: int = 4096,
        **common: Any,
    ) -> None:
        super().__init__(model, api_key_env=api_key_env, **common)
        self.thinking = thinking
        self.cache = cache
        self.max_tokens = max_tokens

    def params(self, request: ModelRequest) -> dict[str, Any]:
        """The keyword arguments of ``messages.create`` for ``request`` (streaming)."""
        return to_anthropic(
            request, model=self.model, max_tokens=self.max_tokens, thinking=self.thinking, cache=self.cache
        )

    async def _attempt(
        self, client: Any, request: ModelRequest, spent: Spent
    ) -> AsyncIterator[ModelDelta | ModelResponse]:
        stream = await client.messages.create(**self.params(request))
        assembly = _Assembly(self.model)
        try:
            async for event in stream:
                delta = assembly.feed(event.to_dict(mode="json"))
                spent.usage = assembly.usage()
                if delta is not None:
                    yield delta
        finally:
            await stream.close()
        if not assembly.stopped:
            raise self.error(e.ProviderUnavailable, "the stream ended before message_stop (connection cut?)")
        yield assembly.response()


def to_anthropic(
    request: ModelRequest,
    *,
    model: str,
    max_tokens: int = 4096,
    thinking: Thinking = None,
    cache: bool = False,
) -> dict[str, Any]:
    """A ``ModelRequest`` as Messages-API parameters."""
    gen = dict(request.generation)
    extra: dict[str, Any] = {}
    params: dict[str, Any] = {"model": model, "messages": _messages(request.messages), "stream": True}
    limit = int(gen.pop("max_output_tokens", None) or max_tokens)
    if thinking is not None:
        if isinstance(thinking, int):
            params["thinking"] = {"type": "enabled", "budget_tokens": thinking}
            limit += thinking  # thinking counts toward max_tokens: the budget comes on top of the answer's
        elif thinking == "adaptive":
            params["thinking"] = {"type": "adaptive"}
        else:
            params["thinking"] = dict(thinking)
    params["max_tokens"] = limit
    system = "\n\n".join(m.text for m in request.messages if m.role == "system" and m.text)
    if system:
        params["system"] = [{"type": "text", "text": system, "cache_control": _EPHEMERAL}] if cache else system
    if request.tools:
        tools: list[dict[str, Any]] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools
        ]
        if cache:
            tools[-1]["cache_control"] = _EPHEMERAL
        params["tools"] = tools
    if stop := gen.pop("stop", None):
        params["stop_sequences"] = list(stop)
    if request.output_schema is not None:
        params["output_config"] = {"format": {"type": "json_schema", "schema": request.output_schema}}
    extra.update(gen)  # temperature, top_p and anything else: sent as given
    if extra:
        params["extra_body"] = extra
    return params


def _messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "system":
            continue
        role = "assistant" if msg.role == "assistant" else "user"
        blocks = [b for p in msg.parts if (b := _block(p)) is not None]
        if not blocks:
            continue
        if out and out[-1]["role"] == role:  # tool results then a user turn: one user message
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def _source(part: ImagePart | FilePart) -> dict[str, Any]:
    if part.uri is not None:
        return {"type": "url", "url": part.uri}
    return {"type": "base64", "media_type": part.media_type, "data": part.data or ""}


def _block(part: Part) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text.strip() else None
    if isinstance(part, ToolCallPart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": part.arguments}
    if isinstance(part, ToolResultPart):
        return {"type": "tool_result", "tool_use_id": part.call_id, "content": part.content, "is_error": part.is_error}
    if isinstance(part, ThinkingPart):
        if part.provider != "anthropic":
            return None  # another provider's reasoning means nothing to Claude
        if part.signature is None:
            return {"type": "redacted_thinking", "data": part.data}
        return {"type": "thinking", "thinking": part.data, "signature": part.signature}
    if isinstance(part, ImagePart):
        return {"type": "image", "source": _source(part)}
    return {"type": "document", "source": _source(part)}


class _Assembly:
    """Builds the ``ModelResponse`` from raw stream events, yielding a delta per text/JSON/thinking piece."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id: str | None = None
        self.blocks: dict[int, dict[str, Any]] = {}
        self.wire_usage: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self.stopped = False

    def feed(self, event: dict[str, Any]) -> ModelDelta | None:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = message.get("id")
            self.model = message.get("model") or self.model
            self.wire_usage.update({k: v for k, v in (message.get("usage") or {}).items() if v is not None})
        elif kind == "content_block_start":
            block = dict(event.get("content_block") or {})
            block.setdefault("text", "")
            block["json"] = ""
            self.blocks[int(event["index"])] = block
        elif kind == "content_block_delta":
            return self._delta(self.blocks.get(int(event["index"])), event.get("delta") or {})
        elif kind == "message_delta":
            self.stop_reason = (event.get("delta") or {}).get("stop_reason") or self.stop_reason
            # cumulative: a later value replaces an earlier one
            self.wire_usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.stopped = True
        return None

    def _delta(self, block: dict[str, Any] | None, delta: dict[str, Any]) -> ModelDelta | None:
        if block is None:
            return None
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] += delta.get("text", "")
            return ModelDelta(kind="text", text=delta.get("text", ""))
        if kind == "input_json_delta":
            block["json"] += delta.get("partial_json", "")
            return ModelDelta(kind="tool_input", text=delta.get("partial_json", ""), call_id=block.get("id"))
        if kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            return ModelDelta(kind="thinking", text=delta.get("thinking", ""))
        if kind == "signature_delta":
            block["signature"] = block.get("signature", "") + delta.get("signature", "")
        return None

    def usage(self) -> Usage:
        u = self.wire_usage
        read = int(u.get("cache_read_input_tokens") or 0)
        write = int(u.get("cache_creation_input_tokens") or 0)
        return Usage(
            input_tokens=int(u.get("input_tokens") or 0) + read + write,
            output_tokens=int(u.get("output_tokens") or 0),
            cache_read_tokens=read,
            cache_write_tokens=write,
        )

    def response(self) -> ModelResponse:
        parts: list[Part] = []
        for _, block in sorted(self.blocks.items()):
            kind = block.get("type")
            if kind == "text" and block["text"].strip():
                parts.append(TextPart(text=block["text"]))
            elif kind == "thinking":
                parts.append(
                    ThinkingPart(
                        provider="anthropic", data=block.get("thinking", ""), signature=block.get("signature") or ""
                    )
                )
            elif kind == "redacted_thinking":
                parts.append(ThinkingPart(provider="anthropic", data=block.get("data", ""), signature=None))
            elif kind == "tool_use":
                raw = block["json"]
                arguments, bad = parse_arguments(raw) if raw else (dict(block.get("input") or {}), None)
                parts.append(ToolCallPart(id=block["id"], name=block["name"], arguments=arguments, raw_arguments=bad))
        return ModelResponse(
            message=Message(role="assistant", parts=tuple(parts)),
            usage=self.usage(),
            finish_reason=_FINISH.get(self.stop_reason or "", "stop"),
            model=self.model,
            response_id=self.id,
        )
