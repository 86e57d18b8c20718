"""The Anthropic Messages API as a fake speaks it: ``POST /v1/messages`` (JSON or SSE), errors, invariants."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from loomflow.testing.fakes.script import Fail, Reply, Turn, sse

__all__ = ["error", "render", "validate"]

_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens", "content_filter": "refusal"}
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def error(fail: Fail, request_id: str) -> Reply:
    body = {
        "type": "error",
        "error": {"type": fail.type or _TYPES.get(fail.status, "api_error"), "message": fail.message},
        "request_id": request_id,
    }
    return Reply.json(body, fail.status, {"request-id": request_id, **fail.all_headers()})


def validate(body: dict[str, Any]) -> str | None:
    """The 400 message a real API would answer, or ``None`` when the request is well formed."""
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    expected: set[str] = set()
    for i, msg in enumerate(messages):
        content = msg.get("content")
        blocks = content if isinstance(content, list) else []
        results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
        if expected - results:
            return (
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{', '.join(sorted(expected - results))}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message."
            )
        if results - expected:
            stray = sorted(results - expected)[0]
            return f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {stray}"
        if any(b.get("type") == "text" and not str(b.get("text", "")).strip() for b in blocks):
            return f"messages.{i}: text content blocks must contain non-whitespace text"
        expected = {b["id"] for b in blocks if b.get("type") == "tool_use"} if msg.get("role") == "assistant" else set()
    if expected:
        return f"messages.{len(messages)}: `tool_use` ids were found without `tool_result` blocks: {sorted(expected)}"
    return None


def render(turn: Turn, body: dict[str, Any], next_id: Callable[[str], str], size: int) -> Reply:
    model = turn.model or str(body.get("model", ""))
    total_in, out_tokens = turn.usage(size)
    usage = {
        "input_tokens": max(total_in - turn.cache_read_tokens - turn.cache_write_tokens, 0),
        "output_tokens": out_tokens,
        "cache_creation_input_tokens": turn.cache_write_tokens,
        "cache_read_input_tokens": turn.cache_read_tokens,
    }
    blocks: list[dict[str, Any]] = []
    if turn.redacted_thinking is not None:
        blocks.append({"type": "redacted_thinking", "data": turn.redacted_thinking})
    if turn.thinking is not None:
        blocks.append({"type": "thinking", "thinking": turn.thinking, "signature": turn.signature})
    if turn.text:
        blocks.append({"type": "text", "text": turn.text})
    for call in turn.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id or next_id("toolu"), "name": call.name, "raw": call.raw()})
    message: dict[str, Any] = {
        "id": next_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    stop = _STOP[turn.finish]
    if not body.get("stream"):
        content = [_final(b) for b in blocks]
        return Reply.json({**message, "content": content, "stop_reason": stop, "usage": usage})
    events = [sse("message_start", {"type": "message_start", "message": message}), sse("ping", {"type": "ping"})]
    for index, block in enumerate(blocks):
        events.append(
            sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": _start(block)})
        )
        for delta in _deltas(block, turn):
            events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        sse(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage},
        )
    )
    events.append(sse("message_stop", {"type": "message_stop"}))
    failure = {"type": "error", "error": {"type": turn.error_type or "overloaded_error", "message": turn.error_message}}
    return Reply.events(events, turn, sse("error", failure))


def _final(block: dict[str, Any]) -> dict[str, Any]:
    if block["type"] != "tool_use":
        return block
    try:
        arguments = json.loads(block["raw"])
    except ValueError:
        arguments = {}  # a real API never returns broken JSON without streaming
    return {"type": "tool_use", "id": block["id"], "name": block["name"], "input": arguments}


def _start(block: dict[str, Any]) -> dict[str, Any]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": ""}
    if kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    if kind == "tool_use":
        return {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
    return block  # redacted_thinking arrives whole


def _deltas(block: dict[str, Any], turn: Turn) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        return [{"type": "text_delta", "text": p} for p in turn.pieces(block["text"])]
    if kind == "thinking":
        pieces = [{"type": "thinking_delta", "thinking": p} for p in turn.pieces(block["thinking"])]
        return [*pieces, {"type": "signature_delta", "signature": block["signature"]}]
    if kind == "tool_use":  # a leading empty piece, as the real API sends
        return [{"type": "input_json_delta", "partial_json": p} for p in ["", *turn.pieces(block["raw"])]]
    return []
