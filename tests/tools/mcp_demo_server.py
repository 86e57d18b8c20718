"""A real MCP server for the tests, on the ``mcp`` SDK: run over stdio (default) or ``--http PORT``.

Each start appends ``start <pid>`` to the file named by ``$MCP_STARTS`` (when set), so tests can count
how often the server was started. Tools: ``add``, ``lookup`` (fails with a message), ``peek`` (declared
read-only), ``hang`` (never answers), ``die`` (the process exits mid-call).
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

server = MCPServer("demo")


@server.tool(description="Add two integers and return the sum.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Look a page up by its title.")
def lookup(title: str) -> str:
    raise ToolError(f"no page titled {title!r}")


@server.tool(description="Peek at the counter.", annotations=ToolAnnotations(read_only_hint=True))
def peek() -> str:
    return "counter=7"


@server.tool(description="Never answers.")
async def hang() -> str:
    await asyncio.sleep(3600)
    return "never"


@server.tool(description="Exits the server process in the middle of the call.")
def die() -> str:
    os._exit(3)


if __name__ == "__main__":
    starts = os.environ.get("MCP_STARTS")
    if starts:
        with open(starts, "a") as f:
            f.write(f"start {os.getpid()}\n")
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", port=int(sys.argv[2]))
    else:
        server.run()
