"""Damaged SQLite rows are a CorruptCheckpoint naming the run (and step), never wrong values or raw Python
errors, and they leave other runs readable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loomflow import CorruptCheckpoint, SQLiteStore
from loomflow.checkpoint.codec import dumps
from loomflow.outcomes import Interrupt
from loomflow.testing.store_conformance import journal_entry, run_record, step_record

INTR = Interrupt("n@2:x", "input", "n", 2, "value?", {"p": 1}, ("a", "b"))
BIG = dumps({"text": "x" * 10_000})  # three heap segments of a 4 KiB page


def _damage(db: Path, sql: str, *args: object) -> None:
    """Change ``db`` behind the store's back (``:bad`` in ``sql`` is the key of run 'bad')."""
    raw = sqlite3.connect(db)
    with raw:
        raw.execute(sql.replace(":bad", "(SELECT id FROM runs WHERE run_id='bad')"), args)
    raw.close()


async def _two_runs(db: Path, **bad_fields: object) -> SQLiteStore:
    """Runs 'good' and 'bad', two steps each; 'bad' is made of ``bad_fields``."""
    store = SQLiteStore(db)
    await store.create_run(run_record("good", status="interrupted", interrupts=(INTR,)))
    await store.create_run(run_record("bad", status="interrupted", interrupts=(INTR,), **bad_fields))
    for run_id in ("good", "bad"):
        await store.append_steps([step_record(run_id, 1), step_record(run_id, 2, status="interrupted")])
    return store


async def _good_run_is_whole(store: SQLiteStore) -> None:
    assert await store.get_run("good") == run_record("good", status="interrupted", interrupts=(INTR,))
    assert [s.step for s in await store.steps("good")] == [1, 2]


# ---------------------------------------------------------------------- heap values


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM heap WHERE id=1",  # the segment the value starts in
        "DELETE FROM heap WHERE id=2",  # one in the middle
        "DELETE FROM heap WHERE id=3",  # the last
        "UPDATE heap SET data=substr(data, 1, 100) WHERE id=3",  # the last, cut short
        "DELETE FROM heap",
    ],
)
async def test_a_step_value_with_missing_heap_bytes_is_corrupt(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "s.db"
    store = await _two_runs(db)
    await store.append_step(step_record("bad", 3, writes=BIG))
    _damage(db, damage)
    with pytest.raises(CorruptCheckpoint, match=r"run 'bad' step 3: the bytes of the step's writes, at heap address "):
        await store.steps("bad")
    await _good_run_is_whole(store)
    await store.close()


async def test_a_snapshot_with_missing_heap_bytes_is_corrupt(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = await _two_runs(db)
    await store.append_step(step_record("bad", 3, snapshot=BIG))
    _damage(db, "DELETE FROM heap WHERE id=2")
    with pytest.raises(CorruptCheckpoint, match=r"run 'bad' step 3: the bytes of the step's snapshot, at heap"):
        await store.steps("bad")
    await store.close()


async def test_a_journal_result_with_missing_heap_bytes_is_corrupt_not_replayed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = await _two_runs(db)
    await store.journal_put(journal_entry("bad", 2, status="done", result=BIG, finished_at=1.0))
    _damage(db, "UPDATE heap SET data=substr(data, 1, 100) WHERE id=3")
    expected = r"run 'bad': the bytes of the result of journal entry 2/0, at heap address 4032, are missing"
    with pytest.raises(CorruptCheckpoint, match=expected):
        await store.journal_get("bad", 2, "n", 0)
    with pytest.raises(CorruptCheckpoint, match=expected):
        await store.journal("bad")
    await store.close()


async def test_a_run_input_with_missing_heap_bytes_is_corrupt(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = await _two_runs(db, input={"text": "y" * 10_000})
    _damage(db, "DELETE FROM heap WHERE id=2")
    with pytest.raises(CorruptCheckpoint, match=r"run 'bad': the bytes of the run's input, at heap address 4032"):
        await store.get_run("bad")
    await _good_run_is_whole(store)
    await store.close()


# ---------------------------------------------------------------------- run records


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"[1]", "run record is an array, not a JSON object"),
        (b"null", "run record is null, not a JSON object"),
        (b"7", "run record is a number, not a JSON object"),
        (b'{"bogus_field": 1}', r"run record has field\(s\) \['bogus_field'\] that this loomflow does not know"),
        (b'{"interrupts": [{"id": "x"}]}', "run record holds a malformed interrupt"),
        (b'{"interrupts": [5]}', "run record holds a malformed interrupt"),
        (b'{"interrupts": 5}', "run record holds a malformed interrupt"),
    ],
)
async def test_a_damaged_run_record_is_corrupt_and_still_listed(tmp_path: Path, body: bytes, problem: str) -> None:
    db = tmp_path / "s.db"
    store = await _two_runs(db)
    _damage(db, "UPDATE runs SET body=? WHERE run_id='bad'", body)
    with pytest.raises(CorruptCheckpoint, match=f"run 'bad': {problem}"):
        await store.get_run("bad")
    await _good_run_is_whole(store)
    # "other runs are unaffected": listing them does not fail; the bad one shows what its columns hold
    bad, good = await store.list_runs()
    assert good == await store.get_run("good")
    assert (bad.run_id, bad.status, bad.graph, bad.interrupts) == ("bad", "interrupted", "g", ())
    assert bad.error is not None
    assert bad.error.startswith("corrupt checkpoint record at run 'bad'")
    assert [r.run_id for r in await store.list_runs(status="interrupted")] == ["bad", "good"]
    await store.close()


# ---------------------------------------------------------------------- step metadata


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        (b"[1]", "step metadata is an array, not a JSON object"),
        (b'"x"', "step metadata is a string, not a JSON object"),
        (b"null", "step metadata is null, not a JSON object"),
        (b'{"interrupts": [{"id": "x"}]}', "step metadata holds a malformed field"),
        (b'{"interrupts": 5}', "step metadata holds a malformed field"),
    ],
)
async def test_damaged_step_metadata_is_corrupt(tmp_path: Path, meta: bytes, problem: str) -> None:
    db = tmp_path / "s.db"
    store = await _two_runs(db)
    _damage(db, "UPDATE steps SET meta=? WHERE id=(:bad << 32 | 2)", meta)
    with pytest.raises(CorruptCheckpoint, match=f"run 'bad' step 2: {problem}"):
        await store.steps("bad")
    await _good_run_is_whole(store)
    await store.close()
