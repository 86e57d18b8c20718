"""Checkpoint stores: the protocol, records, and the memory and SQLite implementations."""

from __future__ import annotations

from pathlib import Path

from loomflow.checkpoint.base import STORE_SCHEMA_VERSION, CheckpointStore
from loomflow.checkpoint.memory import MemoryStore
from loomflow.checkpoint.records import JournalEntry, RunRecord, StepRecord
from loomflow.checkpoint.sqlite import DEFAULT_PATH, SQLiteStore

__all__ = [
    "DEFAULT_PATH",
    "STORE_SCHEMA_VERSION",
    "CheckpointStore",
    "JournalEntry",
    "MemoryStore",
    "RunRecord",
    "SQLiteStore",
    "StepRecord",
    "open_store",
]


def open_store(store: CheckpointStore | str | Path | None) -> CheckpointStore:
    """A store object as given, an SQLite file at a path, or the default ``.loomflow/loomflow.db``."""
    if store is None:
        return SQLiteStore(DEFAULT_PATH)
    if isinstance(store, str | Path):
        return SQLiteStore(store)
    return store
