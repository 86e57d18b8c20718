"""Tools: the ``@tool`` decorator, the registry the dispatch node reads, and the built-in capabilities
(files, shell, web, MCP servers, skills) that compile into tools."""

from __future__ import annotations

from loomflow.tools.capability import Capability, install_capabilities
from loomflow.tools.lint import lint_tools
from loomflow.tools.registry import ToolRegistry, ToolSource
from loomflow.tools.skills import Skill
from loomflow.tools.tool import Artifact, Tool, ToolArgumentError, tool

__all__ = [
    "Artifact",
    "Capability",
    "Skill",
    "Tool",
    "ToolArgumentError",
    "ToolRegistry",
    "ToolSource",
    "install_capabilities",
    "lint_tools",
    "tool",
]
