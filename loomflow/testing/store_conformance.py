"""The conformance suite every ``CheckpointStore`` runs: memory, SQLite, PostgreSQL, and yours.

Subclass ``StoreConformance`` in a test module and override the ``make_store`` fixture to yield a
fresh, empty store (closing it afterwards)::

    import pytest
    from loomflow.testing.store_conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        async def make_store(self, tmp_path):
            store = MyStore(tmp_path / "db")
            yield store
            await store.close()

Every test is async (pytest-asyncio); with ``asyncio_mode = "strict"`` decorate an async
``make_store`` with ``pytest_asyncio.fixture`` instead of ``pytest.fixture``.

The suite states the contract of ``loomflow.checkpoint.base.CheckpointStore`` as behaviour: what a
store must keep, how it orders and filters, and the compare-and-swap and lease rules that make two
executors of one run safe.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from loomflow.checkpoint.base import CheckpointStore
from loomflow.checkpoint.records import JournalEntry, RunRecord, StepRecord
from loomflow.errors import RunBusy, RunError, RunNotFound
from loomflow.outcomes import Interrupt

__all__ = ["StoreConformance", "journal_entry", "run_record", "step_record"]

T0 = 1_700_000_000.0


def run_record(run_id: str, **fields: Any) -> RunRecord:
    """A run record with plausible defaults; ``fields`` override any of them."""
    base: dict[str, Any] = {
        "run_id": run_id,
        "graph": "g",
        "fingerprint": "f" * 16,
        "state_version": 1,
        "status": "running",
        "created_at": T0,
        "updated_at": T0,
    }
    base.update(fields)
    return RunRecord(**base)


def step_record(run_id: str, step: int, **fields: Any) -> StepRecord:
    """A step record following step ``step - 1``; ``fields`` override any field."""
    base: dict[str, Any] = {
        "run_id": run_id,
        "step": step,
        "parent_step": step - 1 if step > 1 else None,
        "visit": step,
        "node_path": "n",
        "route": None,
        "target": "n",
        "status": "ok",
        "writes": b'{"count":1}',
        "seq": step * 2,
        "started_at": T0 + step,
        "duration": 0.25,
    }
    base.update(fields)
    return StepRecord(**base)


def journal_entry(run_id: str, visit: int = 1, node_path: str = "n", index: int = 0, **fields: Any) -> JournalEntry:
    """A journal entry in ``intent`` state; ``fields`` override any field."""
    base: dict[str, Any] = {
        "run_id": run_id,
        "visit": visit,
        "node_path": node_path,
        "index": index,
        "name": "call",
        "request_hash": "h" * 24,
        "idempotent": False,
        "status": "intent",
        "result": None,
        "started_at": T0,
    }
    base.update(fields)
    return JournalEntry(**base)


class StoreConformance:
    """Tests every ``CheckpointStore`` passes. Override ``make_store``; use ``store`` in extra tests."""

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def make_store(self) -> CheckpointStore:
        """A fresh, empty store (closed after the test). Subclasses must override this fixture."""
        pytest.fail(f"{type(self).__name__} must override the make_store fixture")

    @pytest.fixture
    def store(self, make_store: CheckpointStore) -> CheckpointStore:
        return make_store

    # ------------------------------------------------------------------ protocol
    async def test_implements_the_protocol(self, store: CheckpointStore) -> None:
        assert isinstance(store, CheckpointStore)

    # ------------------------------------------------------------------ graphs
    async def test_graph_round_trip(self, store: CheckpointStore) -> None:
        structure = {"name": "g", "nodes": [{"path": "a/b", "limit": 3}], "edges": [], "state": ["x: int [add]"]}
        await store.put_graph("fp1", structure)
        assert await store.get_graph("fp1") == structure
        assert await store.get_graph("missing") is None

    async def test_put_graph_is_idempotent(self, store: CheckpointStore) -> None:
        await store.put_graph("fp1", {"name": "first"})
        await store.put_graph("fp1", {"name": "first"})
        await store.put_graph("fp1", {"name": "second"})  # one structure per fingerprint: the first stays
        assert await store.get_graph("fp1") == {"name": "first"}

    # ------------------------------------------------------------------ runs
    async def test_create_and_get_run(self, store: CheckpointStore) -> None:
        run = run_record("r1", parent_run="p", parent_step=3, kind="child", seq_reserved=1000, replay_of="r0")
        await store.create_run(run)
        assert await store.get_run("r1") == run
        assert await store.get_run("nope") is None

    async def test_duplicate_run_id_raises_run_error(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1", status="running"))
        with pytest.raises(RunError, match="r1"):
            await store.create_run(run_record("r1", status="completed"))
        stored = await store.get_run("r1")
        assert stored is not None
        assert stored.status == "running"

    async def test_update_run_changes_only_the_given_fields(self, store: CheckpointStore) -> None:
        run = run_record("r1", input={"topic": "x"}, metadata={"who": "me"}, limits={"max_steps": 5})
        await store.create_run(run)
        intr = Interrupt("n@2:x", "input", "n", 2, "why?", {"k": [1, 2]}, ("yes", "no"))
        changes: dict[str, Any] = {
            "status": "interrupted",
            "updated_at": T0 + 5,
            "seq_reserved": 2000,
            "interrupts": (intr,),
            "error": "boom",
            "output": {"answer": 42},
            "answers": {"n@1:y": "ok"},
            "fingerprint": "g" * 16,
            "state_version": 2,
        }
        await store.update_run("r1", **changes)
        expected = dataclasses.replace(run, **changes)
        assert await store.get_run("r1") == expected
        await store.update_run("r1", status="running", interrupts=())
        after = await store.get_run("r1")
        assert after == dataclasses.replace(expected, status="running", interrupts=())

    async def test_update_run_without_fields_changes_nothing(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1", input={"topic": "x"}))
        await store.update_run("r1")
        assert await store.get_run("r1") == run_record("r1", input={"topic": "x"})

    @pytest.mark.parametrize(
        "fields", [{"status": "failed"}, {"output": {"answer": 42}}, {"status": "failed", "error": "x"}, {}]
    )
    async def test_update_run_of_a_missing_run_raises_run_not_found(
        self, store: CheckpointStore, fields: dict[str, Any]
    ) -> None:
        await store.create_run(run_record("r1"))
        with pytest.raises(RunNotFound, match="no run 'nope'"):
            await store.update_run("nope", **fields)
        assert await store.get_run("nope") is None
        assert await store.get_run("r1") == run_record("r1")

    async def test_update_run_leaves_other_runs_alone(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        await store.create_run(run_record("r2"))
        await store.update_run("r1", status="failed", error="x")
        assert await store.get_run("r2") == run_record("r2")

    async def test_body_fields_round_trip(self, store: CheckpointStore) -> None:
        interrupts = (
            Interrupt("a@1:x", "approval", "h/a", 1, "approve the call?", {"tool": "rm", "args": {"p": "/"}}, None),
            Interrupt("a@1:y", "review", "h/a", 1, "", None, ("approve", "reject")),
        )
        run = run_record(
            "r1",
            input={"topic": "ünïcode ✓", "n": [1, 2.5, None, True]},
            fork_update={"count": 10},
            output=["a", {"b": None}],
            error="line 1\nline 2",
            interrupts=interrupts,
            limits={"max_steps": 9, "max_visits": {"h/a": 3}},
            metadata={"fork_node": "h/a", "tags": ["x"]},
            answers={"a@1:x": {"deny": "too risky"}, "a@1:y": "approve"},
            base_step=4,
            base_state={"log": ["a", "b"], "count": 7, "nested": {"k": {"v": [1]}}},
        )
        await store.create_run(run)
        got = await store.get_run("r1")
        assert got == run
        assert got is not None
        assert all(isinstance(i, Interrupt) for i in got.interrupts)
        assert got.interrupts[1].allowed == ("approve", "reject")

    async def test_list_runs_newest_first(self, store: CheckpointStore) -> None:
        for i, run_id in enumerate(["old", "mid", "new"]):
            await store.create_run(run_record(run_id, created_at=T0 + i))
        assert [r.run_id for r in await store.list_runs()] == ["new", "mid", "old"]
        assert [r.run_id for r in await store.list_runs(limit=2)] == ["new", "mid"]

    async def test_list_runs_breaks_time_ties_by_creation_order(self, store: CheckpointStore) -> None:
        # runs driven by one fake clock share a timestamp; the one created last is still the newest
        for run_id in ["first", "second", "third"]:
            await store.create_run(run_record(run_id, created_at=T0))
        assert [r.run_id for r in await store.list_runs()] == ["third", "second", "first"]

    async def test_list_runs_filters(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("p", status="completed", created_at=T0))
        await store.create_run(run_record("c1", status="completed", parent_run="p", parent_step=2, created_at=T0 + 1))
        await store.create_run(run_record("c2", status="failed", parent_run="p", parent_step=3, created_at=T0 + 2))
        await store.create_run(run_record("other", status="failed", created_at=T0 + 3))
        assert [r.run_id for r in await store.list_runs(status="completed")] == ["c1", "p"]
        assert [r.run_id for r in await store.list_runs(parent_run="p")] == ["c2", "c1"]
        assert [r.run_id for r in await store.list_runs(status="failed", parent_run="p")] == ["c2"]
        assert await store.list_runs(status="cancelled") == []

    # ------------------------------------------------------------------ steps
    async def test_append_step_round_trip_and_order(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        intr = Interrupt("n@3:x", "input", "n", 3, "value?", {"p": 1}, ("a", "b"))
        records = [
            step_record("r1", 1),
            step_record(
                "r1",
                3,
                status="interrupted",
                target=None,
                interrupts=(intr,),
                answers={"n@1:x": "a"},
                attempts=3,
                error="ValueError: once",
                usage={"input_tokens": 10, "cost": None},
                snapshot=b'{"note":"s"}',
                route="again",
            ),
            step_record("r1", 2, node_path="outer/inner", target="__end__"),
        ]
        for rec in records:
            await store.append_step(rec)
        got = await store.steps("r1")
        assert [r.step for r in got] == [1, 2, 3]
        assert got == sorted(records, key=lambda r: r.step)
        assert got[2].interrupts == (intr,)
        assert await store.steps("no-such-run") == []

    async def test_steps_are_per_run(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        await store.create_run(run_record("r2"))
        await store.append_step(step_record("r1", 1))
        await store.append_step(step_record("r2", 1, node_path="other"))
        assert [r.node_path for r in await store.steps("r1")] == ["n"]
        assert [r.node_path for r in await store.steps("r2")] == ["other"]

    async def test_same_step_twice_raises_run_busy(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        first = step_record("r1", 1, writes=b'{"who":"first"}')
        await store.append_step(first)
        with pytest.raises(RunBusy, match="step 1"):
            await store.append_step(step_record("r1", 1, writes=b'{"who":"second"}'))
        assert await store.steps("r1") == [first]

    async def test_append_steps_writes_a_batch_in_order(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        await store.append_steps([step_record("r1", 1), step_record("r1", 2)])
        await store.append_step(step_record("r1", 3))
        await store.append_steps([])  # nothing to write: a no-op
        assert [r.step for r in await store.steps("r1")] == [1, 2, 3]

    async def test_a_batch_with_a_taken_step_writes_nothing(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        await store.append_step(step_record("r1", 2))
        with pytest.raises(RunBusy, match="step 2"):
            await store.append_steps([step_record("r1", 1), step_record("r1", 2), step_record("r1", 3)])
        assert [r.step for r in await store.steps("r1")] == [2]

    async def test_a_batch_over_several_runs_names_the_taken_step(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("a"))
        await store.create_run(run_record("b"))
        await store.append_step(step_record("b", 5))
        with pytest.raises(RunBusy, match="step 5 of run 'b'"):
            await store.append_steps([step_record("a", 1), step_record("b", 4), step_record("b", 5)])
        assert await store.steps("a") == []
        assert [r.step for r in await store.steps("b")] == [5]

    async def test_a_batch_holding_a_step_twice_is_refused_whole(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("a"))
        with pytest.raises(RunBusy, match="step 2 of run 'a'"):
            await store.append_steps([step_record("a", 1), step_record("a", 2), step_record("a", 2)])
        assert await store.steps("a") == []

    async def test_supersede_marks_later_steps_only(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        await store.create_run(run_record("r2"))
        for step in range(1, 5):
            await store.append_step(step_record("r1", step))
            await store.append_step(step_record("r2", step))
        await store.supersede("r1", 3)
        assert [(r.step, r.superseded) for r in await store.steps("r1")] == [
            (1, False),
            (2, False),
            (3, True),
            (4, True),
        ]
        assert not any(r.superseded for r in await store.steps("r2"))
        got = await store.steps("r1")
        assert got[2] == dataclasses.replace(step_record("r1", 3), superseded=True)

    async def test_steps_after_supersede_can_be_appended(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        for step in range(1, 4):
            await store.append_step(step_record("r1", step))
        await store.supersede("r1", 2)
        await store.append_step(step_record("r1", 4, parent_step=1))
        got = await store.steps("r1")
        assert [(r.step, r.parent_step, r.superseded) for r in got] == [
            (1, None, False),
            (2, 1, True),
            (3, 2, True),
            (4, 1, False),
        ]

    # ------------------------------------------------------------------ bytes
    async def test_bytes_round_trip_exactly(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        writes = '{"text":"ünïcode ✓ \\u0000 \\"q\\"","n":1.5e300}'.encode()
        odd = bytes(range(256))  # a store moves bytes; it never re-encodes them
        await store.append_step(step_record("r1", 1, writes=writes, snapshot=odd))
        await store.append_step(step_record("r1", 2, writes=b"{}", snapshot=b""))
        got = await store.steps("r1")
        assert got[0].writes == writes
        assert type(got[0].writes) is bytes
        assert got[0].snapshot == odd
        assert got[1].writes == b"{}"
        assert got[1].snapshot == b""
        await store.journal_put(journal_entry("r1", status="done", result=odd, finished_at=T0 + 1))
        entry = await store.journal_get("r1", 1, "n", 0)
        assert entry is not None
        assert entry.result == odd
        assert type(entry.result) is bytes

    # ------------------------------------------------------------------ journal
    async def test_journal_put_get_replace(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        intent = journal_entry("r1", 2, "h/call", 1, idempotent=True)
        await store.journal_put(intent)
        assert await store.journal_get("r1", 2, "h/call", 1) == intent
        done = dataclasses.replace(intent, status="done", result=b'{"ok":true}', finished_at=T0 + 2)
        await store.journal_put(done)
        assert await store.journal_get("r1", 2, "h/call", 1) == done
        failed = dataclasses.replace(intent, status="failed", finished_at=T0 + 3, error="ValueError('x')")
        await store.journal_put(failed)
        assert await store.journal_get("r1", 2, "h/call", 1) == failed
        assert await store.journal("r1") == [failed]

    async def test_journal_get_misses(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        await store.journal_put(journal_entry("r1", 2, "a", 0))
        for key in [("r2", 2, "a", 0), ("r1", 3, "a", 0), ("r1", 2, "b", 0), ("r1", 2, "a", 1)]:
            assert await store.journal_get(*key) is None

    async def test_journal_lists_one_run_in_key_order(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        await store.create_run(run_record("r2"))
        keys = [(3, "a", 0), (1, "b", 1), (1, "b", 0), (1, "a", 5), (2, "a", 0)]
        for visit, path, index in keys:
            await store.journal_put(journal_entry("r1", visit, path, index))
        await store.journal_put(journal_entry("r2", 1, "a", 0))
        got = await store.journal("r1")
        assert [(e.visit, e.node_path, e.index) for e in got] == sorted(keys)
        assert all(e.run_id == "r1" for e in got)
        assert await store.journal("r3") == []

    # ------------------------------------------------------------------ leases
    async def test_acquire_a_free_lease(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        assert await store.lease("r1") is None
        assert await store.acquire("r1", "alice", 30.0, T0)
        assert await store.lease("r1") == ("alice", T0 + 30.0)

    async def test_a_run_the_store_does_not_hold_cannot_be_leased(self, store: CheckpointStore) -> None:
        assert not await store.acquire("nope", "alice", 30.0, T0)
        assert await store.lease("nope") is None

    async def test_a_held_lease_is_refused(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        assert await store.acquire("r1", "alice", 30.0, T0)
        assert not await store.acquire("r1", "bob", 30.0, T0 + 10)
        assert not await store.acquire("r1", "bob", 30.0, T0 + 30)  # expires *after* its expiry time
        assert await store.lease("r1") == ("alice", T0 + 30.0)

    async def test_owner_reacquires_and_extends(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        assert await store.acquire("r1", "alice", 30.0, T0)
        assert await store.acquire("r1", "alice", 30.0, T0 + 20)
        assert await store.lease("r1") == ("alice", T0 + 50.0)

    async def test_an_expired_lease_is_taken(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        assert await store.acquire("r1", "alice", 30.0, T0)
        assert await store.acquire("r1", "bob", 30.0, T0 + 31)
        assert await store.lease("r1") == ("bob", T0 + 61.0)
        assert not await store.acquire("r1", "alice", 30.0, T0 + 32)

    async def test_steal_from_a_named_holder(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        assert await store.acquire("r1", "alice", 30.0, T0)
        assert not await store.acquire("r1", "bob", 30.0, T0 + 1, steal_from="carol")
        assert await store.lease("r1") == ("alice", T0 + 30.0)
        assert await store.acquire("r1", "bob", 30.0, T0 + 1, steal_from="alice")
        assert await store.lease("r1") == ("bob", T0 + 31.0)

    async def test_release_only_by_owner(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        assert await store.acquire("r1", "alice", 30.0, T0)
        await store.release("r1", "bob")
        assert await store.lease("r1") == ("alice", T0 + 30.0)
        await store.release("r1", "alice")
        assert await store.lease("r1") is None
        assert await store.acquire("r1", "bob", 30.0, T0 + 1)
        assert await store.lease("r1") == ("bob", T0 + 31.0)

    async def test_leases_are_per_run(self, store: CheckpointStore) -> None:
        await store.create_run(run_record("r1"))
        await store.create_run(run_record("r2"))
        assert await store.acquire("r1", "alice", 30.0, T0)
        assert await store.acquire("r2", "bob", 30.0, T0)
        assert await store.lease("r1") == ("alice", T0 + 30.0)
        assert await store.lease("r2") == ("bob", T0 + 30.0)
        await store.release("r1", "alice")
        assert await store.lease("r2") == ("bob", T0 + 30.0)
