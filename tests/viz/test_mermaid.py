# The multiplication sign in run counts is output under test, not a look-alike typo.
from __future__ import annotations

import copy
import doctest
import importlib
import re
from typing import Any

from loomflow.viz import to_mermaid

# A node definition: id, then one of the shapes the renderer uses, label quoted.
NODE = re.compile(r'^\s*(\w+)(\[\[|\{\{|\(\(|\[)"([^"]*)"(\]\]|\}\}|\)\)|\])$')
LINK = re.compile(r'^\s*(\w+) (-->|==>|-\.->)(?:\|"([^"]*)"\|)? (\w+)$')


def nodes(text: str) -> dict[str, tuple[str, str]]:
    """id -> (opening bracket, label) for every node definition."""
    return {m[1]: (m[2], m[3]) for line in text.splitlines() if (m := NODE.match(line))}


def links(text: str) -> list[tuple[str, str, str, str]]:
    """(source id, arrow, label, target id) for every link, in order."""
    return [(m[1], m[2], m[3] or "", m[4]) for line in text.splitlines() if (m := LINK.match(line))]


def test_header_and_start_end_circles(linear: dict[str, Any]) -> None:
    text = to_mermaid(linear)
    assert text.splitlines()[:2] == ["flowchart TD", "    %% linear"]
    found = nodes(text)
    assert found["__start__"] == ("((", "start")
    assert found["__end__"] == ("((", "end")
    assert links(text) == [
        ("__start__", "-->", "", "n_intake"),
        ("n_intake", "-->", "", "n_plan"),
        ("n_plan", "-->", "", "n_answer"),
        ("n_answer", "-->", "", "__end__"),
    ]


def test_every_line_is_a_known_statement(looped: dict[str, Any], nested: dict[str, Any]) -> None:
    # Guards the regexes above: a line they miss would silently escape the other tests.
    statement = re.compile(r"^\s*(subgraph \w+\[\"[^\"]*\"\]|end|classDef \w+ \S+|class [\w,]+ \w+)$")
    for structure in (looped, nested):
        body = to_mermaid(structure).splitlines()[2:]
        for line in body:
            assert NODE.match(line) or LINK.match(line) or statement.match(line), line


def test_ids_are_sanitised_and_labels_are_short_names(looped: dict[str, Any]) -> None:
    found = nodes(to_mermaid(looped))
    assert found["n_harness_model_call"] == ("[[", "model_call ↻20")
    assert found["n_harness_approve"] == ("{{", "⏸ approve")
    assert found["n_harness_tool"] == ("[", "tool")
    assert found["n_intake"] == ("[", "intake")


def test_every_edge_is_drawn_with_its_route(looped: dict[str, Any]) -> None:
    assert links(to_mermaid(looped)) == [
        ("__start__", "-->", "", "n_intake"),
        ("n_intake", "-->", "", "n_harness_model_call"),
        ("n_harness_model_call", "-->", "tool_calls", "n_harness_approve"),
        ("n_harness_model_call", "-->", "final", "__end__"),
        ("n_harness_approve", "-->", "approved", "n_harness_tool"),
        ("n_harness_approve", "-->", "denied", "n_harness_model_call"),
        ("n_harness_tool", "-->", "", "n_harness_model_call"),
    ]


def test_nested_subgraphs_hold_their_nodes(nested: dict[str, Any]) -> None:
    lines = [line.strip() for line in to_mermaid(nested).splitlines()]
    outer = lines.index('subgraph c_review["review"]')
    inner = lines.index('subgraph c_review_inner["inner #quot;checks#quot;"]')
    inner_end = lines.index("end", inner)
    outer_end = lines.index("end", inner_end + 1)
    assert outer < inner < inner_end < outer_end
    assert lines[outer + 1] == 'n_review_collect["collect"]'
    assert lines[inner + 1 : inner_end] == [
        'n_review_inner_check[["check ↻3"]]',
        'n_review_inner_say["say #quot;hi#quot; \\ there"]',
    ]
    assert lines.count("end") == 2


def test_quotes_and_markup_are_escaped() -> None:
    structure = {
        "name": 'say "hi"',
        "start": "a",
        "nodes": [{"path": "a", "label": 'a "quoted" <b>#1</b>'}],
        "edges": [{"source": "a", "target": "__end__", "route": 'yes "really"'}],
    }
    text = to_mermaid(structure)
    assert text.splitlines()[1] == '    %% say "hi"'
    assert nodes(text)["n_a"] == ("[", "a #quot;quoted#quot; #lt;b#gt;#35;1#lt;/b#gt;")
    assert ("n_a", "-->", "yes #quot;really#quot;", "__end__") in links(text)


def test_colliding_and_keyword_paths_get_distinct_ids() -> None:
    structure = {
        "name": "g",
        "start": "a/b",
        "nodes": [{"path": "a/b"}, {"path": "a_b"}, {"path": "end"}, {"path": "a.b"}],
        "edges": [{"source": "a/b", "target": "a_b"}, {"source": "a_b", "target": "end"}],
    }
    ids = set(nodes(to_mermaid(structure)))
    assert ids == {"__start__", "__end__", "n_a_b", "n_a_b_2", "n_end", "n_a_b_3"}


def test_class_defs_only_for_what_is_used(linear: dict[str, Any], looped: dict[str, Any]) -> None:
    plain = to_mermaid(linear)
    assert "classDef limit" not in plain
    assert "classDef interrupt" not in plain
    text = to_mermaid(looped)
    assert "class n_harness_model_call limit" in text
    assert "class n_harness_approve interrupt" in text
    assert "classDef visited" not in text


def test_overlay_thickens_taken_edges_and_marks_nodes(looped: dict[str, Any], looped_run: dict[str, Any]) -> None:
    text = to_mermaid(looped, looped_run)
    assert text.splitlines()[1] == "    %% single_run · run r1 · interrupted"
    assert links(text) == [
        ("__start__", "==>", "×1", "n_intake"),
        ("n_intake", "==>", "×1", "n_harness_model_call"),
        ("n_harness_model_call", "==>", "tool_calls ×2", "n_harness_approve"),
        ("n_harness_model_call", "-.->", "final", "__end__"),
        ("n_harness_approve", "==>", "approved ×1", "n_harness_tool"),
        ("n_harness_approve", "-.->", "denied", "n_harness_model_call"),
        ("n_harness_tool", "==>", "×1", "n_harness_model_call"),
    ]
    found = nodes(text)
    assert found["n_harness_model_call"][1] == "model_call ↻20<br/>2 visits · 1.50s · 1,500 tok"
    assert found["n_harness_approve"][1] == "⏸ approve<br/>2 visits<br/>⏸ waiting here"
    assert "class n_intake,n_harness_model_call,n_harness_tool visited" in text
    assert "class n_harness_approve waiting" in text
    assert "classDef failed" not in text


def test_overlay_marks_the_failed_node(looped: dict[str, Any], failed_run: dict[str, Any]) -> None:
    text = to_mermaid(looped, failed_run)
    assert nodes(text)["n_harness_tool"][1] == "tool<br/>1 visit · 120ms<br/>✗ failed"
    assert "class n_harness_tool failed" in text
    # The failure wins: the class for it is defined last, so its colours apply over "visited".
    assert text.index("classDef failed") > text.index("classDef visited")


def test_output_is_deterministic(nested: dict[str, Any], looped: dict[str, Any], looped_run: Any) -> None:
    assert to_mermaid(nested) == to_mermaid(copy.deepcopy(nested))
    assert to_mermaid(looped, looped_run) == to_mermaid(copy.deepcopy(looped), copy.deepcopy(looped_run))


def test_snapshots(looped: dict[str, Any], looped_run: dict[str, Any], nested: dict[str, Any], snapshot: Any) -> None:
    assert to_mermaid(looped) == snapshot
    assert to_mermaid(looped, looped_run) == snapshot
    assert to_mermaid(nested) == snapshot


def test_docstring_example_runs() -> None:
    result = doctest.testmod(importlib.import_module("loomflow.viz.mermaid"))
    assert result.attempted > 0
    assert result.failed == 0
