"""What the SQLite store's file layout promises: values of every size come back byte for byte, whichever
table and page size holds them, and KiB-sized values take about their size on disk."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
from pathlib import Path

import pytest

from loomflow import CorruptCheckpoint, SQLiteStore
from loomflow.errors import RunBusy
from loomflow.testing.store_conformance import journal_entry, run_record, step_record


def _blob(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))  # NULs and non-UTF-8 included


@pytest.mark.parametrize("page_size", [1024, 4096, 8192])
async def test_values_of_every_size_round_trip_through_the_heap(tmp_path: Path, page_size: int) -> None:
    rng = random.Random(page_size)
    sizes = [0, 1, 100, 511, 512, 513, 1000, 2048, 4027, 4028, 4029, 4032, 4033, 9000, 30_000]
    rng.shuffle(sizes)
    db = tmp_path / "s.db"
    store = SQLiteStore(db, page_size=page_size)
    expected = {}
    for i, n in enumerate(sizes):
        run_id = f"r{i}"
        await store.create_run(run_record(run_id, input={"text": "x" * n}))
        writes, snap, result = _blob(rng, n), _blob(rng, n // 2), _blob(rng, n + 7)
        await store.append_steps([step_record(run_id, 1, writes=writes, snapshot=snap), step_record(run_id, 2)])
        await store.journal_put(journal_entry(run_id, status="done", result=result, finished_at=1.0))
        expected[run_id] = (n, writes, snap, result)

    for reopened in (store, SQLiteStore(db)):
        for run_id, (n, writes, snap, result) in expected.items():
            run = await reopened.get_run(run_id)
            assert run is not None
            assert run.input == {"text": "x" * n}
            steps = await reopened.steps(run_id)
            assert (steps[0].writes, steps[0].snapshot, steps[1].writes) == (writes, snap, b'{"count":1}')
            entry = await reopened.journal_get(run_id, 1, "n", 0)
            assert entry is not None
            assert entry.result == result
            assert [e.result for e in await reopened.journal(run_id)] == [result]
        await reopened.close()


async def test_heap_values_round_trip_in_a_utf16_database(tmp_path: Path) -> None:
    # a file another tool created with a UTF-16 text encoding: joining heap bytes as text would drop a byte
    db = tmp_path / "s.db"
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA encoding='UTF-16le'")
    raw.execute("CREATE TABLE other_tool (x)")
    raw.close()
    store = SQLiteStore(db)
    await store.create_run(run_record("r1"))
    rng = random.Random(16)
    values = [_blob(rng, n) for n in (600, 601, 700, 1001, 4031, 4032, 513, 9001)]  # odd and even joins
    for step, value in enumerate(values, 1):
        await store.append_step(step_record("r1", step, writes=value))
    for reopened in (store, SQLiteStore(db)):
        assert [s.writes for s in await reopened.steps("r1")] == values
        await reopened.close()


async def test_a_large_step_that_loses_the_race_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    await store.create_run(run_record("r1"))
    await store.append_step(step_record("r1", 1, writes=b"[" + b"1," * 3000 + b"1]"))
    heap = sqlite3.connect(db)
    before = heap.execute("SELECT count(*), sum(length(data)) FROM heap").fetchone()
    with pytest.raises(RunBusy, match="step 1"):
        await store.append_step(step_record("r1", 1, writes=b"[" + b"2," * 3000 + b"2]"))
    assert heap.execute("SELECT count(*), sum(length(data)) FROM heap").fetchone() == before
    heap.close()
    assert (await store.steps("r1"))[0].writes.startswith(b"[1,")
    await store.close()


async def test_kib_sized_values_take_about_their_size_on_disk(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    await store.create_run(run_record("r1"))
    rng = random.Random(7)
    total = 0
    for step in range(1, 201):
        writes = _blob(rng, 2100)  # alone, a row of this size takes a whole 4 KiB page
        total += len(writes)
        await store.append_step(step_record("r1", step, writes=writes))
    await store.close()
    assert db.stat().st_size < 1.2 * total


async def test_node_paths_statuses_and_usage_keys_are_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    expected = []
    for run_id in ("r1", "r2"):
        await store.create_run(run_record(run_id))
        for step in range(1, 51):
            usage = {"input_tokens": step, "output_tokens": 2 * step, "cost": None, "model": "m"}
            rec = step_record(run_id, step, node_path="agent/model_call", route="final", usage=usage)
            await store.append_step(rec)
            expected.append(rec)
        await store.journal_put(journal_entry(run_id, 3, "agent/model_call", 0, status="done", finished_at=2.0))
    raw = sqlite3.connect(db)
    names = [r[0] for r in raw.execute("SELECT name FROM names ORDER BY name")]
    raw.close()
    # node, route, target and status of the steps, name and status of the entries, the usage keys
    assert len(names) == len(set(names)) == 7
    reopened = SQLiteStore(db)
    assert await reopened.steps("r1") + await reopened.steps("r2") == expected
    assert [e.node_path for e in await reopened.journal("r2")] == ["agent/model_call"]
    await reopened.close()
    await store.close()


async def test_a_step_naming_a_missing_name_is_reported_as_corrupt(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    await store.create_run(run_record("r1"))
    await store.append_steps([step_record("r1", 1), step_record("r1", 2)])
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE steps SET node=9999 WHERE id=((SELECT id FROM runs WHERE run_id='r1') << 32 | 2)")
    raw.close()
    with pytest.raises(CorruptCheckpoint, match=r"run 'r1' step 2"):
        await SQLiteStore(db).steps("r1")
    await store.close()


async def test_a_run_body_rewritten_on_every_resume_does_not_pile_up(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    await store.create_run(run_record("r1", input={"text": "x" * 3000}))
    for turn in range(200):  # a session: every turn pauses with a question and resumes with a KiB answer
        await store.update_run("r1", status="interrupted", error=None, output={"turn": turn})
        await store.update_run("r1", status="running", answers={f"n@{turn}:x": "y" * 2048})
    run = await store.get_run("r1")
    assert run is not None
    assert (run.input, run.answers) == ({"text": "x" * 3000}, {"n@199:x": "y" * 2048})
    await store.close()
    assert db.stat().st_size < 100_000  # not 200 copies of the body


def test_writers_on_several_connections_share_the_heap_safely(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    SQLiteStore(db)._db.close()  # create the file once

    def writer(run_id: str, seed: int) -> None:
        async def go() -> None:
            store = SQLiteStore(db)
            await store.create_run(run_record(run_id))
            rng = random.Random(seed)
            for step in range(1, 41):
                big = _blob(rng, rng.randrange(600, 9000))
                await store.append_step(step_record(run_id, step, writes=big))
                await store.journal_put(journal_entry(run_id, step, "n", 0, status="done", result=big[::-1]))
            await store.close()

        asyncio.run(go())

    threads = [threading.Thread(target=writer, args=(f"r{i}", i)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def check() -> None:
        store = SQLiteStore(db)
        for i in range(3):
            rng = random.Random(i)
            steps = await store.steps(f"r{i}")
            journal = await store.journal(f"r{i}")
            assert len(steps) == len(journal) == 40
            for rec, entry in zip(steps, journal, strict=True):
                big = _blob(rng, rng.randrange(600, 9000))
                assert (rec.writes, entry.result) == (big, big[::-1])
        await store.close()

    asyncio.run(check())


async def test_forgotten_run_keys_are_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import loomflow.checkpoint.sqlite as sqlite_store

    monkeypatch.setattr(sqlite_store, "_KEYS_KEPT", 2)
    store = SQLiteStore(tmp_path / "s.db")
    for i in range(5):
        await store.create_run(run_record(f"r{i}"))
        await store.append_step(step_record(f"r{i}", 1, node_path=f"n{i}"))
    assert len(store._keys) <= 2
    for i in range(5):
        assert [s.node_path for s in await store.steps(f"r{i}")] == [f"n{i}"]
    await store.close()
