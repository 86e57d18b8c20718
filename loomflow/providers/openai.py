"""OpenAI models (Chat Completions or the Responses API) and OpenAI-compatible servers, on the official
``openai`` client (imported on first use).

    Model.openai("gpt-5.4")                          # Chat Completions
    Model.openai("gpt-5.4", api="responses")         # the Responses API
    Model.openai_compatible("qwen3", base_url="http://localhost:11434/v1")   # Ollama, vLLM, DeepSeek...

Tool calls are function calls; arguments that are not a JSON object keep the model's text in
``raw_arguments`` with empty ``arguments``, so tool dispatch can tell the model. ``output_schema`` becomes
``response_format`` (Chat) or ``text.format`` (Responses), strict when the schema forbids additional
properties. Responses-API reasoning items come back as ``ThinkingPart(provider="openai", data=<item JSON>)``
and are sent back unchanged; the plain-text reasoning some Chat Completions servers stream
(``reasoning_content``) is kept too, but is not a reasoning item, so the Responses API is never sent it. The
Responses API has no stop sequences: ``Generation.stop`` is not sent there.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
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

__all__ = ["OpenAIModel", "to_chat", "to_responses"]

API = Literal["chat", "responses"]
Finish = Literal["stop", "tool_calls", "length", "content_filter", "error"]
_FINISH: dict[str, Finish] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def _reasoning_item(data: str) -> dict[str, Any] | None:
    """A stored Responses reasoning item, or None for anything else (such as Chat reasoning text)."""
    try:
        item = json.loads(data)
    except ValueError:
        return None
    return item if isinstance(item, dict) and item.get("type") == "reasoning" else None


class OpenAIModel(SDKModel):
    """An OpenAI (or OpenAI-compatible) model; build it with ``Model.openai`` / ``Model.openai_compatible``."""

    provider = "openai"
    price_table = "openai"
    sdk_module = "openai"
    client_class = "AsyncOpenAI"

    def __init__(
        self,
        model: str,
        *,
        api: API = "chat",
        api_key_env: str | None = "OPENAI_API_KEY",
        compatible: bool = False,
        **common: Any,
    ) -> None:
        if api not in ("chat", "responses"):
            raise ValueError(f"api must be 'chat' or 'responses', not {api!r}")
        if compatible:
            self.provider, self.price_table = "openai-compatible", ""
        super().__init__(model, api_key_env=api_key_env, key_optional=compatible, **common)
        self.api: API = api
        self.compatible = compatible

    @property
    def name(self) -> str:
        return f"{self.provider}{'-responses' if self.api == 'responses' else ''}:{self.model}"

    def params(self, request: ModelRequest) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` / ``responses.create`` (streaming)."""
        if self.api == "responses":
            return to_responses(request, model=self.model)
        return to_chat(request, model=self.model, legacy_max_tokens=self.compatible)

    async def _attempt(
        self, client: Any, request: ModelRequest, spent: Spent
    ) -> AsyncIterator[ModelDelta | ModelResponse]:
        params = self.params(request)
        if self.api == "responses":
            stream = await client.responses.create(**params)
            assembly: _Chat | _Responses = _Responses(self)
        else:
            stream = await client.chat.completions.create(**params)
            assembly = _Chat(self)
        try:
            async for event in stream:
                for delta in assembly.feed(event.to_dict(mode="json")):
                    yield delta
                spent.usage = assembly.usage()
        finally:
            await stream.close()
        yield assembly.response()


# ---------------------------------------------------------------------- requests
def _schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", str(schema.get("title") or "output"))[:64]
    return {"name": name, "schema": schema, "strict": schema.get("additionalProperties") is False}


def _arguments(call: ToolCallPart) -> str:
    return call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)


def _data_url(part: ImagePart | FilePart) -> str:
    return part.uri or f"data:{part.media_type};base64,{part.data or ''}"


def _generation(request: ModelRequest, params: dict[str, Any], max_key: str, *, stop: bool) -> None:
    gen = dict(request.generation)
    if (limit := gen.pop("max_output_tokens", None)) is not None:
        params[max_key] = limit
    for key in ("temperature", "top_p"):
        if key in gen:
            params[key] = gen.pop(key)
    if (sequences := gen.pop("stop", None)) and stop:
        params["stop"] = list(sequences)
    if gen:
        params["extra_body"] = gen


def to_chat(request: ModelRequest, *, model: str, legacy_max_tokens: bool = False) -> dict[str, Any]:
    """A ``ModelRequest`` as Chat Completions parameters."""
    messages: list[dict[str, Any]] = []
    for msg in request.messages:
        if msg.role == "system":
            messages.append({"role": "system", "content": msg.text})
        elif msg.role == "assistant":
            out: dict[str, Any] = {"role": "assistant", "content": msg.text or None}
            if calls := msg.tool_calls:
                out["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _arguments(c)}}
                    for c in calls
                ]
            if out["content"] is not None or calls:
                messages.append(out)
        else:
            for r in msg.tool_results:
                messages.append({"role": "tool", "tool_call_id": r.call_id, "content": r.content})
            rest = [p for p in msg.parts if not isinstance(p, ToolResultPart | ThinkingPart)]
            if rest:
                messages.append({"role": "user", "content": _chat_content(rest)})
    params: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        params["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in request.tools
        ]
    if request.output_schema is not None:
        params["response_format"] = {"type": "json_schema", "json_schema": _schema_format(request.output_schema)}
    _generation(request, params, "max_tokens" if legacy_max_tokens else "max_completion_tokens", stop=True)
    return params


def _chat_content(parts: Sequence[Part]) -> str | list[dict[str, Any]]:
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, ImagePart):
            out.append({"type": "image_url", "image_url": {"url": _data_url(p)}})
        elif isinstance(p, FilePart):
            out.append({"type": "file", "file": {"file_data": _data_url(p)}})
    return out


def to_responses(request: ModelRequest, *, model: str) -> dict[str, Any]:
    """A ``ModelRequest`` as Responses-API parameters."""
    items: list[dict[str, Any]] = []
    for msg in request.messages:
        if msg.role == "system":
            continue
        content: list[dict[str, Any]] = []
        for p in msg.parts:
            if isinstance(p, ToolResultPart):
                items.append({"type": "function_call_output", "call_id": p.call_id, "output": p.content})
            elif isinstance(p, ToolCallPart):
                items.append({"type": "function_call", "call_id": p.id, "name": p.name, "arguments": _arguments(p)})
            elif isinstance(p, ThinkingPart):
                if p.provider == "openai" and (item := _reasoning_item(p.data)) is not None:
                    items.append(item)
            elif msg.role == "assistant" and isinstance(p, TextPart):
                if p.text:
                    items.append({"role": "assistant", "content": p.text})
            elif isinstance(p, TextPart):
                content.append({"type": "input_text", "text": p.text})
            elif isinstance(p, ImagePart):
                content.append({"type": "input_image", "image_url": _data_url(p)})
            elif isinstance(p, FilePart):
                content.append({"type": "input_file", "file_data": _data_url(p)})
        if content:
            items.append({"role": "user", "content": content})
    params: dict[str, Any] = {"model": model, "input": items, "stream": True}
    instructions = "\n\n".join(m.text for m in request.messages if m.role == "system" and m.text)
    if instructions:
        params["instructions"] = instructions
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
                "strict": False,
            }
            for t in request.tools
        ]
    if request.output_schema is not None:
        params["text"] = {"format": {"type": "json_schema", **_schema_format(request.output_schema)}}
    _generation(request, params, "max_output_tokens", stop=False)
    return params


# ---------------------------------------------------------------------- responses
def _int(value: Any) -> int:
    return int(value or 0)


class _Chat:
    """Assembles a Chat Completions stream."""

    def __init__(self, owner: OpenAIModel) -> None:
        self.owner = owner
        self.id: str | None = None
        self.model = owner.model
        self.text = ""
        self.refusal = ""
        self.reasoning = ""
        self.calls: dict[int, dict[str, str]] = {}
        self.finish: str | None = None
        self.wire_usage: dict[str, Any] = {}

    def feed(self, chunk: dict[str, Any]) -> list[ModelDelta]:
        self.id = chunk.get("id") or self.id
        self.model = chunk.get("model") or self.model
        self.wire_usage = chunk.get("usage") or self.wire_usage
        out: list[ModelDelta] = []
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if text := delta.get("content"):
                self.text += text
                out.append(ModelDelta(kind="text", text=text))
            if refusal := delta.get("refusal"):
                self.refusal += refusal
                out.append(ModelDelta(kind="text", text=refusal))
            if thought := delta.get("reasoning_content") or delta.get("reasoning"):  # DeepSeek, vLLM, Ollama
                self.reasoning += str(thought)
                out.append(ModelDelta(kind="thinking", text=str(thought)))
            for call in delta.get("tool_calls") or []:
                slot = self.calls.setdefault(int(call.get("index") or 0), {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.get("id") or slot["id"]
                fn = call.get("function") or {}
                slot["name"] = fn.get("name") or slot["name"]
                if piece := fn.get("arguments"):
                    slot["arguments"] += piece
                    out.append(ModelDelta(kind="tool_input", text=piece, call_id=slot["id"]))
            self.finish = choice.get("finish_reason") or self.finish
        return out

    def usage(self) -> Usage | None:
        u = self.wire_usage
        if not u:
            return None
        return Usage(
            input_tokens=_int(u.get("prompt_tokens")),
            output_tokens=_int(u.get("completion_tokens")),
            cache_read_tokens=_int((u.get("prompt_tokens_details") or {}).get("cached_tokens")),
            reasoning_tokens=_int((u.get("completion_tokens_details") or {}).get("reasoning_tokens")),
        )

    def response(self) -> ModelResponse:
        if self.finish is None:
            raise self.owner.error(e.ProviderUnavailable, "the stream ended without a finish_reason (connection cut?)")
        parts: list[Part] = []
        if self.reasoning:
            parts.append(ThinkingPart(provider=self.owner.provider, data=self.reasoning))
        if (self.text + self.refusal).strip():
            parts.append(TextPart(text=self.text + self.refusal))
        for _, call in sorted(self.calls.items()):
            arguments, raw = parse_arguments(call["arguments"])
            parts.append(ToolCallPart(id=call["id"], name=call["name"], arguments=arguments, raw_arguments=raw))
        finish = "content_filter" if self.refusal else _FINISH.get(self.finish, "stop")
        return ModelResponse(
            message=Message(role="assistant", parts=tuple(parts)),
            usage=self.usage() or Usage(),
            finish_reason=finish,
            model=self.model,
            response_id=self.id,
        )


class _Responses:
    """Assembles a Responses-API stream; the final ``response.completed`` payload is authoritative."""

    def __init__(self, owner: OpenAIModel) -> None:
        self.owner = owner
        self.call_ids: dict[str, str] = {}
        self.final: dict[str, Any] | None = None
        self.partial: dict[str, Any] = {}

    def feed(self, event: dict[str, Any]) -> list[ModelDelta]:
        kind = event.get("type", "")
        if kind in ("response.created", "response.in_progress"):
            self.partial = event.get("response") or {}
        elif kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                self.call_ids[item.get("id", "")] = item.get("call_id", "")
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            return [ModelDelta(kind="text", text=event.get("delta", ""))]
        elif kind == "response.function_call_arguments.delta":
            call_id = self.call_ids.get(event.get("item_id", ""))
            return [ModelDelta(kind="tool_input", text=event.get("delta", ""), call_id=call_id)]
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return [ModelDelta(kind="thinking", text=event.get("delta", ""))]
        elif kind in ("response.completed", "response.incomplete"):
            self.final = event.get("response") or {}
        elif kind == "response.failed":
            error = (event.get("response") or {}).get("error") or {"message": "response.failed"}
            raise self.owner.classify(None, {**error, "type": error.get("code")})
        elif kind == "error":
            raise self.owner.classify(None, {**event, "type": event.get("code")})
        return []

    def usage(self) -> Usage | None:
        u = (self.final or self.partial).get("usage") or {}
        if not u:
            return None
        return Usage(
            input_tokens=_int(u.get("input_tokens")),
            output_tokens=_int(u.get("output_tokens")),
            cache_read_tokens=_int((u.get("input_tokens_details") or {}).get("cached_tokens")),
            cache_write_tokens=_int((u.get("input_tokens_details") or {}).get("cache_write_tokens")),
            reasoning_tokens=_int((u.get("output_tokens_details") or {}).get("reasoning_tokens")),
        )

    def response(self) -> ModelResponse:
        if self.final is None:
            raise self.owner.error(
                e.ProviderUnavailable, "the stream ended before response.completed (connection cut?)"
            )
        parts: list[Part] = []
        refused = False
        for item in self.final.get("output") or []:
            kind = item.get("type")
            if kind == "reasoning":
                parts.append(ThinkingPart(provider="openai", data=json.dumps(item, sort_keys=True)))
            elif kind == "message":
                for c in item.get("content") or []:
                    refused = refused or c.get("type") == "refusal"
                    text = c.get("text") or c.get("refusal") or ""
                    if text.strip():
                        parts.append(TextPart(text=text))
            elif kind == "function_call":
                arguments, raw = parse_arguments(item.get("arguments") or "")
                parts.append(
                    ToolCallPart(id=item["call_id"], name=item["name"], arguments=arguments, raw_arguments=raw)
                )
        reason = (self.final.get("incomplete_details") or {}).get("reason")
        finish: Finish = "stop"
        if reason == "content_filter" or refused:
            finish = "content_filter"
        elif reason:
            finish = "length"
        elif any(isinstance(p, ToolCallPart) for p in parts):
            finish = "tool_calls"
        return ModelResponse(
            message=Message(role="assistant", parts=tuple(parts)),
            usage=self.usage() or Usage(),
            finish_reason=finish,
            model=self.final.get("model") or self.owner.model,
            response_id=self.final.get("id"),
        )
