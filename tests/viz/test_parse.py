from __future__ import annotations

from typing import Any

import pytest

from loomflow.viz import to_ascii
from loomflow.viz._parse import parse
from loomflow.viz._structure import Block, Node


def minimal(**changes: Any) -> dict[str, Any]:
    return {
        "name": "g",
        "start": "a",
        "nodes": [{"path": "a"}, {"path": "b"}],
        "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "__end__"}],
        **changes,
    }


def test_optional_fields_default_to_a_plain_node() -> None:
    structure = minimal(nodes=[{"path": "a"}, {"path": "x/b", "cluster": None}], edges=[])
    diagram, run = parse(structure, None)
    assert run is None
    assert diagram.nodes[1] == Node(path="x/b", label="b", cluster=None, interrupts=False, limit=None)
    assert diagram.clusters == ()


def test_extra_keys_from_the_kernel_are_ignored(looped: dict[str, Any]) -> None:
    # Graph.structure() also stores the state schema; drawing must not trip over it.
    assert to_ascii({**looped, "state": {"messages": "list"}, "state_version": 2}) == to_ascii(looped)


def test_order_is_breadth_first_along_declared_edges(looped: dict[str, Any]) -> None:
    diagram, _ = parse(looped, None)
    assert [n.path for n in diagram.order()] == [
        "intake",
        "harness/model_call",
        "harness/approve",
        "harness/tool",
    ]


def test_layout_keeps_clusters_whole_and_draws_empty_ones_last(nested: dict[str, Any]) -> None:
    nested["clusters"].append({"path": "unused", "label": "unused", "parent": None})
    diagram, _ = parse(nested, None)

    def shape(block: Block) -> list[Any]:
        items: list[Any] = []
        for item in block.items:
            if isinstance(item, Node):
                items.append(item.path)
            else:
                assert item.cluster is not None
                items.append({item.cluster.path: shape(item)})
        return items

    assert shape(diagram.layout()) == [
        "triage",
        {"review": ["review/collect", {"review/inner": ["review/inner/check", "review/inner/say"]}]},
        "report",
        {"unused": []},
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": "zz"}, "starts at 'zz', which is not in its nodes"),
        ({"edges": [{"source": "a", "target": "zz"}]}, "edge a -> zz, but 'zz' is not in its nodes"),
        ({"edges": [{"source": "zz", "target": "a"}]}, "edge zz -> a, but 'zz' is not in its nodes"),
        ({"nodes": [{"path": "a"}, {"path": "a"}]}, "lists node 'a' twice"),
        ({"nodes": [{"path": "a"}, {"path": "__end__"}]}, "reserved"),
        (
            {"nodes": [{"path": "a", "cluster": "c"}, {"path": "b"}]},
            "cluster 'c', which is not in its clusters",
        ),
        ({"clusters": [{"path": "c", "parent": "nope"}]}, "nests cluster 'c' in undeclared cluster 'nope'"),
        ({"clusters": [{"path": "c", "parent": "d"}, {"path": "d", "parent": "c"}]}, "inside itself"),
        ({"nodes": [{"path": "a", "limit": "3"}, {"path": "b"}]}, "'limit' must be an int or None"),
        ({"nodes": "a, b"}, "'nodes' must be a list of dicts"),
        ({"name": None}, "'name' must be a string"),
    ],
)
def test_bad_structures_name_the_problem(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse(minimal(**changes), None)


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ({"failed": "zz"}, "failed names node 'zz', which the graph does not have"),
        ({"waiting": "zz"}, "waiting names node 'zz'"),
        ({"node_stats": {"zz": {"visits": 1}}}, "node_stats names node 'zz'"),
        ({"edge_counts": {("a", "zz"): 1}}, "edge_counts names node 'zz'"),
        ({"edge_counts": {"a->b": 1}}, r"edge_counts wants \(source, target\) -> int"),
        ({"node_stats": {"a": {"visits": "many"}}}, "'visits' must be a number"),
    ],
)
def test_bad_overlays_name_the_problem(overlay: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(minimal(), overlay)


def test_overlay_counts_accept_start_and_end_and_list_keys() -> None:
    _, run = parse(minimal(), {"edge_counts": {("__start__", "a"): 1, ("b", "__end__"): 1, ("a", "b"): 2}})
    assert run is not None
    assert (run.count("__start__", "a"), run.count("a", "b"), run.count("b", "__end__")) == (1, 2, 1)
    assert run.count("b", "a") == 0
    assert run.visited("a")
    _, empty = parse(minimal(), {})
    assert empty is not None
    assert not empty.visited("a")


def test_durations_and_counts_read_naturally() -> None:
    stats = {"a": {"visits": 1, "seconds": 0.0004}, "b": {"visits": 12, "seconds": 125.0, "tokens": 1234567}}
    _, run = parse(minimal(), {"node_stats": stats})
    assert run is not None
    assert run.stats("a") == "1 visit · 0ms"
    assert run.stats("b") == "12 visits · 2m05s · 1,234,567 tok"
