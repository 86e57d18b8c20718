"""``Capability``: the user-side language for what an agent can do.

    agent = Agent(
        model=...,
        capabilities=[
            Capability.files(root="workspace", read_only=True),
            Capability.shell(require_approval=True, allowed=["git status", "pytest"]),
            Capability.web(max_bytes=500_000),
            Capability.mcp("docs", command=["python", "docs_server.py"]),
            Capability.skills("skills/"),
        ],
    )

Every capability compiles into ordinary tools in the agent's ``ToolRegistry``, so each of its calls takes
the same governed path as a ``@tool`` function: the ``governance`` node, then ``tool_dispatch`` and the
journal. Skills add the ``activate_skill`` tool and their index to the system prompt.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from loomflow.tools.files import files_tools
from loomflow.tools.mcp import MCPServerConfig, MCPServerTools
from loomflow.tools.registry import ToolRegistry
from loomflow.tools.shell import shell_tool
from loomflow.tools.skills import Skill, activate_skill_tool, load_skill_file
from loomflow.tools.tool import Tool
from loomflow.tools.web import web_fetch_tool

__all__ = ["Capability", "install_capabilities"]

Kind = Literal["files", "shell", "web", "mcp", "skills"]


@dataclasses.dataclass(frozen=True)
class Capability:
    """One thing an agent can do, built with the class methods below.

    >>> [t.name for t in Capability.files(root=".", read_only=True).tools]
    ['read_file', 'glob', 'grep']
    >>> Capability.skill("review", content="# Review", when_to_use="review, diff").kind
    'skills'
    """

    kind: Kind
    name: str
    tools: tuple[Tool, ...] = ()
    skill_list: tuple[Skill, ...] = ()
    server: MCPServerConfig | None = None

    @classmethod
    def files(cls, root: str | os.PathLike[str] = ".", *, read_only: bool = False) -> Capability:
        """``read_file``, ``glob``, ``grep`` (and, unless ``read_only``, ``write_file``, ``edit_file``),
        confined to ``root``: absolute paths, ``..`` and symlinks leading out are refused."""
        return cls("files", str(root), tuple(files_tools(root, read_only=read_only)))

    @classmethod
    def shell(
        cls,
        *,
        require_approval: bool = True,
        timeout: float = 30.0,
        allowed: Sequence[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        max_output: int = 20_000,
    ) -> Capability:
        """``shell``: run a command (approved first, by default); output capped at ``max_output`` bytes,
        the process group killed at ``timeout`` seconds; with ``allowed``, only those command prefixes."""
        tool = shell_tool(
            require_approval=require_approval, timeout=timeout, allowed=allowed, cwd=cwd, max_output=max_output
        )
        return cls("shell", "shell", (tool,))

    @classmethod
    def web(cls, *, max_bytes: int = 1_000_000, timeout: float = 20.0) -> Capability:
        """``web_fetch``: an http(s) page as text, at most ``max_bytes`` read, within ``timeout`` seconds."""
        return cls("web", "web", (web_fetch_tool(max_bytes=max_bytes, timeout=timeout),))

    @classmethod
    def mcp(
        cls,
        name: str,
        *,
        command: Sequence[str] | str | None = None,
        url: str | None = None,
        tools: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        handshake_timeout: float = 10.0,
        call_timeout: float = 60.0,
        connect: bool = True,
    ) -> Capability:
        """The tools of an MCP server over stdio (``command=[program, *args]``) or Streamable HTTP
        (``url=``), named ``<name>_<tool>``; ``tools`` keeps only those. ``connect=True`` keeps one
        connection (started on first use, restarted after a death, stopped by ``agent.close()``);
        ``connect=False`` connects for each list or call."""
        argv = (command,) if isinstance(command, str) else tuple(command) if command is not None else None
        config = MCPServerConfig(
            name=name,
            command=argv,
            url=url,
            env=dict(env) if env else None,
            cwd=os.fspath(cwd) if cwd is not None else None,
            tools=tuple(tools) if tools is not None else None,
            handshake_timeout=handshake_timeout,
            call_timeout=call_timeout,
            connect=connect,
        )
        return cls("mcp", name, server=config)

    @classmethod
    def skill(
        cls,
        name: str,
        *,
        content: str,
        description: str = "",
        when_to_use: str = "",
        allowed_tools: Sequence[str] | None = None,
    ) -> Capability:
        """One skill: only its name, description and ``when_to_use`` enter the system prompt; the content
        loads when the skill is activated; while active, only ``allowed_tools`` (if given) may run."""
        allowed = tuple(allowed_tools) if allowed_tools is not None else None
        return cls("skills", name, skill_list=(Skill(name, content, description, when_to_use, allowed),))

    @classmethod
    def skills(cls, directory: str | os.PathLike[str]) -> Capability:
        """Every ``SKILL.md`` under ``directory`` (front matter: name, description, when to use, allowed
        tools); a skill is named after its folder unless its front matter names it."""
        root = Path(directory)
        if not root.is_dir():
            raise FileNotFoundError(f"skills directory {os.fspath(directory)!r} does not exist")
        found = tuple(load_skill_file(p) for p in sorted(root.rglob("SKILL.md")))
        if not found:
            raise FileNotFoundError(f"no SKILL.md files under {os.fspath(directory)!r}")
        return cls("skills", str(directory), skill_list=found)


def install_capabilities(capabilities: Iterable[Capability], registry: ToolRegistry) -> tuple[Skill, ...]:
    """Compile ``capabilities`` into ``registry`` (a fresh MCP connection per registry); return the
    skills, whose ``activate_skill`` tool is added when there are any."""
    skills: list[Skill] = []
    for cap in capabilities:
        if not isinstance(cap, Capability):
            raise TypeError(f"capabilities take Capability.files/shell/web/mcp/skill(...), not {cap!r}")
        for t in cap.tools:
            registry.add(t)
        if cap.server is not None:
            registry.add_source(MCPServerTools(cap.server))
        skills += cap.skill_list
    names = [s.name for s in skills]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"two skills are named {', '.join(map(repr, twice))}; give each skill its own name")
    if skills:
        registry.add(activate_skill_tool(skills))
    return tuple(skills)
