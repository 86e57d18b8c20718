"""``FakeProvider``: one scripted fake of the Anthropic and OpenAI APIs, in-process or on 127.0.0.1.

Routes (with or without the ``/v1`` prefix, so one ``base_url`` serves both SDKs): ``/messages``,
``/messages/count_tokens``, ``/chat/completions``, ``/responses``; anything else is a 404. Each request is
recorded, checked (a key must be sent; the real API's invariants hold), then answered by the next script item.
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from loomflow.testing.fakes import anthropic, openai
from loomflow.testing.fakes.script import Fail, Item, Received, Reply, Turn

__all__ = ["FakeProvider"]

_ROUTES = {
    "/messages": "anthropic",
    "/messages/count_tokens": "count_tokens",
    "/chat/completions": "chat",
    "/responses": "responses",
}
_RENDER = {"anthropic": anthropic.render, "chat": openai.render_chat, "responses": openai.render_responses}
_VALIDATE = {"anthropic": anthropic.validate, "chat": openai.validate_chat, "responses": openai.validate_responses}


class FakeProvider:
    """A scriptable fake of the Anthropic Messages and OpenAI Chat Completions / Responses APIs.

    >>> fake = FakeProvider(["Hello!"])
    >>> fake.pending
    1

    In-process: ``Model.anthropic(..., http_client=fake.http_client())``. Over the loopback interface:
    ``with fake: Model.openai(..., base_url=fake.url)``. ``api_key=`` makes the fake accept that key only
    (as ``x-api-key`` or ``Authorization: Bearer``); without it any key is accepted, but one must be sent.
    """

    def __init__(self, script: Iterable[Item] = (), *, api_key: str | None = None, validate: bool = True) -> None:
        self.api_key = api_key
        self.validate = validate
        #: every request received, in order
        self.requests: list[Received] = []
        self._script: collections.deque[Item] = collections.deque(script)
        self._lock = threading.Lock()
        self._ids: collections.Counter[str] = collections.Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    # ------------------------------------------------------------------ scripting
    def add(self, *items: Item) -> FakeProvider:
        """Append answers to the script."""
        with self._lock:
            self._script.extend(items)
        return self

    @property
    def pending(self) -> int:
        """Script items not yet served."""
        return len(self._script)

    def assert_complete(self) -> None:
        """Fail when script items were never requested: the test and the code disagree."""
        if self._script:
            raise AssertionError(f"{len(self._script)} scripted answer(s) never requested: {list(self._script)!r}")

    @property
    def last(self) -> Received:
        """The last request received."""
        if not self.requests:
            raise AssertionError("the fake provider has received no request")
        return self.requests[-1]

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids[prefix] += 1
            return f"{prefix}_{self._ids[prefix]:04d}"

    # ------------------------------------------------------------------ one request
    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Answer one HTTP request (the transports call this)."""
        path = urlsplit(target).path.rstrip("/")
        route = path[3:] if path.startswith("/v1/") else path
        dialect = _ROUTES.get(route)
        fail = anthropic.error if dialect in ("anthropic", "count_tokens") else openai.error
        if dialect is None:
            return fail(Fail(404, f"no route {method} {path} on the fake provider", "not_found_error"), "req_none")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return fail(Fail(400, "the request body is not JSON"), "req_none")
        received = Received(method, path, dict(headers), body, dialect)
        with self._lock:
            self.requests.append(received)
        request_id = self._next_id("req")
        key = received.api_key
        if not key or (self.api_key is not None and key != self.api_key):
            return fail(Fail(401, "invalid x-api-key" if key else "no API key was sent"), request_id)
        if dialect == "count_tokens":
            return Reply.json({"input_tokens": len(raw) // 4 + 1})
        problem = _VALIDATE[dialect](body) if self.validate else None
        if problem is not None:
            return fail(Fail(400, problem), request_id)
        with self._lock:
            item = self._script.popleft() if self._script else None
        if item is None:
            message = f"the fake provider's script is exhausted (request #{len(self.requests)}); add answers"
            return fail(Fail(400, message), request_id)
        answer = item(received) if callable(item) else item
        if isinstance(answer, Fail):
            return fail(answer, request_id)
        turn = Turn(text=answer) if isinstance(answer, str) else answer
        reply = _RENDER[dialect](turn, body, self._next_id, len(raw))
        if not reply.sse:
            reply.drop_after, reply.delay = turn.drop_after, turn.delay
        return reply

    # ------------------------------------------------------------------ in-process
    def transport(self) -> Any:
        """An ``httpx2.MockTransport`` answering from this fake (no socket)."""
        import httpx2

        fake = self

        class Body(httpx2.AsyncByteStream):
            def __init__(self, reply: Reply, request: httpx2.Request) -> None:
                self.reply, self.request = reply, request

            async def __aiter__(self) -> AsyncIterator[bytes]:
                for n, chunk in enumerate(self.reply.chunks):
                    if self.reply.drop_after is not None and n >= self.reply.drop_after:
                        raise httpx2.RemoteProtocolError("peer closed connection mid-body", request=self.request)
                    if self.reply.delay:
                        await asyncio.sleep(self.reply.delay)
                    yield chunk

        async def handler(request: httpx2.Request) -> httpx2.Response:
            reply = fake.handle(request.method, request.url.raw_path.decode(), dict(request.headers), request.content)
            if reply.drop_after == 0 and not reply.sse:
                raise httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=request)
            return httpx2.Response(reply.status, headers=reply.headers, stream=Body(reply, request))

        return httpx2.MockTransport(handler)

    def http_client(self) -> Any:
        """An ``httpx2.AsyncClient`` on ``transport()``, for an SDK client's ``http_client=``."""
        import httpx2

        return httpx2.AsyncClient(transport=self.transport(), base_url="http://fake.test")

    # ------------------------------------------------------------------ loopback
    def start(self) -> str:
        """Serve on 127.0.0.1 (a free port) in a thread; returns the base URL."""
        if self._server is None:
            self._closing.clear()
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.fake = self
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
            self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: a ``base_url`` for either SDK (``/v1`` is optional here)."""
        if self._server is None:
            raise RuntimeError("the fake provider is not serving: call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        """Stop serving (waiting replies are cut short)."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeProvider:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f" at {self.url}" if self._server is not None else ""
        return f"<FakeProvider{where}: {len(self.requests)} received, {self.pending} pending>"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProvider

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError | ValueError):
            return  # a client that went away mid-reply (cancelled, timed out): expected in these tests
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each reply waits ~40 ms for a delayed ACK
    server: _Server

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = fake.handle(self.command, self.path, headers, raw)
        try:
            self._send(reply, fake._closing)
        except OSError:  # the client went away (cancelled, timed out)
            self.close_connection = True

    do_GET = do_POST

    def _send(self, reply: Reply, closing: threading.Event) -> None:
        if reply.drop_after == 0 and not reply.sse:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if not reply.sse:
            body = b"".join(reply.chunks)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if reply.delay and closing.wait(reply.delay):
                return
            self.wfile.write(body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for n, chunk in enumerate(reply.chunks):
            if reply.drop_after is not None and n >= reply.drop_after:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if reply.delay and closing.wait(reply.delay):
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass
