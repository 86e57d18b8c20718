"""Image files (SVG, PNG, PDF) of a graph structure, drawn by Graphviz.

Graphviz is two optional things: the ``graphviz`` Python package
(``loomflow[render]``) and the ``dot`` program from the system's package
manager. Both are looked for only when a picture is asked for, so importing
``loomflow.viz`` never pays for them, and a missing one is reported as
``DotNotFoundError`` with the command that fixes it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loomflow.viz.ascii import to_ascii
from loomflow.viz.dot import to_dot
from loomflow.viz.mermaid import to_mermaid

FORMATS = ("svg", "png", "pdf")

_FIX = (
    "install the Graphviz program with `apt-get install graphviz` (Debian/Ubuntu) or "
    "`brew install graphviz` (macOS), and the Python package with `pip install 'loomflow[render]'`. "
    "to_ascii() and to_mermaid() need neither, and to_dot() gives the DOT text without them."
)


class DotNotFoundError(RuntimeError):
    """Graphviz (the ``dot`` program or the ``graphviz`` package) is not installed.

    >>> str(DotNotFoundError("`dot` is not on PATH")).startswith("`dot`")
    True
    """


def render(
    structure: Mapping[str, Any],
    path: str | Path,
    overlay: Mapping[str, Any] | None = None,
    format: str | None = None,
) -> Path:
    """Write a picture of the structure to ``path``; the format comes from its suffix unless given.

    >>> render(graph, "single_run.svg")  # doctest: +SKIP
    PosixPath('single_run.svg')
    """
    path = Path(path)
    chosen = (format or path.suffix.removeprefix(".")).lower()
    if chosen not in FORMATS:
        raise ValueError(
            f"cannot render {str(path)!r} as {chosen or 'an unknown format'!r}; "
            f"use a file ending in one of {', '.join('.' + f for f in FORMATS)} or pass format=."
        )
    path.write_bytes(_pipe(to_dot(structure, overlay), chosen))
    return path


def to_svg(structure: Mapping[str, Any], overlay: Mapping[str, Any] | None = None) -> str:
    """The structure as SVG text, e.g. for a notebook object's ``_repr_svg_``.

    >>> to_svg(graph).startswith("<?xml")  # doctest: +SKIP
    True
    """
    return _pipe(to_dot(structure, overlay), "svg").decode("utf-8")


def _pipe(source: str, format: str) -> bytes:
    # Checking PATH first gives the clear error even where the package is installed.
    if shutil.which("dot") is None:
        raise DotNotFoundError(f"Graphviz's `dot` program is not on PATH; {_FIX}")
    try:
        import graphviz
    except ImportError as exc:
        raise DotNotFoundError(f"the `graphviz` Python package is not installed; {_FIX}") from exc
    try:
        data = graphviz.Source(source).pipe(format=format)
    except graphviz.ExecutableNotFound as exc:
        raise DotNotFoundError(f"Graphviz's `dot` program could not be run; {_FIX}") from exc
    if not isinstance(data, bytes):  # the package ships no types; hold it to its documented contract
        raise TypeError(f"graphviz returned {type(data).__name__}, expected bytes")
    return data


def mimebundle(structure: Mapping[str, Any], overlay: Mapping[str, Any] | None = None) -> dict[str, str]:
    """What a notebook shows for a graph: SVG when Graphviz is there, else Mermaid; text always.

    >>> sorted(mimebundle(graph))  # doctest: +SKIP
    ['image/svg+xml', 'text/plain']
    """
    bundle = {"text/plain": to_ascii(structure, overlay)}
    try:
        bundle["image/svg+xml"] = to_svg(structure, overlay)
    except DotNotFoundError:
        # JupyterLab (4.1+) and VS Code draw Mermaid in markdown, so no install is needed to see a picture.
        bundle["text/markdown"] = f"```mermaid\n{to_mermaid(structure, overlay)}\n```"
    return bundle
