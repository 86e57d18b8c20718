"""The ``shell`` tool: run a command, with its output capped and its process killed at the timeout.

    Capability.shell(require_approval=True, timeout=30, allowed=["git status", "pytest"])

The command runs through ``/bin/sh`` in its own process group, so a timeout kills whatever it started.
When the shell exits while background children (``cmd &``) still hold its output open, they get half a
second to finish, then they are stopped and the command's result says so.
With ``allowed``, a command must be one of those prefixes (followed by arguments) and may not chain or
redirect (``;``, ``&``, ``|``, backticks, ``$(``, ``<``, ``>``, newlines); anything else is refused with
an error result. The tool is declared destructive and not idempotent: a shell can do anything, and a
command cut off by a crash is never re-run without a human saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence

from loomflow.tools.tool import Tool, tool

__all__ = ["CommandNotAllowed", "shell_tool"]

_POLL = 0.05  # how often to check whether the shell has exited while its output is still open
_GRACE = 0.5  # how long output may keep coming after the shell exited (from its background children)
_CONTROL = (";", "&", "|", "`", "$(", "<", ">", "\n", "\r")


class CommandNotAllowed(PermissionError):
    """The command is not one the shell capability allows."""


def check_command(command: str, allowed: Sequence[str] | None) -> str:
    """The command to run, or ``CommandNotAllowed`` naming what is allowed."""
    command = command.strip()
    if not command:
        raise ValueError("the command is empty")
    if allowed is None:
        return command
    names = ", ".join(repr(a) for a in allowed) or "none"
    if any(c in command for c in _CONTROL):
        raise CommandNotAllowed(f"{command!r} chains or redirects commands, which is not allowed; allowed: {names}")
    if not any(command == a or command.startswith(a.rstrip() + " ") for a in allowed):
        raise CommandNotAllowed(f"{command!r} is not an allowed command; allowed: {names}")
    return command


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> tuple[bytes, int]:
    """Keep the first ``cap`` bytes, drain the rest (a child blocked on a full pipe never exits)."""
    kept = bytearray()
    total = 0
    while chunk := await stream.read(65536):
        total += len(chunk)
        if len(kept) < cap:
            kept += chunk[: cap - len(kept)]
    return bytes(kept), total


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def shell_tool(
    *,
    require_approval: bool = True,
    timeout: float = 30.0,
    allowed: Sequence[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    max_output: int = 20_000,
) -> Tool:
    """The ``shell`` tool with these limits (see the module docstring)."""
    prefixes = tuple(allowed) if allowed is not None else None
    workdir = os.fspath(cwd) if cwd is not None else None

    @tool(destructive=True, parallel_safe=False, timeout=timeout, require_approval=require_approval)
    async def shell(command: str) -> str:
        """Run a shell command and return its exit code and combined output (stdout and stderr).

        Args:
            command: the command line to run
        """
        line = check_command(command, prefixes)
        process = await asyncio.create_subprocess_shell(
            line,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,  # its own process group: a timeout kills the whole tree
        )
        assert process.stdout is not None
        reader = asyncio.ensure_future(_read_capped(process.stdout, max_output))
        stopped = ""
        try:
            # process.wait() also waits for the output pipe, which a background child (`cmd &`) may hold
            # open long after /bin/sh has exited: watch the shell itself, not the pipe
            while process.returncode is None and not reader.done():
                await asyncio.wait({reader}, timeout=_POLL)
            if not reader.done():
                await asyncio.wait({reader}, timeout=_GRACE)
            if not reader.done():
                _kill(process)
                stopped = "\n[the command exited, but background processes kept its output open; they were stopped]"
            data, total = await reader
            code = await process.wait()
        except BaseException:  # the timeout (or the run) cancelled it: stop the whole group, even if sh is gone
            _kill(process)
            reader.cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(process.wait())
            raise
        text = data.decode("utf-8", errors="replace")
        cut = f"\n[output cut: showing {len(data)} of {total} bytes]" if total > len(data) else ""
        return f"exit code {code}\n{text}{cut}{stopped}"

    return shell
