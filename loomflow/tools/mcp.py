"""MCP servers as tools, on the official ``mcp`` SDK: ``Capability.mcp(name, command=[...] | url=...)``.

    Capability.mcp("docs", command=["python", "docs_server.py"], tools=["search"], call_timeout=20)

The server is started the first time the agent needs its tools (its first model request), kept for
the agent's life and stopped by ``agent.close()``. Its tools are offered as ``<server>_<tool>`` with the
server's own descriptions and JSON schemas. A tool error, a call past ``call_timeout`` and a server that
dies mid-call all become error results the model sees; after a death the next call starts the server
again. ``connect=False`` opens a connection for each list or call instead of keeping one.

Why a thread: an MCP client holds an anyio task group that one task of one event loop must enter and
leave, while an agent's runs may come from different loops (``run_sync`` starts a loop per call, a
resume may come from another). So each server lives on a small daemon thread with its own loop; calls
hop over with ``run_coroutine_threadsafe`` and can be awaited (and cancelled) from any loop. Listing
the tools blocks the caller once, on first use: the registry's API is synchronous, because a model
request is built from the specs. Calls are asynchronous.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import re
import tempfile
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar, cast

from loomflow.tools.tool import Tool

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import CallToolResult, Tool as MCPToolInfo

__all__ = ["MCPServerError", "MCPServerTools", "MCPToolError", "model_safe_name"]

T = TypeVar("T")
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


class MCPServerError(RuntimeError):
    """The MCP server could not be started, or went away; the message names the server and the fix."""


class MCPToolError(RuntimeError):
    """The MCP server answered a tool call with an error (its text is what the model sees)."""


def model_safe_name(server: str, tool: str) -> str:
    """``<server>_<tool>`` in the characters providers accept, at most 64 of them (a hash keeps a
    shortened name unique)."""
    name = _UNSAFE.sub("_", f"{server}_{tool}")
    if len(name) <= 64:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:55]}_{digest}"


@dataclasses.dataclass(frozen=True)
class MCPServerConfig:
    """How to reach one server and how patient to be with it (``Capability.mcp`` builds it).

    A stdio server gets the ``mcp`` SDK's minimal environment (``HOME``, ``PATH``, ...) plus ``env``, not
    the parent's whole environment, so secrets are passed on purpose or not at all.

        MCPServerConfig("docs", command=("python", "docs_server.py"), env={"DOCS_TOKEN": token})
    """

    name: str
    command: tuple[str, ...] | None = None
    url: str | None = None
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    tools: tuple[str, ...] | None = None
    handshake_timeout: float = 10.0
    call_timeout: float = 60.0
    connect: bool = True

    def __post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP server {self.name!r} needs exactly one of command=[...] or url=...")
        if self.command is not None and not self.command:
            raise ValueError(f"MCP server {self.name!r}: command is empty; give the program and its arguments")


class MCPServerTools:
    """One MCP server as a tool source for a ``ToolRegistry`` (what ``Capability.mcp`` compiles into).

    source = MCPServerTools(MCPServerConfig("docs", url="http://127.0.0.1:8000/mcp"))
    registry.add_source(source)   # listed (and connected) the first time a tool or spec is needed
    # ... runs ...
    await source.close()          # what agent.close() does
    """

    def __init__(self, config: MCPServerConfig) -> None:
        self.config = config
        self.name = config.name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        # the rest is touched only on the server's own loop
        self._client: Client | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._opening = asyncio.Lock()  # bound to a loop on first contention, so made anew with each loop
        self._errlog: TextIO | None = None

    # ------------------------------------------------------------------ the source protocol
    def load(self) -> list[Tool]:
        """List the server's tools (blocking: connects on first use) as loomflow tools."""
        wait = self.config.handshake_timeout + self.config.call_timeout + 5
        infos = self._submit(self._list()).result(timeout=wait)
        wanted = self.config.tools
        if wanted is not None:
            missing = sorted(set(wanted) - {i.name for i in infos})
            if missing:
                known = ", ".join(i.name for i in infos) or "none"
                raise MCPServerError(f"MCP server {self.name!r} has no tool {', '.join(missing)}; it offers: {known}")
            infos = [i for i in infos if i.name in wanted]
        return [self._tool(info) for info in infos]

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        """Call ``tool`` on the server (from any event loop) and render its result as text."""
        return await asyncio.wrap_future(self._submit(self._call(tool, arguments)))

    async def close(self) -> None:
        """Stop the server and its thread; a later use starts both again."""
        with self._thread_lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._disconnect(), loop))
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 5)
        if not thread.is_alive():
            loop.close()
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    # ------------------------------------------------------------------ building tools
    def _tool(self, info: MCPToolInfo) -> Tool:
        notes = info.annotations
        read_only = bool(notes and notes.read_only_hint)
        # Hints count only when the server states them (MCP marks them untrusted; unstated is unknown).
        destructive = bool(notes and notes.destructive_hint) and not read_only
        idempotent = bool(notes and notes.idempotent_hint) or read_only
        remote = info.name

        async def call(**arguments: Any) -> str:
            return await self.call(remote, arguments)

        description = info.description or info.title or f"the {remote!r} tool of MCP server {self.name!r}"
        return Tool.from_schema(
            model_safe_name(self.name, remote),
            description,
            info.input_schema,
            call,
            read_only=read_only,
            destructive=destructive,
            idempotent=idempotent,
            timeout=self.config.call_timeout,
        )

    # ------------------------------------------------------------------ the server's own loop
    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        with self._thread_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=f"loomflow-mcp-{self.name}", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
                # a new loop (after close()): what the old one held is bound to it and must not be reused
                self._client = self._owner = self._stop = None
                self._opening = asyncio.Lock()
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _transport(self) -> Any:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        cfg = self.config
        if cfg.url is not None:
            return cfg.url
        assert cfg.command is not None
        params = StdioServerParameters(
            command=cfg.command[0], args=list(cfg.command[1:]), env=dict(cfg.env or {}) or None, cwd=cfg.cwd
        )
        if self._errlog is None:
            self._errlog = cast(TextIO, tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace"))  # noqa: SIM115
        else:  # a fresh process: its own stderr only
            self._errlog.seek(0)
            self._errlog.truncate()
        return stdio_client(params, errlog=self._errlog)

    def _stderr_tail(self) -> str:
        log = self._errlog
        if log is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            log.flush()
            size = log.seek(0, 2)
            log.seek(max(0, size - 600))
            lines = log.read().strip().splitlines()[-3:]
            return f" Its last words on stderr: {' | '.join(lines)}" if lines else ""
        return ""

    @contextlib.asynccontextmanager
    async def _session(self) -> Any:
        """A connected client: the kept one, or (``connect=False``) one for this operation only."""
        if not self.config.connect:
            async with self._connected_client() as client:
                yield client
            return
        async with self._opening:
            if self._client is None:
                await self._start_owner()
        assert self._client is not None
        yield self._client

    @contextlib.asynccontextmanager
    async def _connected_client(self) -> Any:
        from mcp import Client

        where = " ".join(self.config.command) if self.config.command else self.config.url
        client = Client(self._transport())
        try:
            async with asyncio.timeout(self.config.handshake_timeout):
                await client.__aenter__()
        except TimeoutError:
            raise MCPServerError(
                f"MCP server {self.name!r} ({where}) did not finish its handshake within "
                f"{self.config.handshake_timeout}s; check the command, or raise handshake_timeout.{self._stderr_tail()}"
            ) from None
        except Exception as exc:
            raise MCPServerError(
                f"could not start MCP server {self.name!r} ({where}): {type(exc).__name__}: {exc}.{self._stderr_tail()}"
            ) from exc
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    async def _start_owner(self) -> None:
        """Connect in a task that keeps the connection (anyio needs it entered and left by one task)."""
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        stop = self._stop

        async def own() -> None:
            try:
                async with self._connected_client() as client:
                    self._client = client
                    ready.set_result(None)
                    await stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            finally:
                self._client = None

        self._owner = asyncio.get_running_loop().create_task(own())
        await ready

    async def _disconnect(self) -> None:
        owner, stop = self._owner, self._stop
        self._owner = None
        if stop is not None:
            stop.set()
        if owner is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await owner
        self._client = None

    async def _list(self) -> Sequence[MCPToolInfo]:
        async with self._session() as client:
            infos: list[MCPToolInfo] = []
            cursor: str | None = None
            while True:
                async with asyncio.timeout(self.config.call_timeout):
                    page = await client.list_tools(cursor=cursor)
                infos += page.tools
                cursor = page.next_cursor
                if cursor is None:
                    return infos

    async def _call(self, tool: str, arguments: dict[str, Any]) -> str:
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED

        async with self._session() as client:
            try:
                result = await client.call_tool(tool, arguments)
            except MCPError as exc:
                if exc.code != CONNECTION_CLOSED:
                    raise MCPToolError(f"MCP server {self.name!r} refused {tool!r}: {exc}") from None
                tail = self._stderr_tail()
                await self._disconnect()
                raise MCPServerError(
                    f"MCP server {self.name!r} closed the connection during {tool!r} (it may have exited); "
                    f"the call may or may not have taken effect. The server is started again on the next call."
                    f"{tail}"
                ) from None
        text = render(result)
        if result.is_error:
            raise MCPToolError(text or f"MCP server {self.name!r} reported an error from {tool!r}")
        return text


def render(result: CallToolResult) -> str:
    """A tool result as the text the model sees: text parts as they are, others named."""
    import json

    from mcp.types import TextContent

    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        else:
            kind = getattr(block, "type", type(block).__name__)
            media = getattr(block, "mime_type", None)
            parts.append(f"[{kind}{f' {media}' if media else ''} content omitted]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, default=str))
    return "\n".join(parts)
