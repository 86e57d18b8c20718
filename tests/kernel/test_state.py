"""State: channels and reducers, immutability, bad writes as failed steps, and typed values that
come back as their types after a resume from SQLite."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import pydantic
import pytest

from loomflow import (
    END,
    FakeClock,
    Graph,
    GraphError,
    Interpreter,
    MemoryStore,
    NodeContext,
    Pause,
    Reducer,
    RunError,
    SQLiteStore,
    State,
    Update,
    add,
    append,
    merge,
    node,
    replace,
    sequential_ids,
)
from loomflow.state import apply_writes

keep_max = Reducer(lambda old, new: max(old, new), "max")


class All(State):
    log: Annotated[tuple[str, ...], append] = ()
    note: Annotated[str, replace] = ""
    plain: str = "default"
    meta: Annotated[dict[str, Any], merge] = {}  # noqa: RUF012 (a default, never mutated)
    total: Annotated[int, add] = 0
    best: Annotated[int, keep_max] = 0


def test_channels_parse_annotations() -> None:
    ch = All.channels()
    assert list(ch) == ["log", "note", "plain", "meta", "total", "best"]
    assert ch["log"].reducer is append
    assert ch["log"].appends
    assert ch["plain"].reducer is replace  # no reducer given: replace
    assert ch["meta"].reducer is merge
    assert ch["best"].reducer is keep_max
    assert not ch["best"].appends
    assert All.describe() == [
        "log: tuple[str, ...] [append]",
        "note: str [replace]",
        "plain: str [replace]",
        "meta: dict[str, Any] [merge]",
        "total: int [add]",
        "best: int [max]",
    ]


def test_reducers_fold_writes() -> None:
    ch = All.channels()
    values = All().values()
    values = apply_writes(ch, values, {"log": ["a"], "note": "x", "meta": {"a": 1}, "total": 2, "best": 5}, "n")
    values = apply_writes(ch, values, {"log": ("b", "c"), "note": "y", "meta": {"b": 2}, "total": 3, "best": 1}, "n")
    assert values == {
        "log": ("a", "b", "c"),
        "note": "y",
        "plain": "default",
        "meta": {"a": 1, "b": 2},
        "total": 5,
        "best": 5,
    }


def test_apply_writes_does_not_touch_its_input() -> None:
    ch = All.channels()
    before = All().values()
    snapshot = dict(before)
    apply_writes(ch, before, {"log": ["a"], "total": 1}, "n")
    assert before == snapshot


@pytest.mark.parametrize(
    ("write", "message"),
    [
        ({"log": "oops"}, "wrap a single item as \\[item\\]"),
        ({"meta": ["not", "a", "mapping"]}, "a merge channel takes a mapping"),
        ({"nope": 1}, "wrote channel 'nope', which the state does not declare"),
    ],
)
def test_bad_writes_name_node_and_channel(write: dict[str, Any], message: str) -> None:
    with pytest.raises(RunError, match=message) as info:
        apply_writes(All.channels(), All().values(), write, "some/node")
    assert "node 'some/node'" in str(info.value)


def test_two_reducers_on_one_channel_is_a_graph_error() -> None:
    class Two(State):
        x: Annotated[int, add, replace] = 0

    with pytest.raises(GraphError, match="channel 'x' names 2 reducers; keep one"):
        Two.channels()


def test_append_and_merge_channels_default_to_empty() -> None:
    class Defaults(State):
        items: Annotated[tuple[int, ...], append]
        opts: Annotated[dict[str, int], merge]

    assert Defaults().values() == {"items": (), "opts": {}}


def test_state_is_immutable() -> None:
    s = All(total=3)
    with pytest.raises(AttributeError, match=r"All is immutable: return Update\(\{'total': ...\}\) from a node"):
        s.total = 4
    assert s.total == 3
    assert s["total"] == 3


def test_state_construction_checks_channels() -> None:
    with pytest.raises(TypeError, match=r"All has no channel\(s\) \['nope'\]"):
        All(nope=1)
    assert All(total=1) == All(total=1)
    assert All(total=1) != All(total=2)


# ---------------------------------------------------------------------- bad writes in a run


class Small(State):
    count: Annotated[int, add] = 0
    note: str = ""


@node
async def writes_unknown(ctx: NodeContext[Small]) -> Update:
    return Update({"count": 1, "nope": 1})


@node(name="writes_unknown")
async def writes_fixed(ctx: NodeContext[Small]) -> Update:
    return Update({"count": 1})


def small_graph(first: Any) -> Graph[Small]:
    return Graph("small", state=Small, nodes=[first], edges=[("writes_unknown", END)], start="writes_unknown")


async def test_unknown_channel_write_fails_the_step_and_the_run_resumes() -> None:
    store = MemoryStore()
    interp = Interpreter(small_graph(writes_unknown), store=store, clock=FakeClock(), ids=sequential_ids())
    result = await interp.run()
    assert result.status == "failed"
    assert result.error is not None
    assert "node 'writes_unknown' failed at step 1" in result.error
    assert "wrote channel 'nope', which the state does not declare" in result.error
    assert "declare it on the state class or fix the write" in result.error
    assert result.state == Small()  # nothing of the failed step was applied
    (rec,) = await interp.history(result.run_id)
    assert rec.status == "failed"
    assert rec.writes == b"{}"

    fixed = Interpreter(small_graph(writes_fixed), store=store, clock=FakeClock())
    done = await fixed.resume(result.run_id)
    assert done.status == "completed"
    assert done.state == Small(count=1)
    assert [r.status for r in await fixed.history(result.run_id)] == ["failed", "ok"]


@node(name="writes_unknown")
async def writes_unserialisable(ctx: NodeContext[Small]) -> Update:
    return Update({"count": 1, "note": object()})


async def test_an_unserialisable_write_fails_the_step_without_applying_it() -> None:
    interp = Interpreter(small_graph(writes_unserialisable), store=MemoryStore(), clock=FakeClock())
    result = await interp.run()
    assert result.status == "failed"
    assert result.error is not None
    assert "object is not JSON-serialisable; store JSON types, dataclasses or pydantic models" in result.error
    assert result.state == await interp.state(result.run_id)  # what the store says is what the run says
    assert result.state == Small()


# ---------------------------------------------------------------------- typed values after a resume


class Item(pydantic.BaseModel):
    name: str
    qty: int = 1


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float


class Typed(State):
    items: Annotated[tuple[Item, ...], append] = ()
    point: Point | None = None
    best: Item | None = None
    pairs: tuple[tuple[int, str], ...] = ()
    tags: tuple[str, ...] = ()


@node
async def produce(ctx: NodeContext[Typed]) -> Update:
    return Update(
        {
            "items": [Item(name="a"), Item(name="b", qty=2)],
            "point": Point(1.5, -2.0),
            "best": Item(name="b", qty=2),
            "pairs": ((1, "one"), (2, "two")),
            "tags": ("x", "y"),
        }
    )


@node(interrupts=True)
async def check(ctx: NodeContext[Typed]) -> Update | Pause:
    if not ctx.answered("go"):
        return ctx.interrupt("go")
    s = ctx.state
    # after a resume from SQLite the node sees the declared types, not their JSON form
    assert all(type(i) is Item for i in s.items), s.items
    assert type(s.point) is Point, s.point
    assert type(s.best) is Item, s.best
    assert s.pairs == ((1, "one"), (2, "two")), s.pairs
    assert s.tags == ("x", "y"), s.tags
    return Update({"items": [Item(name="c", qty=ctx.answer("go"))]})


def typed_graph() -> Graph[Typed]:
    return Graph(
        "typed", state=Typed, nodes=[produce, check], edges=[("produce", "check"), ("check", END)], start="produce"
    )


@pytest.mark.parametrize("snapshot_every", [1, 50])
async def test_typed_channels_decode_after_resume_from_sqlite(tmp_path: Path, snapshot_every: int) -> None:
    db = tmp_path / "typed.db"
    first = Interpreter(
        typed_graph(), store=SQLiteStore(db), clock=FakeClock(), ids=sequential_ids(), snapshot_every=snapshot_every
    )
    paused = await first.run()
    assert paused.status == "interrupted"

    second = Interpreter(typed_graph(), store=SQLiteStore(db), clock=FakeClock(), snapshot_every=snapshot_every)
    done = await second.resume(paused.run_id, value=7)
    assert done.status == "completed", done.error
    assert done.state.items == (Item(name="a"), Item(name="b", qty=2), Item(name="c", qty=7))
    assert all(type(i) is Item for i in done.state.items)

    third = Interpreter(typed_graph(), store=SQLiteStore(db))
    loaded = await third.state(paused.run_id)
    assert loaded == done.state
    assert type(loaded.point) is Point
    assert type(loaded.best) is Item
    assert all(type(i) is Item for i in loaded.items)
    at_first = await third.state(paused.run_id, at=1)
    assert at_first.items == (Item(name="a"), Item(name="b", qty=2))
    assert at_first.point == Point(1.5, -2.0)


class IntKeys(State):
    names: dict[int, str] = {}  # noqa: RUF012
    counts: Annotated[dict[int, int], merge] = {}  # noqa: RUF012
    tags: dict[str, int] = {}  # noqa: RUF012


async def test_dicts_with_int_keys_come_back_with_int_keys(tmp_path: Path) -> None:
    @node
    async def put(ctx: NodeContext[IntKeys]) -> Update:
        return Update({"names": {1: "one"}, "counts": {2: 3}, "tags": {"a": 1}})

    graph = Graph("keys", state=IntKeys, nodes=[put], edges=[("put", END)], start="put")
    store = SQLiteStore(tmp_path / "k.db")
    done = await Interpreter(graph, store=store).run()

    loaded = await Interpreter(graph, store=store).state(done.run_id)  # JSON kept the keys as strings

    assert (loaded.names, loaded.counts, loaded.tags) == ({1: "one"}, {2: 3}, {"a": 1})
    assert loaded == done.state


class M(pydantic.BaseModel):
    x: int


class LiveTyped(State):
    m: M | None = None
    pair: tuple[int, ...] = ()
    items: Annotated[tuple[M, ...], append] = ()


async def test_a_live_run_sees_writes_in_the_channel_types_a_resumed_run_reads_back() -> None:
    @node
    async def put(ctx: NodeContext[LiveTyped]) -> Update:  # the JSON forms: a dict for a model, a list for a tuple
        return Update({"m": {"x": 1}, "pair": [1, 2], "items": [{"x": 2}]})

    seen: list[Any] = []

    @node
    async def look(ctx: NodeContext[LiveTyped]) -> Update:
        seen.append((ctx.state.m, ctx.state.pair, ctx.state.items))
        return Update()

    graph = Graph("typed", state=LiveTyped, nodes=[put, look], edges=[("put", "look"), ("look", END)], start="put")
    store = MemoryStore()
    done = await Interpreter(graph, store=store).run()

    assert seen == [(M(x=1), (1, 2), (M(x=2),))]  # the next node sees the types, not the JSON forms
    assert done.state == await Interpreter(graph, store=store).state(done.run_id)


async def test_a_write_that_does_not_fit_its_channel_type_fails_the_step() -> None:
    @node
    async def put(ctx: NodeContext[LiveTyped]) -> Update:
        return Update({"m": {"x": "not a number"}})

    graph = Graph("typed", state=LiveTyped, nodes=[put], edges=[("put", END)], start="put")
    failed = await Interpreter(graph, store=MemoryStore()).run()

    assert failed.status == "failed"
    assert failed.error is not None
    assert "wrote channel 'm': the value does not fit" in failed.error
    assert failed.state.m is None  # nothing of the step was applied


def test_optional_json_values_need_no_pydantic_to_load() -> None:
    from loomflow.state import _decoder, _identity

    assert all(_decoder(tp) is _identity for tp in (int | None, str | None, float | str | None))
    assert _decoder(M | None) is not _identity  # a model is decoded (and a live write validated)
