"""What a notebook shows for a run: the path it took, drawn, above its status and trace.

Jupyter picks the richest type of a bundle, so the picture and the trace travel together as HTML
(SVG inside) when Graphviz is there, and as Markdown (a Mermaid block, drawn by JupyterLab 4.1+ and
VS Code) when it is not; ``text/plain`` is always there for terminals and logs.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from loomflow.checkpoint.records import StepRecord
from loomflow.trace import Trace
from loomflow.viz._render import DotNotFoundError, _pipe, to_svg
from loomflow.viz.mermaid import to_mermaid
from loomflow.viz.overlay import overlay_from_steps
from loomflow.viz.runs import RunLink, fork_links, structure_from_steps, to_ascii_runs, to_dot_runs

__all__ = ["Drawing", "draw_run", "draw_runs", "run_mimebundle", "runs_mimebundle"]


class _Result(Protocol):
    """The parts of a ``RunResult`` a drawing needs (kept structural: viz does not import the kernel)."""

    @property
    def run_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def records(self) -> tuple[StepRecord, ...]: ...


class Drawing:
    """A picture a notebook shows inline (``_repr_mimebundle_``) and a terminal prints (``str``)."""

    def __init__(self, bundle: Mapping[str, str]) -> None:
        self.bundle = dict(bundle)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return dict(self.bundle)

    def __str__(self) -> str:
        return self.bundle["text/plain"]


def draw_run(result: _Result, structure: Mapping[str, Any] | None = None) -> Drawing:
    """A run's path drawn on ``structure`` (e.g. ``graph.structure()``), or on the part of the graph its
    steps went through."""
    return Drawing(run_mimebundle(result, structure))


def draw_runs(structure: Mapping[str, Any], results: Sequence[_Result]) -> Drawing:
    """Several runs of one graph side by side, each fork linked to its origin where it left it.

    >>> draw_runs(graph.structure(), [result, branch])  # doctest: +SKIP
    """
    overlays = [
        overlay_from_steps(
            r.records, start=str(structure["start"]), status=r.status, run_id=r.run_id, structure=structure
        )
        for r in results
    ]
    links = fork_links([(r.run_id, r.records) for r in results])
    return Drawing(runs_mimebundle(structure, overlays, links=links))


def run_mimebundle(result: _Result, structure: Mapping[str, Any] | None = None) -> dict[str, str]:
    """A run drawn on ``structure`` (default: the part of the graph its steps went through) with its trace."""
    records = tuple(result.records)
    trace = Trace.from_records(records).to_text()
    head = f"run {result.run_id}: {result.status}, {len(records)} steps"
    bundle = {"text/plain": f"{head}\n{trace}" if trace else head}
    if not records:
        return bundle
    drawn = structure if structure is not None else structure_from_steps(records, name="path taken")
    overlay = overlay_from_steps(
        records, start=str(drawn["start"]), status=result.status, run_id=result.run_id, structure=drawn
    )
    try:
        svg = to_svg(drawn, overlay)
    except DotNotFoundError:
        bundle["text/markdown"] = f"**{head}**\n\n```mermaid\n{to_mermaid(drawn, overlay)}\n```\n\n```\n{trace}\n```"
        return bundle
    bundle["text/html"] = (
        f"<div><p><b>{html.escape(head)}</b></p>{_strip_prolog(svg)}"
        f"<details><summary>trace</summary><pre>{html.escape(trace)}</pre></details></div>"
    )
    return bundle


def runs_mimebundle(
    structure: Mapping[str, Any], overlays: Sequence[Mapping[str, Any]], *, links: Iterable[RunLink] = ()
) -> dict[str, str]:
    """Several runs side by side: SVG with Graphviz, else one Mermaid block per run."""
    links = tuple(links)
    bundle = {"text/plain": to_ascii_runs(structure, overlays, links=links)}
    try:
        bundle["image/svg+xml"] = _pipe(to_dot_runs(structure, overlays, links=links), "svg").decode("utf-8")
    except DotNotFoundError:
        blocks = [f"```mermaid\n{to_mermaid(structure, overlay)}\n```" for overlay in overlays]
        bundle["text/markdown"] = "\n\n".join(blocks)
    return bundle


def _strip_prolog(svg: str) -> str:
    """SVG without its XML prolog and doctype, which are not allowed inside HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
