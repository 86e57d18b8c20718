"""Writes and stored values that do not fit: a reducer that refuses a write, a folded value JSON cannot
hold, and a stored value whose type changed. The step fails (or the resume is refused) with a clear error;
nothing escapes the run and nothing about the run changes on a refusal."""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any

import pydantic
import pytest

from loomflow import (
    END,
    CorruptCheckpoint,
    Graph,
    GraphError,
    Interpreter,
    MemoryStore,
    NodeContext,
    Reducer,
    State,
    Update,
    add,
    node,
)

calls: list[int] = []


def _picky(old: int, new: int) -> int:
    calls.append(new)
    if new < 0:
        raise ValueError("negative not allowed")
    return old + new


class Picky(State):
    total: Annotated[int, add] = 0
    p: Annotated[int, Reducer(_picky, "picky")] = 0


def _two_steps(state: type[State], first: dict[str, Any], second: dict[str, Any]) -> Graph[Any]:
    @node
    async def one(ctx: NodeContext[Any]) -> Update:
        return Update(first)

    @node
    async def two(ctx: NodeContext[Any]) -> Update:
        return Update(second)

    return Graph("g", state=state, nodes=[one, two], edges=[("one", "two"), ("two", END)], start="one")


async def test_a_reducer_that_raises_fails_the_step_once_and_the_run_resumes() -> None:
    calls.clear()
    store = MemoryStore()
    failed = await Interpreter(_two_steps(Picky, {"total": 1}, {"p": -1}), store=store).run()

    assert failed.status == "failed"
    assert failed.error is not None
    assert "wrote channel 'p': its reducer raised ValueError: negative not allowed" in failed.error
    assert calls == [-1]  # asked once
    fixed = await Interpreter(_two_steps(Picky, {"total": 1}, {"p": 2}), store=store).resume(failed.run_id)
    assert (fixed.status, fixed.state.p) == ("completed", 2)


class Total(State):
    total: Annotated[int, add] = 0


@pytest.mark.parametrize("every", [1, 2, 50])
async def test_a_folded_value_json_cannot_hold_skips_the_snapshot_not_the_run(every: int) -> None:
    store = MemoryStore()
    graph = _two_steps(Total, {"total": 2**64 - 1}, {"total": 1})  # each delta fits in 64 bits; the sum does not

    done = await Interpreter(graph, store=store, snapshot_every=every).run()

    assert (done.status, done.state.total) == ("completed", 2**64)
    assert (await Interpreter(graph, store=store).state(done.run_id)).total == 2**64  # folded from the deltas


class Item(pydantic.BaseModel):
    name: str


class Held(State):
    item: Item | None = None


# the same model, reshaped in a later release: same module and name, a renamed field
Reshaped = pydantic.create_model("Item", __module__=__name__, title=(str, ...))


class HeldReshaped(State):
    item: Reshaped | None = None  # type: ignore[valid-type]


def _waiting(state: type[State], item: Any) -> Graph[Any]:
    @node
    async def put(ctx: NodeContext[Any]) -> Update:
        return Update({"item": item})

    @node(interrupts=True)
    async def wait(ctx: NodeContext[Any]) -> Any:
        return ctx.interrupt("go") if not ctx.answered("go") else Update()

    return Graph("g", state=state, nodes=[put, wait], edges=[("put", "wait"), ("wait", END)], start="put")


async def test_a_stored_value_that_no_longer_fits_its_type_is_refused_before_the_run_changes() -> None:
    store = MemoryStore()
    paused = await Interpreter(_waiting(Held, Item(name="a")), store=store).run()
    before = await store.get_run(paused.run_id)
    changed = Interpreter(_waiting(HeldReshaped, Reshaped(title="a")), store=store)
    assert before is not None
    assert changed.graph.fingerprint == before.fingerprint  # a model's fields are not in the fingerprint

    with pytest.raises(CorruptCheckpoint, match=r"its value for channel 'item' does not fit the state's type"):
        await changed.resume(paused.run_id, value=1)

    assert await store.get_run(paused.run_id) == before  # still waiting, its interrupt and answers as they were


class Blob(State):
    data: bytes = b""


async def test_binary_bytes_fail_the_step_instead_of_being_stored_altered() -> None:
    png = b"\x89PNG\r\n\x1a\n\xff\xfe"
    failed = await Interpreter(_two_steps(Blob, {"data": b"text"}, {"data": png}), store=MemoryStore()).run()

    assert failed.status == "failed"
    assert failed.error is not None
    assert "bytes that are not UTF-8 text cannot be stored" in failed.error
    assert failed.state.data == b"text"  # the step wrote nothing


async def test_utf8_bytes_round_trip() -> None:
    store = MemoryStore()
    graph = _two_steps(Blob, {"data": "café".encode()}, {})
    done = await Interpreter(graph, store=store).run()
    assert (await Interpreter(graph, store=store).state(done.run_id)).data == "café".encode()


def test_a_binary_request_is_hashed_by_its_bytes() -> None:
    from loomflow.checkpoint.codec import request_hash

    upload = b"\x89PNG\xff\xfe"
    assert request_hash({"file": upload}) == request_hash({"file": upload})
    assert request_hash({"file": upload}) != request_hash({"file": b"\x89PNG\xff\xff"})
    assert request_hash({"text": b"caf\xc3\xa9"}) == request_hash({"text": "café"})  # as recorded before


class Credentials(pydantic.BaseModel):
    user: str
    password: pydantic.SecretStr


@dataclasses.dataclass
class Wrapped:
    inner: list[Credentials]


@pytest.mark.parametrize(
    ("tp", "where"),
    [
        (pydantic.SecretStr, "SecretStr"),
        (Credentials | None, "Credentials.password: SecretStr"),
        (list[Credentials], "Credentials.password: SecretStr"),
        (Wrapped, "Wrapped.inner: Credentials.password: SecretStr"),
    ],
)
def test_a_state_that_would_hold_a_secret_is_refused_when_declared(tp: Any, where: str) -> None:
    holding = type("Holding", (State,), {"__annotations__": {"login": tp | None}, "login": None})

    with pytest.raises(GraphError, match=rf"channel 'login' holds a secret \({re.escape(where)}\)"):
        holding.channels()
