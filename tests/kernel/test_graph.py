"""Graphs: validation that lists every problem, subgraph flattening, structure, fingerprint, drawings."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from loomflow import (
    END,
    Edge,
    FakeClock,
    Graph,
    GraphError,
    Interpreter,
    MemoryStore,
    Node,
    NodeContext,
    State,
    Update,
    add,
    append,
    node,
    sequential_ids,
)


class S(State):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()


class S2(State):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()
    note: str = ""


class SReplace(State):
    count: int = 0
    log: Annotated[tuple[str, ...], append] = ()


class SV2(State, version=2):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()


def step(name: str, route: str | None = None, **options: Any) -> Node:
    """A node named ``name`` that logs its name and takes ``route`` (default: its only or default edge)."""

    async def fn(ctx: NodeContext[Any]) -> Update:
        return Update({"log": [name]}, route=route)

    return node(name=name, **options)(fn)


def problems_of(build: Any) -> tuple[str, ...]:
    with pytest.raises(GraphError) as info:
        build()
    return info.value.problems


def one(problems: tuple[str, ...], *needles: str) -> str:
    """The single problem mentioning every needle."""
    hits = [p for p in problems if all(n in p for n in needles)]
    assert len(hits) == 1, f"expected one problem with {needles}, got {hits} among {problems}"
    return hits[0]


# ---------------------------------------------------------------------- validation


def test_edge_and_declaration_problems_are_reported_together() -> None:
    def build() -> Graph[S]:
        return Graph(
            "bad",
            state=S,
            nodes=[step("a"), step("a"), step("r", routes=("x", "y")), step("b")],
            edges=[("a", "r"), ("r", "b", "x"), ("ghost", "b"), ("b", "nowhere"), ("b", END, "done")],
            start="a",
        )

    problems = problems_of(build)
    assert len(problems) == 4
    assert "declare" in one(problems, "'a'", "declared twice", "unique name")
    assert "add it to the edges" in one(problems, "'r'", "'y'", "declares no edge")
    assert "declare it or fix the edge" in one(problems, "'ghost'", "is not a node")
    assert "declare it or use END" in one(problems, "'nowhere'", "is not a node")
    with pytest.raises(GraphError, match=r"graph 'bad' has 4 problem\(s\)"):
        build()


def test_bad_start_and_bad_names_are_reported() -> None:
    problems = problems_of(lambda: Graph("g", state=S, nodes=[step("a/b"), step("c")], edges=[], start="zz"))
    assert "fix start=" in one(problems, "start node 'zz'")
    assert "without '/'" in one(problems, "'a/b'")
    for reserved in ("__start__", "__end__"):  # the picture's and the graph's own end points
        problems = problems_of(lambda name=reserved: Graph("g", state=S, nodes=[step(name)], edges=[], start=name))
        assert "graph's own end points" in one(problems, f"node name {reserved!r}")


def test_reachability_and_cycle_problems_are_reported_together() -> None:
    def build() -> Graph[S]:
        return Graph(
            "shape",
            state=S,
            nodes=[
                step("a", routes=("trap", "loop")),
                step("island"),
                step("trap", max_visits=3),
                step("loop1"),
                step("loop2", routes=("back", "out")),
            ],
            edges=[
                ("a", "trap", "trap"),
                ("a", "loop1", "loop"),
                ("island", END),
                ("trap", "trap"),
                ("loop1", "loop2"),
                ("loop2", "loop1", "back"),
                ("loop2", END, "out"),
            ],
            start="a",
        )

    problems = problems_of(build)
    assert len(problems) == 3
    assert "add an edge to it or remove it" in one(problems, "'island'", "unreachable")
    assert "add an edge from it towards END" in one(problems, "'trap'", "cannot reach END")
    assert "give one of its nodes max_visits=N" in one(problems, "loop1 -> loop2 -> loop1", "no iteration limit")


def test_a_cycle_through_a_limited_node_is_accepted() -> None:
    g = Graph(
        "ok",
        state=S,
        nodes=[step("loop1", max_visits=5), step("loop2", routes=("back", "out"))],
        edges=[("loop1", "loop2"), ("loop2", "loop1", "back"), ("loop2", END, "out")],
        start="loop1",
    )
    assert set(g.table) == {"loop1", "loop2"}


def test_problems_of_both_kinds_are_reported_at_once() -> None:
    problems = problems_of(
        lambda: Graph(
            "both",
            state=S,
            nodes=[step("a", routes=("again", "out", "typo")), step("b")],
            edges=[("a", "b", "again"), ("b", "a"), ("a", END, "out")],
            start="a",
        )
    )
    one(problems, "'typo'")  # a route no edge takes
    one(problems, "no iteration limit")  # a -> b -> a without max_visits


def test_a_declared_route_without_its_edge_is_refused_even_with_a_default_edge() -> None:
    problems = problems_of(
        lambda: Graph(
            "g",
            state=S,
            nodes=[step("r", routes=("x", "y")), step("d")],
            edges=[("r", "d"), ("r", END, "x"), ("d", END)],
            start="r",
        )
    )
    one(problems, "'r'", "'y'")


def test_a_subgraph_exit_the_parent_does_not_declare() -> None:
    inner = Graph(
        "checker",
        state=S,
        nodes=[step("b", routes=("pass", "weird"))],
        edges=[("b", END, "pass"), ("b", END, "weird")],
        start="b",
    )
    problems = problems_of(
        lambda: Graph(
            "outer",
            state=S,
            nodes=[inner.as_node("harness"), step("ok"), step("ko")],
            edges=[("harness", "ok", "pass"), ("harness", "ko", "fail"), ("ok", END), ("ko", END)],
            start="harness",
        )
    )
    problem = one(problems, "harness/b", "'weird'")
    assert "exits subgraph 'harness'" in problem
    assert "add one" in problem


def test_state_schema_problems_fail_the_graph() -> None:
    class NoDefault(State):
        name: str

    with pytest.raises(GraphError, match="channel 'name' has no default"):
        Graph("g", state=NoDefault, nodes=[step("a")], edges=[("a", END)], start="a")


def test_lint_runs_each_nodes_rules() -> None:
    class Risky(Node):
        name = "risky"

        async def run(self, ctx: NodeContext[Any]) -> Update:
            return Update()

        def lint_problems(self) -> list[str]:
            return ["destructive tool 'rm' has no approval; set require_approval=True"]

    inner = Graph("inner", state=S, nodes=[Risky()], edges=[("risky", END)], start="risky")
    g = Graph("g", state=S, nodes=[step("a"), inner.as_node("h")], edges=[("a", "h"), ("h", END)], start="a")
    assert g.lint() == ["node 'h/risky': destructive tool 'rm' has no approval; set require_approval=True"]
    assert Graph("plain", state=S, nodes=[step("a")], edges=[("a", END)], start="a").lint() == []


# ---------------------------------------------------------------------- subgraphs


def harness_graph() -> Graph[S]:
    inner = Graph(
        "checker",
        state=S,
        nodes=[step("a"), step("b", "pass", routes=("pass", "fail"))],
        edges=[("a", "b"), ("b", END, "pass"), ("b", END, "fail")],
        start="a",
    )
    return Graph(
        "outer",
        state=S,
        nodes=[step("first"), inner.as_node("harness"), step("after"), step("fallback")],
        edges=[
            ("first", "harness"),
            ("harness", "after", "pass"),
            ("harness", "fallback"),
            ("after", END),
            ("fallback", END),
        ],
        start="first",
    )


def test_subgraph_nodes_get_paths_and_exits_follow_parent_edges() -> None:
    g = harness_graph()
    assert list(g.table) == ["first", "harness/a", "harness/b", "after", "fallback"]
    assert g.table["first"].out == {None: "harness/a"}
    assert g.table["harness/a"].out == {None: "harness/b"}
    # 'pass' exits by the parent's 'pass' edge; 'fail' has no parent edge and takes its default
    assert g.table["harness/b"].out == {"pass": "after", "fail": "fallback"}
    assert g.table["harness/b"].cluster == "harness"
    assert g.table["after"].cluster is None


def test_subgraph_as_start_and_nested_paths() -> None:
    deepest = Graph("leaf", state=S, nodes=[step("x")], edges=[("x", END)], start="x")
    middle = Graph(
        "middle", state=S, nodes=[deepest.as_node("mid"), step("y")], edges=[("mid", "y"), ("y", END)], start="mid"
    )
    root = Graph(
        "root", state=S, nodes=[middle.as_node("outer"), step("z")], edges=[("outer", "z"), ("z", END)], start="outer"
    )
    assert root.start_path == "outer/mid/x"
    assert list(root.table) == ["outer/mid/x", "outer/y", "z"]
    assert root.table["outer/mid/x"].out == {None: "outer/y"}
    assert root.table["outer/y"].out == {None: "z"}
    assert root.clusters == [
        {"path": "outer", "label": "outer: middle", "parent": None},
        {"path": "outer/mid", "label": "mid: leaf", "parent": "outer"},
    ]


def test_a_graph_given_as_a_node_is_named_after_the_graph() -> None:
    inner = Graph("inner", state=S, nodes=[step("x")], edges=[("x", END)], start="x")
    g = Graph("g", state=S, nodes=[inner], edges=[("inner", END)], start="inner")
    assert list(g.table) == ["inner/x"]
    assert g.clusters == [{"path": "inner", "label": "inner", "parent": None}]


async def test_a_run_records_subgraph_paths() -> None:
    interp = Interpreter(harness_graph(), store=MemoryStore(), clock=FakeClock(), ids=sequential_ids())
    result = await interp.run()
    assert result.status == "completed"
    assert result.trace.nodes == ["first", "harness/a", "harness/b", "after"]
    assert result.state.log == ("first", "a", "b", "after")


# ---------------------------------------------------------------------- views


def test_structure_content() -> None:
    s = harness_graph().structure()
    assert s["name"] == "outer"
    assert s["start"] == "first"
    assert s["state"] == ["count: int [add]", "log: tuple[str, ...] [append]"]
    assert s["state_version"] == 1
    assert s["clusters"] == [{"path": "harness", "label": "harness: checker", "parent": None}]
    assert s["nodes"][1] == {
        "path": "harness/a",
        "label": "a",
        "cluster": "harness",
        "interrupts": False,
        "limit": None,
    }
    assert [n["path"] for n in s["nodes"]] == ["first", "harness/a", "harness/b", "after", "fallback"]
    assert {(e["source"], e["target"], e["route"]) for e in s["edges"]} == {
        ("first", "harness/a", None),
        ("harness/a", "harness/b", None),
        ("harness/b", "after", "pass"),
        ("harness/b", "fallback", "fail"),
        ("after", END, None),
        ("fallback", END, None),
    }


def test_structure_describes_limits_and_interrupts() -> None:
    g = Graph(
        "g",
        state=S,
        nodes=[step("a", max_visits=4, interrupts=True)],
        edges=[("a", "a", "again"), ("a", END, "done")],
        start="a",
    )
    (n,) = g.structure()["nodes"]
    assert n["limit"] == 4
    assert n["interrupts"] is True


def linear(state: type[State] = S, *, extra_edge: bool = False) -> Graph[Any]:
    edges: list[Any] = [("a", "b"), Edge("b", END)]
    if extra_edge:
        edges = [("a", "b", "go"), ("a", END, "skip"), Edge("b", END)]
    return Graph("linear", state=state, nodes=[step("a"), step("b")], edges=edges, start="a")


def test_fingerprint_is_stable_across_constructions() -> None:
    assert linear().fingerprint == linear().fingerprint
    assert len(linear().fingerprint) == 16


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda: linear(extra_edge=True), id="edge"),
        pytest.param(lambda: linear(S2), id="channel-added"),
        pytest.param(lambda: linear(SReplace), id="reducer"),
        pytest.param(lambda: linear(SV2), id="state-version"),
    ],
)
def test_fingerprint_changes_with_shape(other: Any) -> None:
    assert other().fingerprint != linear().fingerprint


def test_nx_view() -> None:
    import networkx

    g = harness_graph()
    nx = g.nx
    assert isinstance(nx, networkx.DiGraph)
    assert set(nx.nodes) == {*g.table, END}
    assert nx.edges["harness/b", "after"]["route"] == "pass"
    assert nx.edges["first", "harness/a"]["route"] is None
    assert nx.nodes["harness/a"]["cluster"] == "harness"
    assert nx.number_of_edges() == 6
    assert networkx.has_path(nx, "first", END)


def test_drawings_include_node_paths() -> None:
    g = harness_graph()
    ascii_art, dot = g.to_ascii(), g.to_dot()
    for path in g.table:
        assert path in ascii_art
        assert f'"{path}"' in dot
    mermaid = g.to_mermaid()
    for path in g.table:
        assert "n_" + path.replace("/", "_") in mermaid  # mermaid ids cannot hold '/'
    assert "harness: checker" in mermaid
    assert '-->|"pass"|' in mermaid


def test_repr() -> None:
    assert repr(harness_graph()) == "<Graph 'outer': 5 nodes>"


async def test_graphs_of_one_shape_keep_their_own_stored_structure() -> None:
    billing = Graph("billing", state=S, nodes=[step("a", max_visits=10)], edges=[("a", END)], start="a")
    shipping = Graph("shipping", state=S, nodes=[step("a", max_visits=2)], edges=[("a", END)], start="a")
    assert billing.fingerprint != shipping.fingerprint  # name and limits are part of what is stored
    store = MemoryStore()
    for graph in (billing, shipping):
        done = await Interpreter(graph, store=store).run()
        run = await store.get_run(done.run_id)
        assert run is not None
        stored = await store.get_graph(run.fingerprint)
        assert stored is not None
        assert stored["name"] == graph.name  # drawn with its own graph, not the first of that shape
