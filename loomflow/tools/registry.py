"""The tools one agent offers, by name.

Most tools are known when the agent is built. A *tool source* (an MCP server) only knows its tools once
it is reached: the registry loads each source the first time it is asked for a tool or a spec, so a
server is started on first use, not when the agent is built.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from loomflow.messages import ToolSpec
from loomflow.tools.tool import Tool

__all__ = ["ToolRegistry", "ToolSource"]


@runtime_checkable
class ToolSource(Protocol):
    """Tools known only after a connection: ``load()`` (blocking, called once) returns them."""

    name: str

    def load(self) -> list[Tool]: ...

    async def close(self) -> None: ...


class ToolRegistry:
    """Tools by name; two tools with one name is an error naming both.

    >>> from loomflow import tool
    >>> @tool
    ... def ping() -> str:
    ...     '''Answer pong.'''
    ...     return "pong"
    >>> ToolRegistry([ping]).names()
    ['ping']
    """

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._specs: tuple[ToolSpec, ...] | None = None
        self._sources: list[ToolSource] = []
        self._pending: list[ToolSource] = []
        self._lock = threading.Lock()
        for t in tools:
            self.add(t)

    def add(self, t: Tool) -> None:
        if not isinstance(t, Tool):
            raise TypeError(f"{t!r} is not a tool; decorate the function with @tool")
        if t.name in self._tools:
            raise ValueError(f"two tools are named {t.name!r}; rename one with @tool(name=...)")
        self._tools[t.name] = t
        self._specs = None

    def add_source(self, source: ToolSource) -> None:
        """Add tools that are loaded on first use (``source.load()``)."""
        self._sources.append(source)
        self._pending.append(source)

    @property
    def sources(self) -> tuple[ToolSource, ...]:
        return tuple(self._sources)

    def _resolve(self) -> None:
        if not self._pending:
            return
        with self._lock:  # two runs in two threads must not start one server twice
            while self._pending:
                source = self._pending[0]
                for t in source.load():
                    self.add(t)
                self._pending.pop(0)

    def get(self, name: str) -> Tool | None:
        found = self._tools.get(name)
        if found is None and self._pending:
            self._resolve()
            found = self._tools.get(name)
        return found

    def specs(self) -> tuple[ToolSpec, ...]:
        self._resolve()
        if self._specs is None or len(self._specs) != len(self._tools):
            self._specs = tuple(t.spec() for t in self._tools.values())
        return self._specs

    def names(self) -> list[str]:
        self._resolve()
        return list(self._tools)

    def __repr__(self) -> str:
        # never resolves sources: a repr must not start an MCP server
        pending = f" + {len(self._pending)} source(s) not loaded yet" if self._pending else ""
        return f"ToolRegistry({list(self._tools)}{pending})"

    async def close(self) -> None:
        """Close every source (stop the MCP servers it started); a later use starts them again."""
        for source in self._sources:
            await source.close()

    def __iter__(self) -> Iterator[Tool]:
        self._resolve()
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        self._resolve()
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None
