# The multiplication sign in run counts is output under test, not a look-alike typo.
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from loomflow.viz import DotNotFoundError, mimebundle, render, to_svg

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def render_module() -> ModuleType:
    # ``loomflow.viz.render`` as an attribute is the function, which shadows the module.
    return importlib.import_module("loomflow.viz._render")


@pytest.fixture
def no_dot_on_path(render_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module.shutil, "which", lambda name: None)


@pytest.mark.usefixtures("graphviz_installed")
def test_render_svg_png_and_pdf_by_suffix(tmp_path: Path, looped: dict[str, Any], looped_run: dict[str, Any]) -> None:
    svg = render(looped, tmp_path / "g.svg", looped_run)
    assert svg == tmp_path / "g.svg"
    text = svg.read_text(encoding="utf-8")
    assert text.startswith(("<?xml", "<svg"))
    assert "harness/model_call" in text
    assert "tool_calls ×2" in text

    png = render(looped, str(tmp_path / "g.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    pdf = render(looped, tmp_path / "g.PDF")
    assert pdf.read_bytes()[:5] == b"%PDF-"


@pytest.mark.usefixtures("graphviz_installed")
def test_format_argument_wins_over_the_suffix(tmp_path: Path, linear: dict[str, Any]) -> None:
    out = render(linear, tmp_path / "picture", format="png")
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.usefixtures("graphviz_installed")
def test_to_svg_returns_text(nested: dict[str, Any]) -> None:
    svg = to_svg(nested)
    assert svg.lstrip().startswith(("<?xml", "<svg"))
    assert "cluster_review/inner" in svg


@pytest.mark.usefixtures("graphviz_installed")
def test_mimebundle_prefers_svg(linear: dict[str, Any]) -> None:
    bundle = mimebundle(linear)
    assert sorted(bundle) == ["image/svg+xml", "text/plain"]
    assert bundle["text/plain"].startswith("linear\n[intake] (start)")


@pytest.mark.parametrize("name", ["g.jpeg", "g"])
def test_unknown_formats_are_refused_before_drawing(tmp_path: Path, linear: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        render(linear, tmp_path / name)
    assert not (tmp_path / name).exists()


@pytest.mark.usefixtures("no_dot_on_path")
def test_missing_dot_program_names_the_fix(tmp_path: Path, linear: dict[str, Any]) -> None:
    with pytest.raises(DotNotFoundError) as caught:
        render(linear, tmp_path / "g.svg")
    message = str(caught.value)
    assert "`dot` program is not on PATH" in message
    assert "apt-get install graphviz" in message
    assert "brew install graphviz" in message
    assert "pip install 'loomflow[render]'" in message
    assert "to_ascii()" in message
    assert "to_mermaid()" in message
    assert not (tmp_path / "g.svg").exists()
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.usefixtures("no_dot_on_path")
def test_mimebundle_falls_back_to_mermaid_without_graphviz(looped: dict[str, Any]) -> None:
    bundle = mimebundle(looped)
    assert sorted(bundle) == ["text/markdown", "text/plain"]
    assert bundle["text/markdown"].startswith("```mermaid\nflowchart TD\n")
    assert bundle["text/markdown"].endswith("\n```")
    with pytest.raises(DotNotFoundError):
        to_svg(looped)


def test_missing_python_package_names_the_fix(
    render_module: ModuleType, monkeypatch: pytest.MonkeyPatch, linear: dict[str, Any]
) -> None:
    monkeypatch.setattr(render_module.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes ``import graphviz`` raise ImportError
    with pytest.raises(DotNotFoundError, match="`graphviz` Python package is not installed") as caught:
        to_svg(linear)
    assert "pip install 'loomflow[render]'" in str(caught.value)


def test_dot_vanishing_after_the_check_is_still_reported(
    render_module: ModuleType,
    graphviz_package: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    linear: dict[str, Any],
) -> None:
    graphviz = graphviz_package

    def pipe(*args: Any, **kwargs: Any) -> bytes:
        raise graphviz.ExecutableNotFound(["dot", "-Tsvg"])

    monkeypatch.setattr(render_module.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(graphviz.Source, "pipe", pipe)
    with pytest.raises(DotNotFoundError, match="could not be run") as caught:
        to_svg(linear)
    assert "apt-get install graphviz" in str(caught.value)


def test_importing_viz_does_not_import_graphviz() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    code = "import sys, loomflow.viz; assert 'graphviz' not in sys.modules, 'graphviz imported eagerly'"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_docstring_examples_run() -> None:
    import doctest

    result = doctest.testmod(importlib.import_module("loomflow.viz._render"))
    assert result.attempted > 0
    assert result.failed == 0
