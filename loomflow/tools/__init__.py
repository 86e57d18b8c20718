"""Tools: the ``@tool`` decorator and the registry the dispatch node reads."""

from __future__ import annotations

from loomflow.tools.registry import ToolRegistry
from loomflow.tools.tool import Artifact, Tool, ToolArgumentError, tool

__all__ = ["Artifact", "Tool", "ToolArgumentError", "ToolRegistry", "tool"]
