"""An SQLite store written by an older loomflow opens with this one: migrated in place, nothing lost."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest

from loomflow import CorruptCheckpoint, SQLiteStore, StoreVersionError
from loomflow.checkpoint import STORE_SCHEMA_VERSION
from loomflow.checkpoint.codec import dumps
from loomflow.errors import RunBusy
from loomflow.outcomes import Interrupt
from loomflow.testing.store_conformance import T0, journal_entry, run_record, step_record

# the tables exactly as schema version 1 created them
_V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS graphs (fingerprint TEXT PRIMARY KEY, structure BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, graph TEXT NOT NULL, fingerprint TEXT NOT NULL, state_version INTEGER NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    parent_run TEXT, parent_step INTEGER, kind TEXT NOT NULL DEFAULT 'run', replay_of TEXT,
    seq_reserved INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_expires REAL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_run);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, parent_step INTEGER, visit INTEGER NOT NULL,
    node_path TEXT NOT NULL, route TEXT, target TEXT, status TEXT NOT NULL,
    writes BLOB NOT NULL, snapshot BLOB, meta BLOB NOT NULL, superseded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS journal (
    run_id TEXT NOT NULL, visit INTEGER NOT NULL, node_path TEXT NOT NULL, idx INTEGER NOT NULL,
    name TEXT NOT NULL, request_hash TEXT NOT NULL, idempotent INTEGER NOT NULL, status TEXT NOT NULL,
    result BLOB, started_at REAL NOT NULL, finished_at REAL, error TEXT,
    PRIMARY KEY (run_id, visit, node_path, idx)
);
INSERT INTO meta VALUES ('schema_version', '1');
"""
_V1_RUN_COLUMNS = (
    "run_id",
    "graph",
    "fingerprint",
    "state_version",
    "status",
    "created_at",
    "updated_at",
    "parent_run",
    "parent_step",
    "kind",
    "replay_of",
    "seq_reserved",
)
_V1_BODY_FIELDS = (
    "input",
    "fork_update",
    "output",
    "error",
    "interrupts",
    "limits",
    "metadata",
    "answers",
    "base_step",
    "base_state",
)

BIG = "ünïcode ✓ " * 400  # several KiB: kept out of line by version 2

INTR = Interrupt("n@3:x", "input", "n", 3, "value?", {"p": 1}, ("a", "b"))
RUNS = [
    run_record("r1", input={"topic": BIG}, limits={"max_steps": 9}, created_at=T0),
    run_record("child", parent_run="r1", parent_step=2, kind="child", created_at=T0 + 1, seq_reserved=64),
    run_record("paused", status="interrupted", interrupts=(INTR,), answers={"a": 1}, created_at=T0 + 1),
]
STEPS = [
    step_record("r1", 1, writes=dumps({"text": BIG})),
    step_record("r1", 2, usage={"input_tokens": 3, "cost": None}, attempts=2, error="once"),
    step_record("r1", 3, status="interrupted", interrupts=(INTR,), answers={"k": "v"}, snapshot=b'{"s":1}'),
    step_record("child", 1, node_path="outer/inner"),
]
JOURNAL = [
    journal_entry("r1", 2, "n", 0, status="done", result=dumps({"big": BIG}), finished_at=T0 + 1),
    journal_entry("r1", 3, "n", 1),
]


def _write_v1(db: Path) -> None:
    """Rows as version 1 wrote them (one JSON body per run, JSON step metadata, text run ids everywhere)."""
    raw = sqlite3.connect(db)
    raw.executescript(_V1_SCHEMA)
    for run in RUNS:
        body = {f: getattr(run, f) for f in _V1_BODY_FIELDS}
        body["interrupts"] = [i.to_json() for i in run.interrupts]
        cols = [getattr(run, c) for c in _V1_RUN_COLUMNS]
        raw.execute(
            f"INSERT INTO runs ({', '.join(_V1_RUN_COLUMNS)}, body) VALUES ({', '.join('?' * 13)})",
            (*cols, dumps(body)),
        )
    raw.execute("UPDATE runs SET lease_owner='alice', lease_expires=? WHERE run_id='r1'", (T0 + 30,))
    for s in STEPS:
        raw.execute(
            "INSERT INTO steps VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (s.run_id, s.step, s.parent_step, s.visit, s.node_path, s.route, s.target, s.status, s.writes,
             s.snapshot, dumps(s.meta()), int(s.superseded)),
        )  # fmt: skip
    raw.execute("UPDATE steps SET superseded=1 WHERE run_id='r1' AND step=3")
    # version 1 kept steps of a run it had no record of
    raw.execute(
        "INSERT INTO steps VALUES ('ghost', 1, NULL, 1, 'n', NULL, 'n', 'ok', x'7b7d', NULL, ?, 0)",
        (dumps({"seq": 2, "t": T0, "d": 0.5}),),
    )
    for e in JOURNAL:
        raw.execute(
            "INSERT INTO journal VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (e.run_id, e.visit, e.node_path, e.index, e.name, e.request_hash, int(e.idempotent), e.status,
             e.result, e.started_at, e.finished_at, e.error),
        )  # fmt: skip
    raw.commit()
    raw.close()


async def test_a_version_1_file_is_migrated_in_place_and_reads_back_whole(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _write_v1(db)
    store = SQLiteStore(db)
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(STORE_SCHEMA_VERSION),)
    assert not raw.execute("SELECT name FROM sqlite_master WHERE name LIKE 'v1_%'").fetchall()
    raw.close()

    for run in RUNS:
        assert await store.get_run(run.run_id) == run
    assert [r.run_id for r in await store.list_runs()][:3] == ["paused", "child", "r1"]  # ties: creation order
    assert [r.run_id for r in await store.list_runs(parent_run="r1")] == ["child"]
    assert await store.lease("r1") == ("alice", T0 + 30)

    r1 = await store.steps("r1")
    assert r1[:2] == STEPS[:2]
    assert r1[2] == step_record(
        "r1", 3, status="interrupted", interrupts=(INTR,), answers={"k": "v"}, snapshot=b'{"s":1}', superseded=True
    )
    assert await store.steps("child") == STEPS[3:]
    assert [s.step for s in await store.steps("ghost")] == [1]
    ghost = await store.get_run("ghost")  # a stub run in the status vocabulary, saying why it exists
    assert ghost is not None
    assert ghost.status == "cancelled"
    assert "no run record" in (ghost.error or "")
    assert await store.journal("r1") == JOURNAL
    assert await store.journal_get("r1", 2, "n", 0) == JOURNAL[0]

    # and it keeps working as a version-2 store: compare-and-swap, updates, new runs
    with pytest.raises(RunBusy):
        await store.append_step(step_record("r1", 2))
    await store.append_step(step_record("r1", 4, parent_step=2))
    await store.update_run("r1", status="completed", output={"done": True})
    got = await store.get_run("r1")
    assert got is not None
    assert (got.status, got.output, got.input) == ("completed", {"done": True}, {"topic": BIG})
    await store.create_run(run_record("new", created_at=T0 + 5))
    assert [r.run_id for r in await store.list_runs(limit=1)] == ["new"]
    await store.close()

    again = SQLiteStore(db)  # opening a migrated file again changes nothing
    assert [s.step for s in await again.steps("r1")] == [1, 2, 3, 4]
    await again.close()


async def test_a_corrupt_version_1_step_survives_the_migration_and_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _write_v1(db)
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE steps SET meta=? WHERE run_id='r1' AND step=2", (b"{not json",))
    raw.close()
    store = SQLiteStore(db)
    with pytest.raises(CorruptCheckpoint, match=r"run 'r1' step 2"):
        await store.steps("r1")
    assert await store.steps("child") == STEPS[3:]
    await store.close()


async def test_a_newer_file_is_still_refused_before_anything_changes(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    await SQLiteStore(db).close()
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(STORE_SCHEMA_VERSION + 1),))
    before = raw.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    raw.close()
    with pytest.raises(StoreVersionError, match=f"schema version {STORE_SCHEMA_VERSION + 1}.*upgrade loomflow"):
        SQLiteStore(db)
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before
    raw.close()


@pytest.mark.parametrize("old", [False, True])
def test_connections_opening_one_file_at_once_create_or_migrate_it_once(tmp_path: Path, old: bool) -> None:
    db = tmp_path / "s.db"
    if old:
        _write_v1(db)
    assert _open_at_once(db, 6) == []
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT count(*) FROM meta WHERE key IN ('schema_version', 'heap_segment')").fetchone() == (2,)
    assert raw.execute("SELECT count(*) FROM runs").fetchone() == ((len(RUNS) + 1) if old else 0,)
    raw.close()


def _open_at_once(db: Path, n: int) -> list[BaseException]:
    """Open ``n`` stores on ``db`` from ``n`` threads released together; what they raised (stores closed)."""
    errors: list[BaseException] = []
    stores: list[SQLiteStore] = []
    start = threading.Barrier(n)

    def open_it() -> None:
        start.wait()
        try:
            stores.append(SQLiteStore(db))
        except BaseException as exc:  # pragma: no cover - the failure the callers are about
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in stores:
        store._db.close()
    return errors


def test_many_connections_opening_one_new_file_at_once_all_get_it() -> None:
    # Switching a file to WAL is refused at once (no busy wait) while another connection is opening it;
    # the store retries the switch, so none of these fails with "database is locked".
    for _ in range(15):
        with tempfile.TemporaryDirectory() as tmp:
            assert _open_at_once(Path(tmp) / "s.db", 8) == []


def test_a_newer_file_is_refused_before_anything_changes_it(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    raw = sqlite3.connect(db)
    raw.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    raw.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(STORE_SCHEMA_VERSION + 1),))
    raw.commit()
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    raw.close()
    with pytest.raises(StoreVersionError):
        SQLiteStore(db)
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not switched to WAL
    raw.close()


async def test_a_version_1_file_without_its_version_row_is_migrated_once(tmp_path: Path) -> None:
    # version 1 created its tables, then recorded its version: a crash in between leaves no version row
    db = tmp_path / "old.db"
    _write_v1(db)
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("DELETE FROM meta WHERE key='schema_version'")
    raw.close()
    for _ in range(2):  # the second open finds a version-2 file
        store = SQLiteStore(db)
        assert await store.get_run("paused") == RUNS[2]
        assert await store.steps("child") == STEPS[3:]
        await store.close()
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(STORE_SCHEMA_VERSION),)
    raw.close()


# version 1's statements in order: meta, graphs, runs, its index, steps, journal; then the version row
_V1_STATEMENTS = [s for s in _V1_SCHEMA.split(";") if s.strip() and not s.strip().startswith("INSERT")]


@pytest.mark.parametrize("made", range(1, len(_V1_STATEMENTS)))
async def test_a_version_1_file_that_crashed_while_creating_its_tables_opens(tmp_path: Path, made: int) -> None:
    db = tmp_path / "old.db"
    raw = sqlite3.connect(db)
    for statement in _V1_STATEMENTS[:made]:
        raw.execute(statement)
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "runs" in tables:
        raw.execute(
            "INSERT INTO runs (run_id, graph, fingerprint, state_version, status, created_at, updated_at, body) "
            "VALUES ('r1', 'g', ?, 1, 'running', ?, ?, '{}')",
            ("f" * 16, T0, T0),
        )
    if "steps" in tables:
        s = STEPS[0]
        raw.execute(
            "INSERT INTO steps VALUES ('r1', 1, NULL, 1, 'n', NULL, 'n', 'ok', ?, NULL, ?, 0)",
            (s.writes, dumps(s.meta())),
        )
    raw.commit()
    raw.close()

    for _ in range(2):  # migrated or created once; the second open finds a version-2 file
        store = SQLiteStore(db)
        if "runs" in tables:
            assert await store.get_run("r1") == run_record("r1")
        if "steps" in tables:
            assert await store.steps("r1") == STEPS[:1]
        await store.close()
    store = SQLiteStore(db)  # and it works as a version-2 store
    await store.create_run(run_record("new"))
    await store.append_step(step_record("new", 1))
    await store.journal_put(journal_entry("new"))
    assert [s.step for s in await store.steps("new")] == [1]
    assert await store.journal("new") == [journal_entry("new")]
    await store.close()


@pytest.mark.parametrize(
    "meta", [b'{"t": 5.0, "d": 1.0}', b'{"seq": 4, "t": 5.0}', b"[1, 2]", b'"x"', b"null", b"{not json"]
)
async def test_version_1_step_metadata_without_seq_t_and_d_is_reported_not_zeroed(tmp_path: Path, meta: bytes) -> None:
    db = tmp_path / "old.db"
    _write_v1(db)
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE steps SET meta=? WHERE run_id='r1' AND step=2", (meta,))
    raw.close()
    store = SQLiteStore(db)
    with pytest.raises(CorruptCheckpoint, match=r"run 'r1' step 2: its version-1 metadata .* seq, t and d") as info:
        await store.steps("r1")
    assert repr(meta) in str(info.value)
    assert await store.steps("child") == STEPS[3:]
    await store.close()
