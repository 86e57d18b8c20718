"""Keeping each prebuilt graph's docstring picture current: ``python -m loomflow.graphs``.

A module ``graphs/<name>.py`` whose docstring holds a fenced ``mermaid`` block draws the graph its
function ``<name>()`` builds; ``refresh_docstrings()`` rewrites those blocks from ``to_mermaid()`` and
a snapshot test fails while any is stale, so the picture a reader sees is the graph that runs.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

__all__ = ["docstring_mermaid", "graph_modules", "refresh_docstrings", "stale_docstrings"]

HERE = Path(__file__).resolve().parent
_BLOCK = re.compile(r"(```mermaid\n)(.*?)(\n```)", re.S)


def graph_modules() -> list[Path]:
    """The public modules of this package whose docstring holds a mermaid block."""
    return [p for p in sorted(HERE.glob("*.py")) if not p.name.startswith("_") and _docstring_block(p) is not None]


def docstring_mermaid(module: Path) -> tuple[str, str]:
    """(what the docstring shows, what the graph draws) for one module."""
    shown = _docstring_block(module)
    if shown is None:
        raise ValueError(f"{module.name} has no ```mermaid block in its docstring")
    factory = getattr(importlib.import_module(f"loomflow.graphs.{module.stem}"), module.stem, None)
    if not callable(factory):
        raise ValueError(
            f"{module.name} draws a mermaid block but defines no function {module.stem}() that builds the graph; "
            f"name the factory after the module"
        )
    drawn = factory().to_mermaid()
    if "\\" in drawn or '"""' in drawn:
        raise ValueError(f"the Mermaid of {module.stem}() cannot sit inside a docstring (a backslash or triple quote)")
    return shown, drawn


def stale_docstrings() -> list[str]:
    """Names of the modules whose docstring picture differs from their graph."""
    return [p.stem for p in graph_modules() if (pair := docstring_mermaid(p))[0] != pair[1]]


def refresh_docstrings() -> list[str]:
    """Rewrite every stale docstring picture in place; returns the modules changed."""
    changed = []
    for path in graph_modules():
        shown, drawn = docstring_mermaid(path)
        if shown == drawn:
            continue
        source = path.read_text()
        start, end = _docstring_span(source)
        match = _BLOCK.search(source, start, end)
        assert match is not None  # graph_modules() found the block
        doc = source[start : match.start(2)] + drawn + source[match.end(2) : end]
        path.write_text(source[:start] + doc + source[end:])
        changed.append(path.stem)
    return changed


def _docstring_span(source: str) -> tuple[int, int]:
    tree = ast.parse(source)
    first = tree.body[0] if tree.body else None
    if not (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    ):
        return 0, 0
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: first.lineno - 1]) + first.col_offset
    assert first.end_lineno is not None
    assert first.end_col_offset is not None
    end = sum(len(line) for line in lines[: first.end_lineno - 1]) + first.end_col_offset
    return start, end


def _docstring_block(path: Path) -> str | None:
    source = path.read_text()
    start, end = _docstring_span(source)
    match = _BLOCK.search(source[start:end])
    return match.group(2) if match else None
