"""OpenAI's wire formats as a fake speaks them: Chat Completions (``POST /v1/chat/completions``) and the
Responses API (``POST /v1/responses``), JSON or SSE, errors in OpenAI's shape, and the invariants a real API
enforces (every tool call answered)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loomflow.testing.fakes.script import Fail, Reply, Turn, sse

__all__ = ["error", "render_chat", "render_responses", "validate_chat", "validate_responses"]

CREATED = 1_700_000_000
_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}
_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


def error(fail: Fail, request_id: str) -> Reply:
    body = {
        "error": {
            "message": fail.message,
            "type": fail.type or _TYPES.get(fail.status, "server_error"),
            "param": None,
            "code": fail.code or _CODES.get(fail.status),
        }
    }
    return Reply.json(body, fail.status, {"x-request-id": request_id, **fail.all_headers()})


def validate_chat(body: dict[str, Any]) -> str | None:
    open_calls: list[str] = []
    for msg in body.get("messages") or []:
        if msg.get("role") == "tool":
            if msg.get("tool_call_id") not in open_calls:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a preceding message "
                    "with 'tool_calls'."
                )
            open_calls.remove(msg["tool_call_id"])
            continue
        if open_calls:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(open_calls)}"
            )
        open_calls = [c["id"] for c in msg.get("tool_calls") or []] if msg.get("role") == "assistant" else []
    if open_calls:
        return f"The following tool_call_ids did not have response messages: {', '.join(open_calls)}"
    return None


def validate_responses(body: dict[str, Any]) -> str | None:
    items = body.get("input")
    if not isinstance(items, list):
        return None
    answered = {i.get("call_id") for i in items if i.get("type") == "function_call_output"}
    for item in items:
        if item.get("type") == "function_call" and item.get("call_id") not in answered:
            return f"No tool output found for function call {item.get('call_id')}."
    return None


# ---------------------------------------------------------------------- Chat Completions
def render_chat(turn: Turn, body: dict[str, Any], next_id: Callable[[str], str], size: int) -> Reply:
    base = {"id": next_id("chatcmpl"), "created": CREATED, "model": turn.model or body.get("model", "")}
    calls = [(c.id or next_id("call"), c) for c in turn.tool_calls]
    total_in, out_tokens = turn.usage(size)
    usage = {
        "prompt_tokens": total_in,
        "completion_tokens": out_tokens,
        "total_tokens": total_in + out_tokens,
        "prompt_tokens_details": {"cached_tokens": turn.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
    }
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": turn.text or None, "refusal": None}
        if turn.thinking is not None:
            message["reasoning_content"] = turn.thinking
        if calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.raw()}} for cid, c in calls
            ]
        choice = {"index": 0, "finish_reason": turn.finish, "logprobs": None, "message": message}
        return Reply.json({**base, "object": "chat.completion", "choices": [choice], "usage": usage})

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return sse(None, {**base, "object": "chat.completion.chunk", "choices": [choice]})

    events = [chunk({"role": "assistant", "content": ""})]
    if turn.thinking is not None:
        events += [chunk({"reasoning_content": p}) for p in turn.pieces(turn.thinking)]
    if turn.text:
        events += [chunk({"content": p}) for p in turn.pieces(turn.text)]
    for index, (cid, call) in enumerate(calls):
        function = {"name": call.name, "arguments": ""}
        events.append(chunk({"tool_calls": [{"index": index, "id": cid, "type": "function", "function": function}]}))
        for piece in turn.pieces(call.raw()):
            events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    events.append(chunk({}, turn.finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(sse(None, {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}))
    events.append(sse(None, "[DONE]"))
    failure = {"error": {"message": turn.error_message, "type": turn.error_type or "server_error", "code": None}}
    return Reply.events(events, turn, sse(None, failure))


# ---------------------------------------------------------------------- Responses API
def render_responses(turn: Turn, body: dict[str, Any], next_id: Callable[[str], str], size: int) -> Reply:
    total_in, out_tokens = turn.usage(size)
    response: dict[str, Any] = {
        "id": next_id("resp"),
        "object": "response",
        "created_at": CREATED,
        "status": "in_progress",
        "model": turn.model or body.get("model", ""),
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "metadata": {},
        "temperature": None,
        "top_p": None,
    }
    usage = {
        "input_tokens": total_in,
        "input_tokens_details": {
            "cached_tokens": turn.cache_read_tokens,
            "cache_write_tokens": turn.cache_write_tokens,
        },
        "output_tokens": out_tokens,
        "output_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
        "total_tokens": total_in + out_tokens,
    }
    frames: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": response}),
        ("response.in_progress", {"response": response}),
    ]
    output: list[dict[str, Any]] = []
    if turn.thinking is not None:
        _reasoning(turn, next_id("rs"), len(output), output, frames)
    if turn.text:
        _message(turn, next_id("msg"), len(output), output, frames)
    for call in turn.tool_calls:
        item = {
            "type": "function_call",
            "id": next_id("fc"),
            "call_id": call.id or next_id("call"),
            "name": call.name,
            "arguments": call.raw(),
            "status": "completed",
        }
        index = len(output)
        frames.append(
            (
                "response.output_item.added",
                {"output_index": index, "item": {**item, "arguments": "", "status": "in_progress"}},
            )
        )
        for piece in turn.pieces(call.raw()):
            frames.append(
                (
                    "response.function_call_arguments.delta",
                    {"item_id": item["id"], "output_index": index, "delta": piece},
                )
            )
        frames.append(
            (
                "response.function_call_arguments.done",
                {"item_id": item["id"], "output_index": index, "arguments": call.raw()},
            )
        )
        frames.append(("response.output_item.done", {"output_index": index, "item": item}))
        output.append(item)
    done = {**response, "status": "completed", "output": output, "usage": usage}
    kind = "response.completed"
    if turn.finish in ("length", "content_filter"):
        reason = "max_output_tokens" if turn.finish == "length" else "content_filter"
        done.update(status="incomplete", incomplete_details={"reason": reason})
        kind = "response.incomplete"
    if not body.get("stream"):
        return Reply.json(done)
    frames.append((kind, {"response": done}))
    events = [sse(name, {"type": name, "sequence_number": n, **data}) for n, (name, data) in enumerate(frames)]
    seq = turn.error_after if turn.error_after is not None else len(frames)
    failure = {"type": "error", "code": turn.error_type or "server_error", "message": turn.error_message, "param": None}
    return Reply.events(events, turn, sse("error", {**failure, "sequence_number": seq}))


def _reasoning(
    turn: Turn, rid: str, index: int, output: list[dict[str, Any]], frames: list[tuple[str, dict[str, Any]]]
) -> None:
    text = turn.thinking or ""
    item = {
        "type": "reasoning",
        "id": rid,
        "summary": [{"type": "summary_text", "text": text}],
        "encrypted_content": turn.signature,
    }
    frames.append(("response.output_item.added", {"output_index": index, "item": {**item, "summary": []}}))
    where = {"item_id": rid, "output_index": index, "summary_index": 0}
    for piece in turn.pieces(text):
        frames.append(("response.reasoning_summary_text.delta", {**where, "delta": piece}))
    frames.append(("response.reasoning_summary_text.done", {**where, "text": text}))
    frames.append(("response.output_item.done", {"output_index": index, "item": item}))
    output.append(item)


def _message(
    turn: Turn, mid: str, index: int, output: list[dict[str, Any]], frames: list[tuple[str, dict[str, Any]]]
) -> None:
    kind = "refusal" if turn.finish == "content_filter" else "output_text"
    empty: dict[str, Any] = {"type": "refusal", "refusal": ""}
    full: dict[str, Any] = {"type": "refusal", "refusal": turn.text}
    if kind == "output_text":
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        full = {**empty, "text": turn.text}
    item = {"type": "message", "id": mid, "role": "assistant", "status": "completed", "content": [full]}
    where = {"item_id": mid, "output_index": index, "content_index": 0}
    frames.append(
        (
            "response.output_item.added",
            {"output_index": index, "item": {**item, "status": "in_progress", "content": []}},
        )
    )
    frames.append(("response.content_part.added", {**where, "part": empty}))
    for piece in turn.pieces(turn.text):
        if kind == "refusal":
            frames.append(("response.refusal.delta", {**where, "delta": piece}))
        else:
            frames.append(("response.output_text.delta", {**where, "delta": piece, "logprobs": []}))
    if kind == "refusal":
        frames.append(("response.refusal.done", {**where, "refusal": turn.text}))
    else:
        frames.append(("response.output_text.done", {**where, "text": turn.text, "logprobs": []}))
    frames.append(("response.content_part.done", {**where, "part": full}))
    frames.append(("response.output_item.done", {"output_index": index, "item": item}))
    output.append(item)
