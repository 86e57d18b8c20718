# The multiplication sign in run counts is output under test, not a look-alike typo.
from __future__ import annotations

import copy
import doctest
import importlib
from typing import Any

from loomflow.viz import to_ascii


def test_linear_graph_reads_top_to_bottom(linear: dict[str, Any]) -> None:
    assert to_ascii(linear) == "\n".join(
        [
            "linear",
            "[intake] (start)",
            "  --> plan",
            "[plan]",
            "  --> answer",
            "[answer]",
            "  --> END",
        ]
    )


def test_every_node_edge_and_marker_is_shown(looped: dict[str, Any]) -> None:
    text = to_ascii(looped)
    lines = text.splitlines()
    assert lines[0] == "single_run"
    assert "[intake] (start)" in lines
    assert "│ [harness/model_call] ↻20 (max 20 visits)" in lines
    assert "│ [harness/approve] ⏸ (interrupt)" in lines
    for edge_line in [
        "  --> harness/model_call",
        "│   --tool_calls--> harness/approve",
        "│   --final--> END",
        "│   --approved--> harness/tool",
        "│   --denied--> harness/model_call",
        "│   --> harness/model_call",
    ]:
        assert edge_line in lines
    assert len(lines) == 1 + 4 + 6 + 2  # title, nodes, edges, cluster top and bottom


def test_cluster_box_encloses_exactly_its_nodes(looped: dict[str, Any]) -> None:
    lines = to_ascii(looped).splitlines()
    top, bottom = lines.index("┌─ harness: single_run"), lines.index("└─")
    inside = [line for line in lines[top + 1 : bottom] if "[" in line]
    assert inside == [
        "│ [harness/model_call] ↻20 (max 20 visits)",
        "│ [harness/approve] ⏸ (interrupt)",
        "│ [harness/tool]",
    ]
    assert all(line.startswith("│ ") for line in lines[top + 1 : bottom])


def test_nested_clusters_nest_boxes_and_stay_contiguous(nested: dict[str, Any]) -> None:
    lines = to_ascii(nested).splitlines()
    assert "┌─ review" in lines
    assert '│ ┌─ inner "checks"' in lines
    assert "│ │ [review/inner/check] ↻3 (max 3 visits)" in lines
    assert "│ │ [review/inner/say]" in lines
    assert "│ └─" in lines
    # "say" is declared before "collect" but is drawn inside its own box, after it.
    assert lines.index("│ [review/collect]") < lines.index('│ ┌─ inner "checks"')
    # "report" is reached from triage first, yet the review box is drawn whole, not split.
    assert lines.index("└─") < lines.index("[report]")
    assert '  --needs "review"--> review/collect' in lines


def test_overlay_shows_counts_stats_and_where_the_run_waits(looped: dict[str, Any], looped_run: dict[str, Any]) -> None:
    lines = to_ascii(looped, looped_run).splitlines()
    assert lines[0] == "single_run · run r1 · interrupted"
    assert "[intake] (start)  · 1 visit · 2ms" in lines
    assert "│ [harness/model_call] ↻20 (max 20 visits)  · 2 visits · 1.50s · 1,500 tok" in lines
    assert "│ [harness/approve] ⏸ (interrupt)  · 2 visits  ⏸ waiting here" in lines
    assert "│   --tool_calls--> harness/approve  ×2" in lines
    assert "│   --final--> END  ×0" in lines
    assert "│   --denied--> harness/model_call  ×0" in lines
    assert "✗" not in "\n".join(lines)


def test_overlay_marks_the_failed_node(looped: dict[str, Any], failed_run: dict[str, Any]) -> None:
    text = to_ascii(looped, failed_run)
    assert "│ [harness/tool]  · 1 visit · 120ms  ✗ failed" in text.splitlines()
    assert "waiting here" not in text


def test_dead_ends_and_unreachable_nodes_are_still_drawn() -> None:
    structure = {
        "name": "g",
        "start": "a",
        "nodes": [{"path": "orphan"}, {"path": "a"}, {"path": "b"}],
        "edges": [{"source": "a", "target": "b"}],
    }
    assert to_ascii(structure).splitlines() == [
        "g",
        "[a] (start)",
        "  --> b",
        "[b]",
        "  (no out-edges)",
        "[orphan]",
        "  (no out-edges)",
    ]


def test_output_is_deterministic(nested: dict[str, Any], looped: dict[str, Any], looped_run: Any) -> None:
    assert to_ascii(nested) == to_ascii(copy.deepcopy(nested))
    assert to_ascii(looped, looped_run) == to_ascii(copy.deepcopy(looped), copy.deepcopy(looped_run))


def test_snapshots(looped: dict[str, Any], looped_run: dict[str, Any], nested: dict[str, Any], snapshot: Any) -> None:
    assert to_ascii(looped) == snapshot
    assert to_ascii(looped, looped_run) == snapshot
    assert to_ascii(nested) == snapshot


def test_docstring_example_runs() -> None:
    result = doctest.testmod(importlib.import_module("loomflow.viz.ascii"))
    assert result.attempted > 0
    assert result.failed == 0
