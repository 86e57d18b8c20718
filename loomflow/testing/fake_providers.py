"""Fake model providers that speak the real wire formats, for tests of code that uses real SDK clients.

One ``FakeProvider`` answers the Anthropic Messages API and OpenAI's Chat Completions and Responses APIs
(JSON and SSE streaming, tool calls, thinking, errors with ``retry-after`` headers, mid-stream errors,
dropped connections), from a script: a queue of ``Turn`` / ``Fail`` / text answers, one per request. It
records every request (path, headers, JSON body) for assertions, and replies like the real API with a 400
when a request breaks an invariant (a tool call left without its result).

    fake = FakeProvider([Turn(tool_calls=[ToolUse("add", {"a": 1, "b": 2})]), "It is 3."])

    # in-process (no socket): an httpx2 transport handed to the SDK client
    model = Model.anthropic("claude-sonnet-4-5", api_key="test-key", http_client=fake.http_client())

    # or a real HTTP server on 127.0.0.1 (a free port), for streaming timing, cancellation, subprocesses
    with fake:
        model = Model.openai("gpt-5.4", api_key="test-key", base_url=fake.url)

    fake.requests[0].body["messages"]; fake.assert_complete()

Nothing here touches the network or needs a real key.
"""

from __future__ import annotations

from loomflow.testing.fakes import Fail, FakeProvider, Received, Reply, ToolUse, Turn

__all__ = ["Fail", "FakeProvider", "Received", "Reply", "ToolUse", "Turn"]
