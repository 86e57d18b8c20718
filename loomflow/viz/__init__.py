"""Drawings of graph structures: text, Mermaid, DOT, and files rendered by Graphviz.

Every function takes the plain structure dict the kernel makes from a graph (and
a stored run keeps), plus an optional overlay describing one run on it. Only
``render`` and ``to_svg`` need Graphviz, and they import it when called, so
importing this package stays cheap. ``to_dot_runs`` and ``draw_runs`` put several
runs of one graph side by side (a fork beside its origin); ``draw_run`` and the
``*_mimebundle`` helpers are what notebooks show.
"""

from __future__ import annotations

from loomflow.viz._display import Drawing, draw_run, draw_runs, run_mimebundle, runs_mimebundle
from loomflow.viz._render import DotNotFoundError, mimebundle, render, to_svg
from loomflow.viz._structure import NodeStats, Overlay, Structure
from loomflow.viz.ascii import to_ascii
from loomflow.viz.dot import to_dot
from loomflow.viz.mermaid import to_mermaid
from loomflow.viz.overlay import overlay_from_steps
from loomflow.viz.runs import RunLink, fork_links, structure_from_steps, to_ascii_runs, to_dot_runs

__all__ = [
    "DotNotFoundError",
    "Drawing",
    "NodeStats",
    "Overlay",
    "RunLink",
    "Structure",
    "draw_run",
    "draw_runs",
    "fork_links",
    "mimebundle",
    "overlay_from_steps",
    "render",
    "run_mimebundle",
    "runs_mimebundle",
    "structure_from_steps",
    "to_ascii",
    "to_ascii_runs",
    "to_dot",
    "to_dot_runs",
    "to_mermaid",
    "to_svg",
]
