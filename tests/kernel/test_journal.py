"""The journal: an effect runs once across retries, failures, crashes and resumes; a call that may have
happened is re-run only when idempotent, or when an operator says so."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest

from loomflow import (
    END,
    EffectSkipped,
    FakeClock,
    Graph,
    Interpreter,
    MemoryStore,
    NodeContext,
    Retry,
    SQLiteStore,
    State,
    Update,
    append,
    node,
    sequential_ids,
)
from loomflow.checkpoint.codec import loads


class Crash(BaseException):
    """Stands for the process dying mid-call: nothing in the kernel catches it."""


class Paid(State):
    results: Annotated[tuple[Any, ...], append] = ()


class Script:
    """What the effect and the node do on each call/attempt, and what happened."""

    def __init__(self, *, effect: list[str] | None = None, node: list[str] | None = None) -> None:
        self.effect = list(effect or [])  # per call: "ok", "raise" or "crash"
        self.node = list(node or [])  # per node run, after the effect: "ok" or "raise"
        self.calls = 0

    async def charge(self) -> dict[str, Any]:
        self.calls += 1
        what = self.effect.pop(0) if self.effect else "ok"
        if what == "raise":
            raise ValueError(f"card declined on call {self.calls}")
        if what == "crash":
            raise Crash
        return {"tx": f"tx-{self.calls}", "amount": (5, 5)}


def pay_graph(*, retry: Retry | None = None, idempotent: bool = False, amount: int = 5) -> Graph[Paid]:
    @node(retry=retry)
    async def pay(ctx: NodeContext[Paid]) -> Update:
        script: Script = ctx.services["script"]
        try:
            result = await ctx.effect("charge", script.charge, request={"amount": amount}, idempotent=idempotent)
        except EffectSkipped:
            return Update({"results": ["skipped"]})
        if script.node and script.node.pop(0) == "raise":
            raise RuntimeError("node failed after the call")
        return Update({"results": [result]})

    return Graph("pay", state=Paid, nodes=[pay], edges=[("pay", END)], start="pay")


def interp_for(graph: Graph[Any], store: Any, script: Script) -> Interpreter[Any]:
    return Interpreter(graph, store=store, clock=FakeClock(), ids=sequential_ids(), services={"script": script})


RESULT = {"tx": "tx-1", "amount": [5, 5]}  # results come back in their JSON form


async def test_a_retried_node_is_served_the_recorded_result() -> None:
    store, script = MemoryStore(), Script(node=["raise", "ok"])
    interp = interp_for(pay_graph(retry=Retry(attempts=2, backoff=0)), store, script)
    result = await interp.run()
    assert result.status == "completed"
    assert script.calls == 1
    assert result.state.results == (RESULT,)
    (entry,) = await store.journal(result.run_id)
    assert (entry.name, entry.status, entry.visit, entry.node_path, entry.index) == ("charge", "done", 1, "pay", 0)
    assert entry.result is not None
    assert loads(entry.result) == RESULT


async def test_a_failed_run_resumed_elsewhere_is_served_the_recorded_result(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    script = Script(node=["raise", "ok"])
    failed = await interp_for(pay_graph(), SQLiteStore(db), script).run()
    assert failed.status == "failed"
    assert script.calls == 1
    done = await interp_for(pay_graph(), SQLiteStore(db), script).resume(failed.run_id)
    assert done.status == "completed"
    assert script.calls == 1
    assert done.state.results == (RESULT,)


async def test_a_failed_effect_is_recorded_and_run_again() -> None:
    store, script = MemoryStore(), Script(effect=["raise", "ok"])
    interp = interp_for(pay_graph(), store, script)
    failed = await interp.run()
    assert failed.status == "failed"
    assert failed.error is not None
    assert "card declined on call 1" in failed.error
    (entry,) = await store.journal(failed.run_id)
    assert entry.status == "failed"
    assert entry.error is not None
    assert "card declined on call 1" in entry.error

    done = await interp.resume(failed.run_id)
    assert done.status == "completed"
    assert script.calls == 2
    assert done.state.results == ({"tx": "tx-2", "amount": [5, 5]},)
    (entry,) = await store.journal(failed.run_id)
    assert entry.status == "done"


async def test_a_failed_effect_is_run_again_by_the_retry_policy() -> None:
    store, script = MemoryStore(), Script(effect=["raise", "ok"])
    result = await interp_for(pay_graph(retry=Retry(attempts=2, backoff=0)), store, script).run()
    assert result.status == "completed"
    assert script.calls == 2
    assert result.records[0].attempts == 2


async def crash_mid_call(db: Path, *, idempotent: bool) -> str:
    script = Script(effect=["crash"])
    interp = interp_for(pay_graph(idempotent=idempotent), SQLiteStore(db), script)
    exe = await interp.start()
    with pytest.raises(Crash):
        await interp.drive(exe)
    entries = await SQLiteStore(db).journal(exe.run_id)
    if idempotent:
        assert entries == []  # an idempotent call records no intent: cut off, it is simply made again
    else:
        (entry,) = entries
        assert entry.status == "intent"  # recorded before the call; no result after it
    return exe.run_id


async def test_an_idempotent_call_with_no_result_is_run_again(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    run_id = await crash_mid_call(db, idempotent=True)
    script = Script()
    done = await interp_for(pay_graph(idempotent=True), SQLiteStore(db), script).resume(run_id)
    assert done.status == "completed"
    assert script.calls == 1
    assert done.state.results == (RESULT,)


async def test_a_non_idempotent_call_with_no_result_asks_and_retry_runs_it(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    run_id = await crash_mid_call(db, idempotent=False)
    script = Script()
    interp = interp_for(pay_graph(), SQLiteStore(db), script)
    paused = await interp.resume(run_id)
    assert paused.status == "interrupted"
    assert script.calls == 0
    intr = paused.interrupt
    assert intr is not None
    assert intr.id.startswith("pay@1:uncertain:0")
    assert (intr.kind, intr.node_path, intr.allowed) == ("uncertain_call", "pay", ("retry", "skip"))
    assert intr.payload == {"name": "charge", "index": 0, "request": {"amount": 5}}
    assert "it is not idempotent, so it may have taken effect" in intr.prompt

    with pytest.raises(Exception, match="accepts 'retry', 'skip'"):
        await interp.resume(run_id, value="maybe")
    done = await interp.resume(run_id, value="retry")
    assert done.status == "completed"
    assert script.calls == 1
    assert done.state.results == (RESULT,)


async def test_a_non_idempotent_call_with_no_result_can_be_skipped(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    run_id = await crash_mid_call(db, idempotent=False)
    script = Script()
    interp = interp_for(pay_graph(), SQLiteStore(db), script)
    await interp.resume(run_id)
    done = await interp.resume(run_id, value="skip")
    assert done.status == "completed"
    assert script.calls == 0
    assert done.state.results == ("skipped",)
    (entry,) = await SQLiteStore(db).journal(run_id)
    assert entry.status == "skipped"


async def test_a_re_executed_node_that_asks_differently_fails_the_step() -> None:
    store, script = MemoryStore(), Script(node=["raise"])
    failed = await interp_for(pay_graph(amount=5), store, script).run()
    again = await interp_for(pay_graph(amount=6), store, script).resume(failed.run_id)
    assert again.status == "failed"
    assert again.error is not None
    assert "ReplayDivergence" in again.error
    assert "now sends a different request than the recorded one" in again.error
    assert script.calls == 1


class Looped(State):
    seen: Annotated[tuple[Any, ...], append] = ()


async def test_each_visit_of_a_node_makes_its_own_calls() -> None:
    calls: list[int] = []

    @node(max_visits=3, routes=("again", "done"))
    async def visit(ctx: NodeContext[Looped]) -> Update:
        async def call() -> int:
            calls.append(ctx.step)
            return ctx.step

        got = await ctx.effect("tick", call, request={"n": len(ctx.state.seen)})
        return Update({"seen": [got]}, route="again" if len(ctx.state.seen) < 1 else "done")

    g = Graph(
        "loop", state=Looped, nodes=[visit], edges=[("visit", "visit", "again"), ("visit", END, "done")], start="visit"
    )
    store = MemoryStore()
    result = await Interpreter(g, store=store, clock=FakeClock()).run()
    assert result.state.seen == (1, 2)
    assert calls == [1, 2]
    assert [(e.visit, e.index) for e in await store.journal(result.run_id)] == [(1, 0), (2, 0)]


# ---------------------------------------------------------------------- buffered durability


class DyingStore(MemoryStore):
    """A store whose process dies at its next step write: buffered steps never arrive, the journal did."""

    def __init__(self) -> None:
        super().__init__()
        self.dead = False

    async def append_step(self, record: Any) -> None:
        if self.dead:
            raise Crash
        await super().append_step(record)

    async def append_steps(self, records: Any) -> None:
        if self.dead:
            raise Crash
        await super().append_steps(records)


def chain_of_effects() -> Graph[Paid]:
    def charging(name: str) -> Any:
        @node(name=name)
        async def charge(ctx: NodeContext[Paid]) -> Update:
            made: list[str] = ctx.services["made"]

            async def call() -> str:
                made.append(name)
                return name

            return Update({"results": [await ctx.effect("charge", call, request={"who": name})]})

        return charge

    @node
    async def die(ctx: NodeContext[Paid]) -> Update:
        if ctx.services["die"]:
            ctx.services["die"].clear()
            ctx.services["store"].dead = True
            raise Crash
        return Update()

    return Graph(
        "chain",
        state=Paid,
        nodes=[charging("a"), charging("b"), charging("c"), die],
        edges=[("a", "b"), ("b", "c"), ("c", "die"), ("die", END)],
        start="a",
    )


@pytest.mark.parametrize(
    "durability",
    [
        "sync",
        "async",
        "exit",
    ],
)
async def test_a_crash_that_loses_buffered_steps_never_repeats_an_effect(durability: Any) -> None:
    store, made = DyingStore(), list[str]()
    services = {"made": made, "die": [True], "store": store}
    first = Interpreter(chain_of_effects(), store=store, clock=FakeClock(), durability=durability, services=services)
    with pytest.raises(Crash):
        await first.run(run_id="r")
    assert made == ["a", "b", "c"]
    store.dead = False

    later = FakeClock(start=1_800_000_000.0)  # the dead process's lease has expired by now
    second = Interpreter(chain_of_effects(), store=store, clock=later, durability=durability, services=services)
    done = await second.resume("r")
    assert done.status == "completed"
    assert done.state.results == ("a", "b", "c")
    assert made == ["a", "b", "c"]  # served from the journal, whatever steps were lost
