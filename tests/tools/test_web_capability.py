"""``Capability.web``: ``web_fetch`` against a local ``http.server`` on 127.0.0.1 (never the network):
HTML comes back as readable text, bodies are cut at ``max_bytes``, slow pages time out, and only http(s)
URLs are fetched."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent

from loomflow import Capability, ToolCall
from loomflow.tools import Tool
from loomflow.tools.tool import ToolTimeout

PAGE = b"""<!doctype html><html><head><title>Release notes</title><style>p {color: red}</style>
<script>var secret = "do not show";</script></head>
<body><h1>Version 2</h1><p>Faster &amp; smaller.</p><ul><li>one</li><li>two</li></ul></body></html>"""


RELEASE_SLOW = threading.Event()  # the slow page answers only when the module's tests are done


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            RELEASE_SLOW.wait(30)
        if self.path in ("/elsewhere", "/ftp"):  # redirects away from http and https: never followed
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd" if self.path == "/elsewhere" else "ftp://127.0.0.1/x")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, media, body = {
            "/page": (200, "text/html; charset=utf-8", PAGE),
            "/big": (200, "text/plain", b"x" * 50_000),
            "/plain": (200, "text/plain; charset=latin-1", "caf\xe9".encode("latin-1")),
            "/quoted": (200, 'text/plain; charset="iso-8859-1"', "caf\xe9".encode("latin-1")),
            "/slow": (200, "text/plain", b"late"),
        }.get(self.path, (404, "text/plain", b"no such page"))
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (its limits)
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    RELEASE_SLOW.set()
    server.shutdown()
    server.server_close()


def web(**options: Any) -> Tool:
    [tool] = Capability.web(**options).tools
    return tool


async def fetch(tool: Tool, url: str) -> str:
    text, _ = await tool.invoke({"url": url})
    return text


async def test_html_becomes_readable_text(site: str) -> None:
    text = await fetch(web(), f"{site}/page")
    assert text == "Release notes\n\nVersion 2\n\nFaster & smaller.\n\none\n\ntwo"
    assert "secret" not in text
    assert "color" not in text


async def test_text_keeps_its_charset_and_the_size_limit_cuts(site: str) -> None:
    assert await fetch(web(), f"{site}/plain") == "café"
    assert await fetch(web(), f"{site}/quoted") == "café"
    cut = await fetch(web(max_bytes=1000), f"{site}/big")
    assert cut == "x" * 1000 + "\n[cut at 1000 bytes: the page is larger]"


async def test_a_slow_page_times_out(site: str) -> None:
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match=r"timeout of 0\.3s"):
        await fetch(web(timeout=0.3), f"{site}/slow")
    assert time.monotonic() - started < 20  # cut by the tool's timeout, not the page (which never answers)


async def test_errors_and_other_schemes(site: str) -> None:
    with pytest.raises(RuntimeError, match=r"HTTP 404 .*no such page"):
        await fetch(web(), f"{site}/missing")
    with pytest.raises(ValueError, match="only http and https URLs can be fetched, not 'file'"):
        await fetch(web(), "file:///etc/passwd")
    with pytest.raises(
        RuntimeError, match=r"HTTP 302 from .*/elsewhere: a redirect to 'file:///etc/passwd' that was not"
    ):
        await fetch(web(), f"{site}/elsewhere")
    with pytest.raises(RuntimeError, match=r"HTTP 302 from .*/ftp: a redirect to 'ftp://127.0.0.1/x' that was not"):
        await fetch(web(), f"{site}/ftp")  # urllib itself would follow this one


async def test_the_model_sees_the_page_text(site: str) -> None:
    model = RecordingModel([ToolCall("web_fetch", {"url": f"{site}/page"}, id="w1"), "done"])
    result = await make_agent(model, capabilities=[Capability.web()]).run("read the notes")
    assert result.status == "completed", result.error
    seen = {p.call_id: p.content for m in model.requests[1].messages for p in m.tool_results}
    assert seen["w1"].startswith("Release notes\n\nVersion 2")
    assert (web().read_only, web().idempotent) == (True, True)
