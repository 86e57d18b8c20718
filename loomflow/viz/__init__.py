"""Drawings of graph structures: text, Mermaid, DOT, and files rendered by Graphviz.

Every function takes the plain structure dict the kernel makes from a graph (and
a stored run keeps), plus an optional overlay describing one run on it. Only
``render`` and ``to_svg`` need Graphviz, and they import it when called, so
importing this package stays cheap.
"""

from __future__ import annotations

from loomflow.viz._render import DotNotFoundError, mimebundle, render, to_svg
from loomflow.viz._structure import NodeStats, Overlay, Structure
from loomflow.viz.ascii import to_ascii
from loomflow.viz.dot import to_dot
from loomflow.viz.mermaid import to_mermaid
from loomflow.viz.overlay import overlay_from_steps

__all__ = [
    "DotNotFoundError",
    "NodeStats",
    "Overlay",
    "Structure",
    "mimebundle",
    "overlay_from_steps",
    "render",
    "to_ascii",
    "to_dot",
    "to_mermaid",
    "to_svg",
]
