"""The store conformance suite on the memory and SQLite stores, plus what only SQLite promises:
corrupt rows named precisely, schema versions, the default path, and its durability settings."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from loomflow import CorruptCheckpoint, MemoryStore, SQLiteStore, StoreVersionError
from loomflow.checkpoint import STORE_SCHEMA_VERSION, open_store
from loomflow.errors import RunBusy, RunError, StoreError
from loomflow.testing import StoreConformance
from loomflow.testing.store_conformance import journal_entry, run_record, step_record


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    async def make_store(self) -> AsyncIterator[MemoryStore]:
        store = MemoryStore()
        yield store
        await store.close()

    async def test_list_runs_breaks_time_ties_by_creation_order(self, store: MemoryStore) -> None:  # type: ignore[override]
        await super().test_list_runs_breaks_time_ties_by_creation_order(store)


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    async def make_store(self, tmp_path: Path) -> AsyncIterator[SQLiteStore]:
        store = SQLiteStore(tmp_path / "conformance.db")
        yield store
        await store.close()


class TestSQLiteInMemoryStore(StoreConformance):
    @pytest.fixture
    async def make_store(self) -> AsyncIterator[SQLiteStore]:
        store = SQLiteStore(":memory:")
        yield store
        await store.close()


# ---------------------------------------------------------------------- SQLite only


async def test_corrupt_step_row_names_run_and_step_and_spares_other_runs(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    for run_id in ("bad", "good"):
        await store.create_run(run_record(run_id))
        for step in (1, 2, 3):
            await store.append_step(step_record(run_id, step))
    raw = sqlite3.connect(db)
    with raw:
        # schema 2: a step's key packs (run key, step)
        raw.execute(
            "UPDATE steps SET meta=? WHERE id=((SELECT id FROM runs WHERE run_id='bad') << 32 | 2)", (b"{not json",)
        )
    raw.close()

    with pytest.raises(CorruptCheckpoint, match=r"run 'bad' step 2") as info:
        await store.steps("bad")
    assert info.value.run_id == "bad"
    assert info.value.step == 2
    assert "fork the run from an earlier step or delete it" in str(info.value)
    assert [r.step for r in await store.steps("good")] == [1, 2, 3]
    assert await store.get_run("good") == run_record("good")
    await store.close()


async def test_journal_entry_with_an_unknown_name_is_a_corrupt_record_of_its_run(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    for run_id in ("bad", "good"):
        await store.create_run(run_record(run_id))
        await store.journal_put(journal_entry(run_id))
    raw = sqlite3.connect(db)
    with raw:  # schema 2: the call's name is an id into `names`; point it at none
        raw.execute("UPDATE journal SET name=9999 WHERE run=(SELECT id FROM runs WHERE run_id='bad')")
    raw.close()

    with pytest.raises(CorruptCheckpoint, match=r"run 'bad'.*journal entry 1/0 refers to a name that is not stored"):
        await store.journal("bad")
    assert [e.name for e in await store.journal("good")] == ["call"]
    await store.close()


async def test_corrupt_run_body_names_the_run(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    await store.create_run(run_record("bad"))
    await store.create_run(run_record("good"))
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE runs SET body=? WHERE run_id='bad'", (b"\x00garbage",))
    raw.close()
    with pytest.raises(CorruptCheckpoint, match="run 'bad'"):
        await store.get_run("bad")
    assert await store.get_run("good") == run_record("good")
    await store.close()


async def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    await SQLiteStore(db).close()
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(STORE_SCHEMA_VERSION + 1),))
    raw.close()
    with pytest.raises(StoreVersionError, match="upgrade loomflow"):
        SQLiteStore(db)


async def test_schema_version_is_recorded_and_reopening_keeps_data(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    await store.create_run(run_record("r1"))
    await store.close()
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(STORE_SCHEMA_VERSION),)
    raw.close()
    again = SQLiteStore(db)
    assert await again.get_run("r1") == run_record("r1")
    await again.close()


async def test_default_path_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = SQLiteStore()
    await store.create_run(run_record("r1"))
    assert (tmp_path / ".loomflow" / "loomflow.db").is_file()
    await store.close()
    opened = open_store(None)  # what Interpreter(graph) uses without a store
    assert isinstance(opened, SQLiteStore)
    assert await opened.get_run("r1") == run_record("r1")
    await opened.close()


def _pragma(store: SQLiteStore, name: str) -> object:
    return store._db.execute(f"PRAGMA {name}").fetchone()[0]


async def test_wal_and_synchronous_normal_by_default(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    assert _pragma(store, "journal_mode") == "wal"
    assert _pragma(store, "synchronous") == 1  # NORMAL
    await store.close()


async def test_synchronous_full_is_applied(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", synchronous="full")
    assert _pragma(store, "journal_mode") == "wal"
    assert _pragma(store, "synchronous") == 2  # FULL
    await store.close()


async def test_a_batch_is_one_transaction(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    writer, reader = SQLiteStore(db), SQLiteStore(db)
    await writer.create_run(run_record("r1"))
    await writer.append_steps([step_record("r1", 1), step_record("r1", 2)])
    assert [r.step for r in await reader.steps("r1")] == [1, 2]
    with pytest.raises(RunBusy):
        await writer.append_steps([step_record("r1", 3), step_record("r1", 1)])
    assert [r.step for r in await reader.steps("r1")] == [1, 2]  # rolled back whole
    await writer.append_step(step_record("r1", 3))  # and the connection is usable again
    await writer.close()
    await reader.close()


@pytest.mark.parametrize("batch", [False, True])
async def test_a_step_lacking_a_required_field_is_a_store_error_not_a_lost_race(tmp_path: Path, batch: bool) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    await store.create_run(run_record("r1"))
    await store.append_step(step_record("r1", 1))
    for field, value in [("visit", None), ("node_path", None), ("started_at", None), ("writes", None)]:
        bad = step_record("r1", 3, **{field: value})
        with pytest.raises(StoreError, match=f"step 3 of run 'r1' cannot be stored: its {field} is None"):
            await (store.append_steps([step_record("r1", 2), bad]) if batch else store.append_step(bad))
    assert [r.step for r in await store.steps("r1")] == [1]
    await store.close()


async def test_a_run_lacking_a_required_field_is_a_store_error_not_a_duplicate(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    with pytest.raises(StoreError, match="run 'r1' cannot be stored: its graph is None"):
        await store.create_run(run_record("r1", graph=None))
    await store.create_run(run_record("r1"))
    with pytest.raises(RunError, match="run 'r1' already exists"):
        await store.create_run(run_record("r1"))
    await store.close()


async def test_lease_is_shared_between_connections(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    one, two = SQLiteStore(db), SQLiteStore(db)
    await one.create_run(run_record("r1"))
    assert await one.acquire("r1", "alice", 30.0, 100.0)
    assert not await two.acquire("r1", "bob", 30.0, 110.0)
    assert await two.lease("r1") == ("alice", 130.0)
    await one.close()
    await two.close()


async def test_a_journal_entry_lacking_a_required_field_is_a_store_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    await store.create_run(run_record("r1"))
    with pytest.raises(StoreError, match=r"journal entry 1/n#0 of run 'r1' cannot be stored: its request_hash"):
        await store.journal_put(journal_entry("r1", 1, request_hash=None))
    assert await store.journal("r1") == []
    await store.close()
