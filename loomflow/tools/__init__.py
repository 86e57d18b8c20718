"""Tools: the ``@tool`` decorator, the registry the dispatch node reads, and the built-in capabilities
(files, shell, web, MCP servers, skills) that compile into tools.

Names load on first use, so an agent without capabilities never imports the shell, web or MCP modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loomflow._lazy import lazy_exports

# Imported now: every agent needs them, and the name ``tool`` must be the decorator, not the submodule
# ``loomflow.tools.tool`` (which Python would otherwise put on the package under the same name).
from loomflow.tools.registry import ToolRegistry, ToolSource
from loomflow.tools.tool import Artifact, Tool, ToolArgumentError, tool

_LAZY: dict[str, str] = {
    "Capability": "loomflow.tools.capability",
    "Skill": "loomflow.tools.skills",
    "install_capabilities": "loomflow.tools.capability",
    "lint_tools": "loomflow.tools.lint",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:
    from loomflow.tools.capability import Capability as Capability, install_capabilities as install_capabilities
    from loomflow.tools.lint import lint_tools as lint_tools
    from loomflow.tools.skills import Skill as Skill
