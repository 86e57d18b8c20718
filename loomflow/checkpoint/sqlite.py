"""The embedded default store: one SQLite file (WAL) holding graphs, runs, steps and the journal.

``synchronous="normal"`` (the default) keeps every committed step through a killed process;
``synchronous="full"`` also survives power loss, at the cost of an fsync per commit.
Calls run on the event loop's thread: a step insert is ~10 µs, cheaper than any hop to a thread.

Layout (schema version 2), chosen for file size and for one dirty page per step commit:

- ``runs`` is keyed by an integer ``id``; child tables hold that key, not the 32-character run id.
- ``steps`` is a rowid table whose key packs ``run key << 32 | step``: the key is the compare-and-swap
  (a taken step number is a primary-key conflict) and there is no separate index to update.
  The small step fields are typed columns; ``meta`` holds only the rare ones (error, interrupts,
  answers, usage, attempts) as JSON, NULL when there are none. Node paths, routes, targets and statuses,
  a graph's small vocabulary repeated in every step, are ids into ``names``.
- A run's input has its own column, out of the JSON body: it is written once, and the body is rewritten
  whenever the run pauses, resumes or ends (so the body always stays in the row, rewritten in place).
- Values longer than an eighth of a page (run inputs, step writes and snapshots, journal results) are
  appended to ``heap``, and the row holds the value's address there instead of its bytes.
  The heap is one byte string cut into page-sized rows (segments), each filling its own page, so these
  values take their size on disk: a row of 1-4 KiB kept inline would take a 4 KiB page alone or with one
  neighbour. A value is written once; one that is replaced (a journal result replaced, an input
  changed through ``update_run``; both rare) leaves its old bytes behind, unreferenced.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from loomflow.checkpoint.base import STORE_SCHEMA_VERSION, step_taken
from loomflow.checkpoint.codec import dumps, loads
from loomflow.checkpoint.records import JournalEntry, RunRecord, StepRecord
from loomflow.errors import CorruptCheckpoint, RunBusy, RunError, RunNotFound, StoreError, StoreVersionError
from loomflow.outcomes import Interrupt

__all__ = ["DEFAULT_PATH", "SQLiteStore"]

DEFAULT_PATH = Path(".loomflow") / "loomflow.db"

_STEP_BITS = 32  # steps.id = run key << 32 | step
_STEP_MASK = (1 << _STEP_BITS) - 1
_KEYS_KEPT = 10_000  # run_id -> key entries a store keeps in memory
#: the prefix (not JSON) of version-1 step metadata the migration could not split into seq, t and d
_V1_UNSPLIT = b"unsplit version-1 metadata: "
#: the error of the stub run the migration keeps orphaned version-1 rows under
_ORPHANS = (
    "kept by the store's schema-2 migration: version 1 held steps or journal entries of this run but no run record"
)

# Plain rowid tables for rows that can be large; WITHOUT ROWID only where rows stay small (an index
# b-tree spills rows above a quarter page to overflow pages).
# meta and graphs may exist already: version 1 created them first, with the same columns, and a version-1
# file that crashed while creating its tables holds them alone.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS graphs (fingerprint TEXT PRIMARY KEY, structure BLOB NOT NULL)",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, graph TEXT NOT NULL, fingerprint TEXT NOT NULL,
        state_version INTEGER NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
        parent_run TEXT, parent_step INTEGER, kind TEXT NOT NULL DEFAULT 'run', replay_of TEXT,
        seq_reserved INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_expires REAL,
        body BLOB NOT NULL, input BLOB
    )""",
    "CREATE INDEX runs_parent ON runs(parent_run) WHERE parent_run IS NOT NULL",
    "CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    # node, route, target, status: names.id
    """CREATE TABLE steps (
        id INTEGER PRIMARY KEY, parent_step INTEGER, visit INTEGER NOT NULL, node INTEGER NOT NULL,
        route INTEGER, target INTEGER, status INTEGER NOT NULL, writes BLOB NOT NULL, snapshot BLOB,
        seq INTEGER NOT NULL, started_at REAL NOT NULL, duration REAL NOT NULL, meta BLOB,
        superseded INTEGER NOT NULL DEFAULT 0
    )""",
    # node, name, status: names.id
    """CREATE TABLE journal (
        run INTEGER NOT NULL, visit INTEGER NOT NULL, node INTEGER NOT NULL, idx INTEGER NOT NULL,
        name INTEGER NOT NULL, request_hash TEXT NOT NULL, idempotent INTEGER NOT NULL, status INTEGER NOT NULL,
        result BLOB, started_at REAL NOT NULL, finished_at REAL, error TEXT,
        PRIMARY KEY (run, visit, node, idx)
    ) WITHOUT ROWID""",
    # segment id * meta.heap_segment + offset = a value's address; at the address, 4 bytes of length, the value
    "CREATE TABLE heap (id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
)

# Fields kept in the JSON body column; the rest are columns so they can be queried or CAS-updated.
_BODY_FIELDS = (
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
_COLUMNS = (
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
_RUN_SELECT = f"SELECT id, {', '.join(_COLUMNS)}, body, input FROM runs"
_STEP_COLUMNS = "id, parent_step, visit, node, route, target, status, writes, snapshot, seq, started_at, duration, meta"
_STEP_SQL = f"INSERT INTO steps ({_STEP_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
_JOURNAL_COLUMNS = "visit, node, idx, name, request_hash, idempotent, status, result, started_at, finished_at, error"
_JOURNAL_PUT = "INSERT OR REPLACE INTO journal VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"


class SQLiteStore:
    """Checkpoints in one SQLite file; the default is ``.loomflow/loomflow.db``.

    ``synchronous``: ``"normal"`` survives a killed process, ``"full"`` also power loss. ``page_size``
    (new files only): larger pages make every commit write more; values of a KiB or more take about their
    size on disk whatever the page size (see the layout above).

    >>> store = SQLiteStore(":memory:")
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        synchronous: Literal["normal", "full", "off"] = "normal",
        busy_timeout: float = 10.0,
        page_size: int = 4096,
    ) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout)
        try:
            self._refuse_newer(self._version())  # before anything here changes the file
            self._db.execute(f"PRAGMA page_size={page_size}")  # before the first table: new files only
            use_wal(self._db, busy_timeout=busy_timeout, synchronous=synchronous)
        except BaseException:
            self._db.close()
            raise
        self._keys: dict[str, int] = {}  # run_id -> runs.id; a run's key never changes
        self._name_ids: dict[str, int] = {}  # the rows of `names` this connection has seen, both ways
        self._names: dict[int, str] = {}
        self._open_schema()
        # bytes per heap segment: a segment row fills its page without spilling to an overflow page
        self._segment = int(self._db.execute("SELECT value FROM meta WHERE key='heap_segment'").fetchone()[0])
        self._inline = (self._segment + 64) // 8  # values up to this many bytes stay in their row

    # ------------------------------------------------------------------ schema
    def _tables(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _version(self) -> int | None:
        tables = self._tables()
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is not None:
                return int(row[0])
        return 1 if "runs" in tables else None  # a version-1 file that crashed before recording it

    def _open_schema(self) -> None:
        version = self._version()
        if version == STORE_SCHEMA_VERSION:
            return
        self._refuse_newer(version)
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # one creator or migrator at a time; the others wait, then see it done
        try:
            version = self._version()
            self._refuse_newer(version)
            if version == STORE_SCHEMA_VERSION:  # another connection got there first
                db.execute("COMMIT")
                return
            if version is None:
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(STORE_SCHEMA_VERSION),))
            elif version < STORE_SCHEMA_VERSION:
                self._migrate_v1()
            page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
            db.execute("INSERT INTO meta VALUES ('heap_segment', ?)", (str(page_size - 64),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _refuse_newer(self, version: int | None) -> None:
        if version is not None and version > STORE_SCHEMA_VERSION:
            raise StoreVersionError(
                f"store {self.path} has schema version {version}, newer than this loomflow's "
                f"{STORE_SCHEMA_VERSION}; upgrade loomflow to open it"
            )

    def _migrate_v1(self) -> None:
        """Rewrite a version-1 file in place (the caller holds the transaction): runs keep their rowid as
        their key, step metadata moves from JSON to columns, child rows take the integer run key."""
        db = self._db
        # a version-1 file that crashed while creating its tables (runs, then steps, then journal) lacks the
        # last of them: only the tables it has are moved
        old = [table for table in ("runs", "steps", "journal") if table in self._tables()]
        for table in old:
            db.execute(f"ALTER TABLE {table} RENAME TO v1_{table}")
        db.execute("DROP INDEX IF EXISTS runs_parent")
        for statement in _SCHEMA[2:]:
            db.execute(statement)
        if "runs" in old:
            cols = ", ".join(_COLUMNS)
            db.execute(
                f"INSERT INTO runs (id, {cols}, lease_owner, lease_expires, body) "
                f"SELECT rowid, {cols}, lease_owner, lease_expires, body FROM v1_runs ORDER BY rowid"
            )
        children = [table for table in ("steps", "journal") if table in old]
        if children:
            # version 1 accepted steps and journal entries of runs it had no record of: keep them under a stub
            # run, cancelled (final, in the run status vocabulary) with an error that says why it exists
            run_ids = " UNION ".join(f"SELECT run_id FROM v1_{table}" for table in children)
            db.execute(
                "INSERT INTO runs (run_id, graph, fingerprint, state_version, status, created_at, updated_at, body) "
                f"SELECT DISTINCT run_id, '', '', 0, 'cancelled', 0, 0, ? FROM ({run_ids}) "
                "WHERE run_id NOT IN (SELECT run_id FROM runs)",
                (_encode_body({"error": _ORPHANS}),),
            )
        if "journal" in old:
            self._migrate_v1_journal()
        if "steps" in old:
            self._migrate_v1_steps()
        for table in old:
            db.execute(f"DROP TABLE v1_{table}")
        # (a version-1 file that crashed before writing its version row has no row to update)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(STORE_SCHEMA_VERSION),))

    def _migrate_v1_journal(self) -> None:
        db = self._db
        entries = db.execute(
            "SELECT r.id, j.visit, j.node_path, j.idx, j.name, j.request_hash, j.idempotent, j.status, j.result, "
            "j.started_at, j.finished_at, j.error FROM v1_journal j JOIN runs r USING (run_id)"
        ).fetchall()
        db.executemany(
            _JOURNAL_PUT,
            [
                (key, visit, node, idx, name_id, h, idem, status, *e)
                for (key, visit, path, idx, name, h, idem, st, *e) in entries
                for node, name_id, status in [self._name_ids_of(path, name, st)]
            ],
        )

    def _migrate_v1_steps(self) -> None:
        db = self._db
        rows = db.execute(
            "SELECT r.id, s.step, s.parent_step, s.visit, s.node_path, s.route, s.target, s.status, s.writes, "
            "s.snapshot, s.meta, s.superseded FROM v1_steps s JOIN runs r USING (run_id)"
        ).fetchall()
        rows = [(*row[:10], *_split_v1_meta(row[10]), row[11]) for row in rows]
        db.executemany(
            "INSERT INTO steps (id, parent_step, visit, node, route, target, status, writes, snapshot, seq, "
            "started_at, duration, meta, superseded) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (_step_id(key, step), parent, visit, *self._name_ids_of(path, route, target, status), *row)
                for key, step, parent, visit, path, route, target, status, *row in rows
            ],
        )

    # ------------------------------------------------------------------ names
    def _name_ids_of(self, *names: str | None) -> list[int | None]:
        """The ids of ``names`` (None stays None), adding new ones to ``names``. New names are committed on
        their own, before the step that uses them: a step that loses its race leaves a harmless name."""
        ids: list[int | None] = []
        for name in names:
            i = self._name_ids.get(name) if name is not None else None
            if i is None and name is not None:
                row = self._db.execute("SELECT id FROM names WHERE name=?", (name,)).fetchone()
                if row is None:
                    self._db.execute("INSERT OR IGNORE INTO names (name) VALUES (?)", (name,))
                    row = self._db.execute("SELECT id FROM names WHERE name=?", (name,)).fetchone()
                i = self._name_ids[name] = row[0]
                self._names[i] = name
            ids.append(i)
        return ids

    def _known_name_id(self, name: str) -> int | None:
        """The id of ``name`` if it has one (a lookup that adds nothing)."""
        i = self._name_ids.get(name)
        if i is None:
            row = self._db.execute("SELECT id FROM names WHERE name=?", (name,)).fetchone()
            if row is not None:
                i = self._name_ids[name] = row[0]
                self._names[i] = name
        return i

    def _name(self, i: int | None) -> str | None:
        if i is None:
            return None
        name = self._names.get(i)
        if name is None:  # added by another connection since: read them all again
            for j, n in self._db.execute("SELECT id, name FROM names"):
                self._names[j], self._name_ids[n] = n, j
            name = self._names[i]
        return name

    # ------------------------------------------------------------------ out-of-line values
    def _put_value(self, data: bytes | None) -> bytes | int | None:
        """``data`` itself if it is small, else its address in the heap (call inside a write transaction)."""
        if data is None or len(data) <= self._inline:
            return data
        db, size = self._db, self._segment
        record = len(data).to_bytes(4, "big") + data
        last = db.execute("SELECT id, data FROM heap ORDER BY id DESC LIMIT 1").fetchone()
        seg, tail = last or (0, None)
        if tail is None or size - len(tail) < 5:  # no heap yet, or not even the length and one byte left
            seg, tail = seg + 1, b""
        used = len(tail)
        address = seg * size + used
        if used:
            # joined here, not with SQL's ||, which joins text: in a UTF-16 database that can drop a byte
            db.execute("UPDATE heap SET data=? WHERE id=?", (tail + record[: size - used], seg))
            record, seg = record[size - used :], seg + 1
        db.executemany(
            "INSERT INTO heap (id, data) VALUES (?, ?)",
            [(seg + i, record[at : at + size]) for i, at in enumerate(range(0, len(record), size))],
        )
        return address

    def _get_value(self, value: bytes | int | None, run_id: str, step: int | None, what: str) -> bytes | None:
        """The bytes ``_put_value`` was given. Heap segments that are missing or short are a CorruptCheckpoint
        of ``run_id`` (and ``step``), naming ``what`` the value is."""
        if not isinstance(value, int):
            return value
        seg, offset = divmod(value, self._segment)
        row = self._db.execute("SELECT data FROM heap WHERE id=?", (seg,)).fetchone()
        data = row[0][offset:] if row else b""
        end = 4 + int.from_bytes(data[:4], "big")
        if 4 < len(data) < end:
            more = self._db.execute(
                "SELECT data FROM heap WHERE id BETWEEN ? AND ? ORDER BY id",
                (seg + 1, seg + (offset + end - 1) // self._segment),
            )
            data += b"".join(r[0] for r in more)
        # a value starts with its length and at least one byte in its first segment; every segment but the
        # last is full, so a missing or short segment leaves fewer bytes than the length says
        if len(data) <= 4 or len(data) < end:
            raise CorruptCheckpoint(
                run_id, step, f"the bytes of {what}, at heap address {value}, are missing or cut short"
            )
        return data[4:end]

    def _is_small(self, data: bytes | None) -> bool:
        return data is None or len(data) <= self._inline

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # ------------------------------------------------------------------ graphs and runs
    def _key(self, run_id: str) -> int | None:
        key = self._keys.get(run_id)
        if key is None:
            row = self._db.execute("SELECT id FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                return None
            key = self._remember(run_id, row[0])
        return key

    def _remember(self, run_id: str, key: int) -> int:
        if len(self._keys) >= _KEYS_KEPT:  # a long-lived process sees many runs; it only needs the recent ones
            self._keys.clear()
        self._keys[run_id] = key
        return key

    def _existing_key(self, run_id: str) -> int:
        key = self._key(run_id)
        if key is None:
            raise _no_run(run_id)
        return key

    async def put_graph(self, fingerprint: str, structure: dict[str, Any]) -> None:
        self._db.execute("INSERT OR IGNORE INTO graphs VALUES (?, ?)", (fingerprint, dumps(structure)))

    async def get_graph(self, fingerprint: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT structure FROM graphs WHERE fingerprint=?", (fingerprint,)).fetchone()
        return loads(row[0]) if row else None

    async def create_run(self, run: RunRecord) -> None:
        values = [getattr(run, c) for c in _COLUMNS]
        sql = f"INSERT INTO runs ({', '.join(_COLUMNS)}, body, input) VALUES ({', '.join('?' * len(_COLUMNS))}, ?, ?)"
        try:
            with self._transaction():
                body, inp = _body(run), self._put_value(_input(run.input))
                key = self._db.execute(sql, (*values, body, inp)).lastrowid
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE":  # runs.run_id, the only unique column
                raise RunError(f"run {run.run_id!r} already exists; choose another run_id or resume it") from None
            raise _refused(f"run {run.run_id!r}", exc) from None
        assert key is not None
        self._remember(run.run_id, key)

    async def get_run(self, run_id: str) -> RunRecord | None:
        row = self._db.execute(f"{_RUN_SELECT} WHERE run_id=?", (run_id,)).fetchone()
        return self._run(row) if row else None

    async def update_run(self, run_id: str, **fields: Any) -> None:
        cols = {k: v for k, v in fields.items() if k in _COLUMNS}
        body = {k: v for k, v in fields.items() if k in _BODY_FIELDS}
        unknown = set(fields) - set(cols) - set(body)
        if unknown:
            raise StoreError(f"update_run got unknown field(s) {sorted(unknown)}")
        if not fields:  # nothing to change, but the run must exist, as for any update
            self._existing_key(run_id)
            return
        if not body:
            sets = ", ".join(f"{k}=?" for k in cols)
            if self._db.execute(f"UPDATE runs SET {sets} WHERE run_id=?", (*cols.values(), run_id)).rowcount == 0:
                raise _no_run(run_id)
            return
        with self._transaction():
            row = self._db.execute(f"{_RUN_SELECT} WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                raise _no_run(run_id)
            current = self._run(row)
            merged = {f: getattr(current, f) for f in _BODY_FIELDS} | body
            cols["body"] = _encode_body(merged)  # inline: rewritten in place, where the heap would keep old copies
            if "input" in body or (row[-1] is None and current.input is not None):  # (a version-1 row: in the body)
                cols["input"] = self._put_value(_input(merged["input"]))
            sets = ", ".join(f"{k}=?" for k in cols)
            self._db.execute(f"UPDATE runs SET {sets} WHERE run_id=?", (*cols.values(), run_id))

    async def list_runs(
        self, *, limit: int = 100, status: str | None = None, parent_run: str | None = None
    ) -> list[RunRecord]:
        """Newest first. A run whose record is corrupt is still listed, from its columns (status, graph, times,
        lineage), with ``error`` saying what is corrupt; ``get_run`` raises ``CorruptCheckpoint`` for it."""
        where, args = [], []
        if status is not None:
            where.append("status=?")
            args.append(status)
        if parent_run is not None:
            where.append("parent_run=?")
            args.append(parent_run)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._db.execute(
            f"{_RUN_SELECT} {clause} ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit)
        ).fetchall()
        runs = []
        for row in rows:
            try:
                runs.append(self._run(row))
            except CorruptCheckpoint as exc:  # one bad record does not hide the others
                runs.append(RunRecord(**dict(zip(_COLUMNS, row[1:-2], strict=True)), error=str(exc)))
        return runs

    def _run(self, row: tuple[Any, ...]) -> RunRecord:
        key, *cols, body, inp = row
        run_id = cols[0]
        self._remember(run_id, key)
        try:
            extra = loads(body)
        except ValueError as exc:
            raise CorruptCheckpoint(run_id, None, f"run record is not valid JSON ({exc})") from None
        if not isinstance(extra, dict):
            raise CorruptCheckpoint(run_id, None, f"run record is {_json_type(extra)}, not a JSON object")
        unknown = extra.keys() - _BODY_FIELDS
        if unknown:
            raise CorruptCheckpoint(
                run_id, None, f"run record has field(s) {sorted(unknown)} that this loomflow does not know"
            )
        if inp is not None:
            try:
                extra["input"] = loads(self._get_value(inp, run_id, None, "the run's input") or b"")
            except ValueError as exc:
                raise CorruptCheckpoint(run_id, None, f"run input is not valid JSON ({exc})") from None
        try:
            extra["interrupts"] = tuple(Interrupt.from_json(i) for i in extra.get("interrupts") or ())
        except (KeyError, TypeError, AttributeError) as exc:
            raise CorruptCheckpoint(run_id, None, f"run record holds a malformed interrupt ({exc!r})") from None
        return RunRecord(**dict(zip(_COLUMNS, cols, strict=True)), **extra)

    # ------------------------------------------------------------------ steps
    async def append_step(self, record: StepRecord) -> None:
        if not (self._is_small(record.writes) and self._is_small(record.snapshot)):
            await self.append_steps([record])
            return
        row = self._step_row(self._existing_key(record.run_id), record)
        try:
            self._db.execute(_STEP_SQL, row)
        except sqlite3.IntegrityError as exc:
            raise self._step_refused(exc, [record], [row]) from None

    async def append_steps(self, records: Sequence[StepRecord]) -> None:
        if not records:
            return
        keys = [self._existing_key(r.run_id) for r in records]
        rows = [self._step_row(key, r) for key, r in zip(keys, records, strict=True)]  # (names committed first)
        try:
            with self._transaction():
                for i, r in enumerate(records):
                    if not (self._is_small(r.writes) and self._is_small(r.snapshot)):
                        rows[i] = (*rows[i][:7], self._put_value(r.writes), self._put_value(r.snapshot), *rows[i][9:])
                self._db.executemany(_STEP_SQL, rows)
        except sqlite3.IntegrityError as exc:
            raise self._step_refused(exc, records, rows) from None

    def _step_refused(
        self, exc: sqlite3.IntegrityError, records: Sequence[StepRecord], rows: Sequence[tuple[Any, ...]]
    ) -> RunBusy | StoreError:
        """Why SQLite refused the rows of ``records`` (none written): RunBusy naming the first step whose number
        is taken, or the first step lacking a field the table requires."""
        if exc.sqlite_errorname == "SQLITE_CONSTRAINT_PRIMARYKEY":
            ids = [row[0] for row in rows]
            for i, sid in enumerate(ids):  # stored already, or twice in the batch
                if sid in ids[:i] or self._db.execute("SELECT 1 FROM steps WHERE id=?", (sid,)).fetchone():
                    return step_taken(records[i])
        column, columns = str(exc).rpartition(".")[2], _STEP_COLUMNS.split(", ")  # "... failed: steps.visit"
        at = columns.index(column) if column in columns else 0  # (id: never None)
        record = next((r for r, row in zip(records, rows, strict=True) if row[at] is None), records[0])
        return _refused(f"step {record.step} of run {record.run_id!r}", exc)

    def _step_row(self, key: int, r: StepRecord) -> tuple[Any, ...]:
        """The row of a step whose writes and snapshot are inline (the caller swaps in heap addresses)."""
        if not 0 <= r.step <= _STEP_MASK:
            raise StoreError(f"step number {r.step} of run {r.run_id!r} is out of range")
        meta = r.meta()
        del meta["seq"], meta["t"], meta["d"]  # typed columns
        usage = meta.get("usage")
        if isinstance(usage, dict):  # the same counters in every model step: their names are kept once
            meta["usage"] = [*self._name_ids_of(dumps(list(usage)).decode()), *usage.values()]
        node, route, target, status = self._name_ids_of(r.node_path, r.route, r.target, r.status)
        return (
            _step_id(key, r.step),
            r.parent_step,
            r.visit,
            node,
            route,
            target,
            status,
            r.writes,
            r.snapshot,
            r.seq,
            r.started_at,
            r.duration,
            dumps(meta) if meta else None,
        )

    async def steps(self, run_id: str) -> list[StepRecord]:
        key = self._key(run_id)
        if key is None:
            return []
        rows = self._db.execute(
            "SELECT id, parent_step, visit, node, route, target, status, writes, snapshot, seq, started_at, "
            "duration, meta, superseded FROM steps WHERE id BETWEEN ? AND ? ORDER BY id",
            (_step_id(key, 0), _step_id(key, _STEP_MASK)),
        ).fetchall()
        out = []
        for sid, parent, visit, path, route, target, status, writes, snap, seq, t, d, meta, sup in rows:
            step = sid & _STEP_MASK
            try:
                m = loads(meta) if meta is not None else {}
                if not isinstance(m, dict):
                    raise CorruptCheckpoint(run_id, step, f"step metadata is {_json_type(m)}, not a JSON object")
                usage = m.get("usage")
                if isinstance(usage, list):  # [names.id of the counter names, their values...]
                    m["usage"] = dict(zip(loads(self._name(usage[0]) or ""), usage[1:], strict=True))
                path, route, target, status = (self._name(i) for i in (path, route, target, status))
            except ValueError as exc:
                raise CorruptCheckpoint(run_id, step, _unreadable_meta(meta, exc)) from None
            except (KeyError, TypeError, IndexError) as exc:
                raise CorruptCheckpoint(run_id, step, f"step refers to a name that is not stored ({exc!r})") from None
            m.update(seq=seq, t=t, d=d)
            writes = self._get_value(writes, run_id, step, "the step's writes")
            snap = self._get_value(snap, run_id, step, "the step's snapshot")
            try:
                record = StepRecord.from_row(
                    run_id,
                    step,
                    parent,
                    visit,
                    path or "",
                    route,
                    target,
                    status or "",
                    writes or b"",
                    snap,
                    m,
                    bool(sup),
                )
            except (KeyError, TypeError, AttributeError) as exc:
                raise CorruptCheckpoint(run_id, step, f"step metadata holds a malformed field ({exc!r})") from None
            out.append(record)
        return out

    async def supersede(self, run_id: str, from_step: int) -> None:
        key = self._key(run_id)
        if key is not None:
            self._db.execute(
                "UPDATE steps SET superseded=1 WHERE id BETWEEN ? AND ?",
                (_step_id(key, max(from_step, 0)), _step_id(key, _STEP_MASK)),
            )

    # ------------------------------------------------------------------ journal
    async def journal_get(self, run_id: str, visit: int, node_path: str, index: int) -> JournalEntry | None:
        key, node = self._key(run_id), self._known_name_id(node_path)
        if key is None or node is None:
            return None
        row = self._db.execute(
            f"SELECT {_JOURNAL_COLUMNS} FROM journal WHERE run=? AND visit=? AND node=? AND idx=?",
            (key, visit, node, index),
        ).fetchone()
        return self._journal_entry(run_id, row) if row else None

    async def journal_put(self, entry: JournalEntry) -> None:
        key = self._existing_key(entry.run_id)
        node, name, status = self._name_ids_of(entry.node_path, entry.name, entry.status)
        row: list[Any] = [key, entry.visit, node, entry.index, name, entry.request_hash, int(entry.idempotent)]
        row += [status, entry.result, entry.started_at, entry.finished_at, entry.error]
        try:
            if self._is_small(entry.result):
                self._db.execute(_JOURNAL_PUT, row)
                return
            with self._transaction():
                row[8] = self._put_value(entry.result)
                self._db.execute(_JOURNAL_PUT, row)
        except sqlite3.IntegrityError as exc:  # a replaced entry never conflicts: only a missing field
            what = f"journal entry {entry.visit}/{entry.node_path}#{entry.index} of run {entry.run_id!r}"
            raise _refused(what, exc) from None

    async def journal(self, run_id: str) -> list[JournalEntry]:
        key = self._key(run_id)
        if key is None:
            return []
        rows = self._db.execute(f"SELECT {_JOURNAL_COLUMNS} FROM journal WHERE run=?", (key,)).fetchall()
        entries = [self._journal_entry(run_id, r) for r in rows]
        return sorted(entries, key=lambda e: (e.visit, e.node_path, e.index))

    def _journal_entry(self, run_id: str, row: tuple[Any, ...]) -> JournalEntry:
        visit, node, idx, name, h, idem, status, result, started, finished, error = row
        try:
            node_path, call_name, call_status = (self._name(i) or "" for i in (node, name, status))
        except KeyError as exc:
            raise CorruptCheckpoint(
                run_id, None, f"journal entry {visit}/{idx} refers to a name that is not stored ({exc!r})"
            ) from None
        return JournalEntry(
            run_id,
            visit,
            node_path,
            idx,
            call_name,
            h,
            bool(idem),
            call_status,
            self._get_value(result, run_id, None, f"the result of journal entry {visit}/{idx}"),
            started,
            finished,
            error,
        )

    # ------------------------------------------------------------------ leases
    async def acquire(self, run_id: str, owner: str, ttl: float, now: float, *, steal_from: str | None = None) -> bool:
        cur = self._db.execute(
            "UPDATE runs SET lease_owner=?, lease_expires=? WHERE run_id=? AND "
            "(lease_owner IS NULL OR lease_owner=? OR lease_owner=? OR lease_expires < ?)",
            (owner, now + ttl, run_id, owner, steal_from, now),
        )
        return cur.rowcount == 1

    async def lease(self, run_id: str) -> tuple[str, float] | None:
        row = self._db.execute("SELECT lease_owner, lease_expires FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return (row[0], row[1]) if row and row[0] is not None else None

    async def release(self, run_id: str, owner: str) -> None:
        self._db.execute(
            "UPDATE runs SET lease_owner=NULL, lease_expires=NULL WHERE run_id=? AND lease_owner=?",
            (run_id, owner),
        )

    async def close(self) -> None:
        self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path) if self.path else ':memory:'!r})"


class _Transaction:
    """``with``: BEGIN IMMEDIATE (a transaction that reads before it writes must hold the write lock from the
    start, or a concurrent commit makes its first write fail at once), then COMMIT, or ROLLBACK on error."""

    __slots__ = ("_db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def use_wal(
    db: sqlite3.Connection, *, busy_timeout: float = 10.0, synchronous: Literal["normal", "full", "off"] = "normal"
) -> None:
    """Put ``db``'s file in WAL mode and set its ``synchronous`` level.

    Switching a file to WAL takes an exclusive lock, and SQLite refuses that lock at once, without its busy
    wait, while another connection is opening the same file: processes or threads that open one new store
    together would fail with "database is locked". So the switch is retried until ``busy_timeout``.
    """
    deadline, pause = time.monotonic() + busy_timeout, 0.001
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
    db.execute(f"PRAGMA synchronous={synchronous.upper()}")


def _step_id(key: int, step: int) -> int:
    return key << _STEP_BITS | step


def _split_v1_meta(meta: bytes) -> tuple[Any, ...]:
    """Version 1's JSON step metadata as (seq, started_at, duration, meta). Metadata that is not an object
    holding seq, t and d is kept whole behind ``_V1_UNSPLIT``, which is not JSON: reading the step raises
    CorruptCheckpoint (the zeros in its columns are never read)."""
    try:
        m = loads(meta)
    except ValueError:
        m = None
    if not (isinstance(m, dict) and {"seq", "t", "d"} <= m.keys()):
        return 0, 0.0, 0.0, _V1_UNSPLIT + meta
    seq, t, d = m.pop("seq"), m.pop("t"), m.pop("d")
    return seq, t, d, dumps(m) if m else None


def _json_type(value: Any) -> str:
    """What a decoded JSON value that should be an object is instead, for messages."""
    kinds = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return kinds.get(type(value), "null")


def _unreadable_meta(meta: bytes, exc: ValueError) -> str:
    """What is wrong with step metadata that does not decode."""
    if meta.startswith(_V1_UNSPLIT):
        return f"its version-1 metadata is not a JSON object holding seq, t and d: {meta[len(_V1_UNSPLIT) :]!r}"
    return f"step metadata is not valid JSON ({exc})"


def _refused(what: str, exc: sqlite3.IntegrityError) -> StoreError:
    """The error for a record SQLite refused for a reason other than a taken key."""
    if exc.sqlite_errorname == "SQLITE_CONSTRAINT_NOTNULL":  # "NOT NULL constraint failed: steps.node"
        column = str(exc).rpartition(".")[2]
        field = "node_path" if column == "node" else column
        return StoreError(f"{what} cannot be stored: its {field} is None; give it a value")
    return StoreError(f"{what} cannot be stored: {exc}")


def _no_run(run_id: str) -> RunNotFound:
    return RunNotFound(f"no run {run_id!r} in this store; create it with create_run first")


def _input(value: dict[str, Any] | None) -> bytes | None:
    return None if value is None else dumps(value)


def _encode_body(fields: dict[str, Any]) -> bytes:
    # the input has its own column; fields left at their default (None, no interrupts) are not written,
    # reading restores the defaults
    out = {k: v for k, v in fields.items() if v is not None and k not in ("interrupts", "input")}
    if fields.get("interrupts"):
        out["interrupts"] = [i.to_json() for i in fields["interrupts"]]
    return dumps(out)


def _body(run: RunRecord) -> bytes:
    return _encode_body({f: getattr(run, f) for f in _BODY_FIELDS})
