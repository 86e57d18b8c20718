# The multiplication sign in run counts is output under test, not a look-alike typo.
from __future__ import annotations

import copy
import doctest
import importlib
import re
import subprocess
from typing import Any

import pytest

from loomflow.viz import to_dot


def statement(text: str, head: str) -> str:
    """The one line whose statement starts with ``head`` (a node id or ``"a" -> "b"``)."""
    lines = [line.strip() for line in text.splitlines()]
    found = [line for line in lines if line.startswith(head + " [") or line == head + ";"]
    assert len(found) == 1, (head, found)
    return found[0]


def test_nodes_edges_and_pseudo_nodes(linear: dict[str, Any]) -> None:
    text = to_dot(linear)
    assert text.startswith('digraph "linear" {')
    assert text.endswith("}")
    assert statement(text, '"__start__"').startswith('"__start__" [label="start", shape=circle, style=filled')
    assert statement(text, '"__end__"') == '"__end__" [label="end", shape=Msquare, fontsize=9];'
    for path in ("intake", "plan", "answer"):
        assert statement(text, f'"{path}"') == f'"{path}" [label="{path}"];'
    for source, target in [
        ("__start__", "intake"),
        ("intake", "plan"),
        ("plan", "answer"),
        ("answer", "__end__"),
    ]:
        assert statement(text, f'"{source}" -> "{target}"') == f'"{source}" -> "{target}";'


def test_routes_limits_and_interrupts(looped: dict[str, Any]) -> None:
    text = to_dot(looped)
    assert statement(text, '"harness/model_call"') == (
        '"harness/model_call" [label="model_call\\nlimit 20", peripheries=2];'
    )
    approve = statement(text, '"harness/approve"')
    assert 'shape=octagon, color="darkorange"' in approve
    assert 'label="approve"' in approve
    assert statement(text, '"harness/model_call" -> "harness/approve"').endswith('[label="tool_calls"];')
    assert statement(text, '"harness/model_call" -> "__end__"').endswith('[label="final"];')
    assert statement(text, '"harness/tool" -> "harness/model_call"') == ('"harness/tool" -> "harness/model_call";')
    assert len(re.findall(r" -> ", text)) == 1 + len(looped["edges"])


def test_nested_clusters(nested: dict[str, Any]) -> None:
    lines = [line.strip() for line in to_dot(nested).splitlines()]
    outer = lines.index('subgraph "cluster_review" {')
    inner = lines.index('subgraph "cluster_review/inner" {')
    assert outer < inner
    assert lines[outer + 1].startswith('label="review";')
    assert lines[inner + 1].startswith('label="inner \\"checks\\"";')
    assert lines[inner + 2 : inner + 4] == [
        '"review/inner/check" [label="check\\nlimit 3", peripheries=2];',
        '"review/inner/say" [label="say \\"hi\\" \\\\ there"];',
    ]
    # Both clusters close, the inner one first, before the next top-level node.
    assert lines[inner + 4 : inner + 6] == ["}", "}"]
    assert lines[inner + 6] == '"report" [label="report"];'


def test_labels_are_escaped() -> None:
    structure = {
        "name": 'quote " and \\ slash',
        "start": 'say "hi"',
        "nodes": [{"path": 'say "hi"', "label": 'line\nbreak "q" \\N'}],
        "edges": [{"source": 'say "hi"', "target": "__end__", "route": 'r"'}],
    }
    text = to_dot(structure)
    assert text.startswith('digraph "quote \\" and \\\\ slash" {')
    # Backslashes are doubled, so Graphviz shows "\N" rather than the node's name.
    assert '"say \\"hi\\"" [label="line\\nbreak \\"q\\" \\\\N"];' in text
    assert '"say \\"hi\\"" -> "__end__" [label="r\\""];' in text


def test_overlay_bolds_taken_edges_and_greys_the_rest(looped: dict[str, Any], looped_run: dict[str, Any]) -> None:
    text = to_dot(looped, looped_run)
    assert 'graph [label="single_run · run r1 · interrupted"' in text
    assert statement(text, '"__start__" -> "intake"').endswith('[label="×1", penwidth=2];')
    assert statement(text, '"harness/model_call" -> "harness/approve"').endswith('[label="tool_calls ×2", penwidth=2];')
    untaken = statement(text, '"harness/model_call" -> "__end__"')
    assert untaken.endswith('[label="final", style=dashed, color="gray60", fontcolor="gray60"];')
    model = statement(text, '"harness/model_call"')
    assert 'label="model_call\\nlimit 20\\n2 visits · 1.50s · 1,500 tok"' in model
    assert 'style="rounded,filled"' in model
    waiting = statement(text, '"harness/approve"')
    assert 'label="approve\\n2 visits\\nwaiting here"' in waiting
    assert 'fillcolor="orange"' in waiting


def test_overlay_paints_the_failed_node_red(looped: dict[str, Any], failed_run: dict[str, Any]) -> None:
    tool = statement(to_dot(looped, failed_run), '"harness/tool"')
    assert 'label="tool\\n1 visit · 120ms\\nfailed"' in tool
    assert 'color="#c62828", fillcolor="#ffcdd2"' in tool


def test_overlay_greys_unvisited_nodes(linear: dict[str, Any]) -> None:
    text = to_dot(linear, {"edge_counts": {("intake", "plan"): 1}})
    assert 'color="gray60", fontcolor="gray50"' in statement(text, '"answer"')
    assert 'fillcolor="#e8f5e9"' in statement(text, '"plan"')


def test_output_is_deterministic(nested: dict[str, Any], looped: dict[str, Any], looped_run: Any) -> None:
    assert to_dot(nested) == to_dot(copy.deepcopy(nested))
    assert to_dot(looped, looped_run) == to_dot(copy.deepcopy(looped), copy.deepcopy(looped_run))


@pytest.mark.parametrize(
    ("name", "run"),
    [
        ("linear", None),
        ("looped", None),
        ("looped", "looped_run"),
        ("looped", "failed_run"),
        ("nested", None),
    ],
)
def test_real_dot_accepts_the_output(
    name: str, run: str | None, dot_program: str, request: pytest.FixtureRequest
) -> None:
    structure = request.getfixturevalue(name)
    overlay = request.getfixturevalue(run) if run else None
    done = subprocess.run(
        [dot_program, "-Tsvg"], input=to_dot(structure, overlay), capture_output=True, text=True, check=False
    )
    # Graphviz prints warnings (bad attributes, unknown colours) but still exits 0; both count.
    assert (done.returncode, done.stderr) == (0, "")
    assert "<svg" in done.stdout
    titles = set(re.findall(r"<title>(.*?)</title>", done.stdout))
    for node in structure["nodes"]:
        assert node["path"].replace('"', "&quot;") in titles


def test_snapshots(looped: dict[str, Any], looped_run: dict[str, Any], nested: dict[str, Any], snapshot: Any) -> None:
    assert to_dot(looped) == snapshot
    assert to_dot(looped, looped_run) == snapshot
    assert to_dot(nested) == snapshot


def test_docstring_example_runs() -> None:
    result = doctest.testmod(importlib.import_module("loomflow.viz.dot"))
    assert result.attempted > 0
    assert result.failed == 0
