"""Golden pictures and traversals of the prebuilt graphs.

Every factory in ``loomflow.graphs.__all__`` that takes no required argument gets a Mermaid snapshot
with no edit here; a new harness adds its traversal as one more ``SCENARIOS`` entry. Refresh the files
with ``pytest tests/testing --snapshot-update`` after an intended change, and the docstring pictures with
``python -m loomflow.graphs``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import loomflow.agent  # before loomflow.graphs, which the agent package imports
from loomflow import Runtime, ToolCall, tool
from loomflow.graphs._docs import docstring_mermaid, graph_modules
from loomflow.testing.snapshots import prebuilt_graphs, scripted_run

GRAPHS = prebuilt_graphs()
_AGENT = loomflow.agent  # keep the import: it orders the package imports


@tool(read_only=True)
def list_files() -> str:
    """List the workspace."""
    return "README.md\nTODO.md"


@tool(destructive=True, require_approval=True)
def write_note(text: str) -> str:
    """Write a note (needs approval)."""
    return f"wrote {len(text)} characters"


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One representative run: the script the model follows and the answers given at each interrupt."""

    script: tuple[Any, ...]
    tools: tuple[Any, ...] = ()
    answers: tuple[Any, ...] = ()
    runtime: Runtime | None = None


SCENARIOS = {
    "agent_run": Scenario(("Hello!",)),
    "single_run": Scenario(
        (ToolCall("list_files", {}), ToolCall("write_note", {"text": "ship it"}), "Listed and wrote the note."),
        tools=(list_files, write_note),
        answers=("approve",),
    ),
}


def test_every_prebuilt_graph_is_found() -> None:
    assert {"agent_run", "single_run"} <= set(GRAPHS)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_structure(name: str, trace_snapshot: Any) -> None:
    assert GRAPHS[name]() == trace_snapshot


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_traversal(name: str, trace_snapshot: Any) -> None:
    s = SCENARIOS[name]
    result = scripted_run(list(s.script), tools=s.tools, answers=s.answers, runtime=s.runtime)
    assert result.status == "completed", result.error
    assert result.trace == trace_snapshot


@pytest.mark.parametrize("module", graph_modules(), ids=lambda p: p.stem)
def test_docstring_picture_is_the_graph(module: Path) -> None:
    shown, drawn = docstring_mermaid(module)
    assert shown == drawn, f"{module.name}: its docstring picture is stale; run `python -m loomflow.graphs`"


def test_refresh_rewrites_only_the_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loomflow.graphs import _docs

    real = Path(_docs.__file__).with_name("single_run.py")
    stale = _docs._BLOCK.sub("```mermaid\nMERMAID\n```", real.read_text(), count=1)
    (tmp_path / "single_run.py").write_text(stale)
    monkeypatch.setattr(_docs, "HERE", tmp_path)
    assert _docs.stale_docstrings() == ["single_run"]
    assert _docs.refresh_docstrings() == ["single_run"]
    drawn = docstring_mermaid(real)[1]
    assert (tmp_path / "single_run.py").read_text() == stale.replace("MERMAID", drawn, 1)
    assert _docs.stale_docstrings() == []
    assert _docs.refresh_docstrings() == []
