"""Several runs side by side (a fork beside its origin), the graph a run's steps describe, and what a
notebook shows for a run."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from loomflow import END, Graph, Interpreter, MemoryStore, State, Update, add, node
from loomflow.viz import (
    RunLink,
    draw_run,
    draw_runs,
    fork_links,
    overlay_from_steps,
    run_mimebundle,
    structure_from_steps,
    to_ascii,
    to_ascii_runs,
    to_dot_runs,
)


class Counter(State):
    count: Annotated[int, add] = 0


@node(max_visits=10)
async def tick(ctx):
    return Update({"count": 1}, route="again" if ctx.state.count < 2 else "done")


@node(interrupts=True)
async def confirm(ctx):
    if not ctx.answered("ok"):
        return ctx.interrupt("ok", prompt="Finish?")
    return Update()


def inner() -> Graph[Counter]:
    return Graph(
        "loop", state=Counter, nodes=[tick], edges=[("tick", "tick", "again"), ("tick", END, "done")], start="tick"
    )


GRAPH = Graph(
    "outer",
    state=Counter,
    nodes=[inner().as_node("work"), confirm],
    edges=[("work", "confirm"), ("confirm", END)],
    start="work",
)


@pytest.fixture
async def runs() -> tuple[Any, Any]:
    interp = Interpreter(GRAPH, store=MemoryStore())
    first = await interp.run()
    done = await interp.resume(first.run_id, value="yes")
    branch = await interp.fork(done.run_id, at=2, update={"count": 5})
    return done, branch


def overlays(*results: Any) -> list[Any]:
    s = GRAPH.structure()
    return [
        overlay_from_steps(r.records, start=s["start"], status=r.status, run_id=r.run_id, structure=s) for r in results
    ]


def test_fork_links_point_where_the_fork_left(runs: tuple[Any, Any]) -> None:
    done, branch = runs
    links = fork_links([(done.run_id, done.records), (branch.run_id, branch.records)])
    assert links == [RunLink(0, "work/tick", 1, "work/tick", "fork at step 2")]
    assert fork_links([(branch.run_id, branch.records)]) == []  # its origin is not drawn: no link


def test_runs_side_by_side_in_dot(runs: tuple[Any, Any]) -> None:
    done, branch = runs
    links = fork_links([(done.run_id, done.records), (branch.run_id, branch.records)])
    dot = to_dot_runs(GRAPH.structure(), overlays(done, branch), links=links)
    assert dot.startswith('digraph "outer runs" {')
    assert dot.count('subgraph "cluster_run') == 4  # one per run, one per harness cluster in each
    assert 'subgraph "cluster_run0/work"' in dot
    assert 'subgraph "cluster_run1/work"' in dot
    assert f'label="outer · run {done.run_id} · completed"' in dot
    assert f'label="outer · run {branch.run_id} · interrupted"' in dot
    assert '"run0/__start__" -> "run0/work/tick"' in dot
    assert '"run0/work/tick" -> "run1/work/tick" [label="fork at step 2", style=dashed' in dot
    with pytest.raises(ValueError, match="names run 2 / node 'work/tick'"):
        to_dot_runs(GRAPH.structure(), overlays(done, branch), links=[RunLink(0, "work/tick", 2, "work/tick")])
    with pytest.raises(ValueError, match="at least one overlay"):
        to_dot_runs(GRAPH.structure(), [])


def test_runs_side_by_side_in_text(runs: tuple[Any, Any]) -> None:
    done, branch = runs
    text = to_ascii_runs(
        GRAPH.structure(), overlays(done, branch), links=[RunLink(0, "work/tick", 1, "work/tick", "x")]
    )
    first, second, link = text.split("\n\n")
    assert first.startswith(f"outer · run {done.run_id} · completed")
    assert second.startswith(f"outer · run {branch.run_id} · interrupted")
    assert link == f"{done.run_id} [work/tick] ╌╌> {branch.run_id} [work/tick]  (x)"


def test_the_structure_a_run_went_through(runs: tuple[Any, Any]) -> None:
    _done, branch = runs
    s = structure_from_steps(branch.records, name="path")
    assert s["start"] == "work/tick"
    assert [n["path"] for n in s["nodes"]] == ["work/tick", "confirm"]
    assert s["clusters"] == [{"path": "work", "label": "work", "parent": None}]
    assert {(e["source"], e["target"], e["route"]) for e in s["edges"]} == {
        ("work/tick", "work/tick", "again"),
        ("work/tick", "confirm", "done"),
    }
    assert [n.get("interrupts", False) for n in s["nodes"]] == [False, True]
    overlay = overlay_from_steps(branch.records, start=s["start"], status=branch.status, structure=s)
    assert "⏸ waiting here" in to_ascii(s, overlay)


def test_a_run_in_a_notebook(runs: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    done, _ = runs
    bundle = done._repr_mimebundle_()
    assert bundle["text/plain"].startswith(f"run {done.run_id}: completed, 5 steps\n  1 work/tick --again-->")
    import loomflow.viz._render as render

    monkeypatch.setattr(render.shutil, "which", lambda name: None)  # no Graphviz: Mermaid instead
    plain = run_mimebundle(done)
    assert "image/svg+xml" not in plain
    assert "text/html" not in plain
    assert plain["text/markdown"].startswith(f"**run {done.run_id}: completed, 5 steps**\n\n```mermaid\nflowchart TD")
    assert "%% path taken" in plain["text/markdown"]
    drawn = draw_run(done, GRAPH.structure())
    assert "%% outer" in drawn._repr_mimebundle_()["text/markdown"]
    assert str(drawn).startswith(f"run {done.run_id}: completed")


def test_runs_in_a_notebook_with_graphviz(runs: tuple[Any, Any], graphviz_installed: None) -> None:
    done, branch = runs
    assert "<svg" in run_mimebundle(done)["text/html"]
    assert "<?xml" not in run_mimebundle(done)["text/html"]
    both = draw_runs(GRAPH.structure(), [done, branch])
    assert both._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")
    assert "fork at step 2" in str(both)
