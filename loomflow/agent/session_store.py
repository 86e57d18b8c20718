"""Session stores: which runs belong to which session, in order, and the events of those runs.

Transcripts are not stored here: a session's transcript is a view over its runs' checkpointed history
(user turns and answers), so nothing is written twice. The SQLite store lives in the same file as the
checkpoints by default.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from loomflow.checkpoint.codec import dumps, loads
from loomflow.checkpoint.sqlite import use_wal
from loomflow.events import Event

__all__ = ["MemorySessionStore", "SQLiteSessionStore", "SessionStore"]

# sessions and signals are WITHOUT ROWID (their key is the table: one b-tree, not a table and an index);
# files made before keep their rowid tables, with the same columns.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, created_at REAL NOT NULL, metadata BLOB
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_runs (
    session_id TEXT NOT NULL, idx INTEGER NOT NULL, run_id TEXT NOT NULL UNIQUE, PRIMARY KEY (session_id, idx)
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, node_path TEXT, step INTEGER,
    time REAL NOT NULL, data BLOB NOT NULL, PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signals (
    session_id TEXT NOT NULL, idx INTEGER NOT NULL, dedupe_key TEXT NOT NULL, data BLOB NOT NULL,
    consumed_by TEXT, PRIMARY KEY (session_id, idx), UNIQUE (session_id, dedupe_key)
) WITHOUT ROWID;
"""


@runtime_checkable
class SessionStore(Protocol):
    async def ensure_session(self, session_id: str, now: float, metadata: dict[str, Any] | None = None) -> None: ...

    async def add_run(self, session_id: str, run_id: str) -> int:
        """Append a run to the session; returns its index in the session."""

    async def runs(self, session_id: str) -> list[str]:
        """The session's run ids, oldest first."""

    async def session_of(self, run_id: str) -> str | None: ...

    async def save_events(self, run_id: str, events: list[Event]) -> None:
        """Keep events (a seq already kept is ignored)."""

    async def events(self, run_id: str, after: int = 0) -> list[Event]: ...

    async def add_signal(self, session_id: str, key: str, signal: dict[str, Any]) -> bool:
        """Queue a signal; ``False`` if a signal with this dedupe key was already received."""

    async def take_signals(self, session_id: str, run_id: str) -> list[dict[str, Any]]:
        """The signals not yet consumed, now consumed by ``run_id`` (and those it consumed before)."""

    async def close(self) -> None: ...


class MemorySessionStore:
    """Sessions in dicts, gone with the process."""

    def __init__(self) -> None:
        self._sessions: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, list[str]] = {}
        self._events: dict[str, dict[int, Event]] = {}
        self._signals: dict[str, list[tuple[str, dict[str, Any], str | None]]] = {}

    async def ensure_session(self, session_id: str, now: float, metadata: dict[str, Any] | None = None) -> None:
        self._sessions.setdefault(session_id, {"created_at": now, "metadata": metadata})
        self._runs.setdefault(session_id, [])

    async def add_run(self, session_id: str, run_id: str) -> int:
        runs = self._runs.setdefault(session_id, [])
        runs.append(run_id)
        return len(runs) - 1

    async def runs(self, session_id: str) -> list[str]:
        return list(self._runs.get(session_id, []))

    async def session_of(self, run_id: str) -> str | None:
        return next((s for s, runs in self._runs.items() if run_id in runs), None)

    async def save_events(self, run_id: str, events: list[Event]) -> None:
        kept = self._events.setdefault(run_id, {})
        for e in events:
            kept.setdefault(e.seq, e)

    async def events(self, run_id: str, after: int = 0) -> list[Event]:
        kept = self._events.get(run_id, {})
        return [kept[s] for s in sorted(kept) if s > after]

    async def add_signal(self, session_id: str, key: str, signal: dict[str, Any]) -> bool:
        queue = self._signals.setdefault(session_id, [])
        if any(k == key for k, _, _ in queue):
            return False
        queue.append((key, signal, None))
        return True

    async def take_signals(self, session_id: str, run_id: str) -> list[dict[str, Any]]:
        queue = self._signals.get(session_id, [])
        out = []
        for i, (key, signal, by) in enumerate(queue):
            if by is None or by == run_id:
                queue[i] = (key, signal, run_id)
                out.append(signal)
        return out

    async def close(self) -> None:
        return None


class SQLiteSessionStore:
    """Sessions in an SQLite file (by default the checkpoint file, ``.loomflow/loomflow.db``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
        use_wal(self._db)
        self._db.executescript(_SCHEMA)

    async def ensure_session(self, session_id: str, now: float, metadata: dict[str, Any] | None = None) -> None:
        self._db.execute("INSERT OR IGNORE INTO sessions VALUES (?, ?, ?)", (session_id, now, dumps(metadata or {})))

    async def add_run(self, session_id: str, run_id: str) -> int:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM session_runs WHERE session_id=?", (session_id,))
            idx = int(row.fetchone()[0])
            db.execute("INSERT INTO session_runs VALUES (?, ?, ?)", (session_id, idx, run_id))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return idx

    async def runs(self, session_id: str) -> list[str]:
        rows = self._db.execute("SELECT run_id FROM session_runs WHERE session_id=? ORDER BY idx", (session_id,))
        return [r[0] for r in rows.fetchall()]

    async def session_of(self, run_id: str) -> str | None:
        row = self._db.execute("SELECT session_id FROM session_runs WHERE run_id=?", (run_id,)).fetchone()
        return row[0] if row else None

    async def save_events(self, run_id: str, events: list[Event]) -> None:
        if not events:
            return
        db = self._db
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?)",
            [(run_id, e.seq, e.kind, e.node_path, e.step, e.time, dumps(e.data)) for e in events],
        )
        db.execute("COMMIT")

    async def events(self, run_id: str, after: int = 0) -> list[Event]:
        rows = self._db.execute(
            "SELECT seq, kind, node_path, step, time, data FROM events WHERE run_id=? AND seq>? ORDER BY seq",
            (run_id, after),
        ).fetchall()
        return [Event(seq, run_id, kind, path, step, t, loads(data)) for seq, kind, path, step, t, data in rows]

    async def add_signal(self, session_id: str, key: str, signal: dict[str, Any]) -> bool:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            idx = db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM signals WHERE session_id=?", (session_id,))
            cur = db.execute(
                "INSERT OR IGNORE INTO signals VALUES (?, ?, ?, ?, NULL)",
                (session_id, int(idx.fetchone()[0]), key, dumps(signal)),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return cur.rowcount == 1

    async def take_signals(self, session_id: str, run_id: str) -> list[dict[str, Any]]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "UPDATE signals SET consumed_by=? WHERE session_id=? AND consumed_by IS NULL", (run_id, session_id)
            )
            rows = db.execute(
                "SELECT data FROM signals WHERE session_id=? AND consumed_by=? ORDER BY idx", (session_id, run_id)
            ).fetchall()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return [loads(r[0]) for r in rows]

    async def close(self) -> None:
        self._db.close()
