"""``Store``: the database and everything kept in it, behind named methods.

The engine opens one store (``core.store.opening.open_store``); every other
part of Engram reaches the data through it (``store.memories``,
``store.observations``, ``store.records`` ...) and never through the connection.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

from core.events import EventBus
from core.models.base import Embedder
from core.store.upgrade_copies import PreUpgradeCopies
from core.store.context_index import RecallIndex
from core.store.db import Database
from core.store.forgetting import Forgetting
from core.store.indexer import Indexer
from core.store.memories import MemoryStore
from core.store.migrations import apply_migrations
from core.store.observations import ObservationStore
from core.store.records import AbsorbLog, ChatLog, DerivedRecords, JobRuns, Meta
from core.store.remask import SecretsRecheck
from core.store.search import MEMORY_INDEX, OBSERVATION_INDEX, TypedSearch
from core.store.transfer import Transfer
from core.store.vectorindex import forget_ram_index


class Store:
    """One open database with its indexes; see the module docstring."""

    def __init__(
        self,
        db: Database,
        events: EventBus,
        embedder_provider: Callable[[], Embedder],
        clock: Callable[[], float] = time.time,
        *,
        copy_folders: Sequence[Path] = (),
    ):
        self.db = db  # for core.store's own modules and for tests only
        self.events = events
        self.clock = clock
        self.indexer = Indexer(db, events, embedder_provider)
        self.memories = MemoryStore(db, events, self.indexer, clock)
        self.indexer.embed_from(MEMORY_INDEX, self.memories.vector_texts)
        self.observations = ObservationStore(db, events, self.indexer, clock)
        self.absorb_log = AbsorbLog(db, clock)
        self.job_runs = JobRuns(db)
        self.derived = DerivedRecords(db)
        self.meta = Meta(db)
        self.chat_log = ChatLog(db)
        self.recall_index = RecallIndex(db)
        self.typed_memories = TypedSearch(db, MEMORY_INDEX, live_memories_only=True)
        self.typed_observations = TypedSearch(db, OBSERVATION_INDEX)
        self.transfer = Transfer(db)
        self.pre_upgrade_copies = PreUpgradeCopies(db, list(copy_folders), clock)
        self.forgetting = Forgetting(db, self.memories, self.observations, self.pre_upgrade_copies, clock)
        self.secrets_recheck = SecretsRecheck(db, self.memories, self.pre_upgrade_copies, events)

    @property
    def read_only(self) -> bool:
        """True when the store was opened from a read-only directory: reads work, every write is refused."""
        return self.db.read_only

    def atomic(self):
        """``with store.atomic():`` makes every store call inside one transaction (nested: a savepoint).

        Keep model calls and other slow work outside: readers wait while it is open.
        """
        return self.db.transaction()

    # -- for backups, restore, export and import (core.backup) -------------------------------------

    @property
    def write_lock(self):
        """The lock every write holds: a snapshot begins under it, so it sees whole transactions."""
        return self.db.lock

    def read(self, reader: Callable[[Any], Any]) -> Any:
        """Run ``reader(connection)`` (a ``core.store.backup`` reader) on this store's connection, under its lock."""
        with self.db.lock:
            return reader(self.db.conn)

    def reopened(self, key_hex: str):
        """``with store.reopened(key):`` the file is closed for the block (a restore swaps it), then opened with ``key``."""
        return self.db.reopened(key_hex)

    def migrate(self) -> list[str]:
        """Apply pending migrations to this (just restored) file, without another backup; returns their names."""
        return apply_migrations(self.db, lambda _pending: None)

    def forget_caches(self) -> None:
        """Drop what was remembered of the file (RAM vector indexes, the prepared embedder): it was replaced."""
        for spec in (MEMORY_INDEX, OBSERVATION_INDEX):
            forget_ram_index(self.db, spec.vector_names)
        self.indexer.reset()

    def sqlite_memory_used(self) -> int | None:
        """Bytes SQLite (the SQLCipher library) has allocated in this process; None where it cannot be asked."""
        import ctypes
        import glob
        import os

        import sqlcipher3

        try:
            library = glob.glob(os.path.join(os.path.dirname(sqlcipher3.__file__), "_sqlite3*.so"))[0]
            used = ctypes.CDLL(library).sqlite3_memory_used
        except (IndexError, OSError, AttributeError):
            return None
        used.restype = ctypes.c_int64
        return int(used())

    def release_memory(self) -> None:
        """Give back the page cache SQLite holds (it refills on the next reads)."""
        with self.db.lock:
            self.db.execute("PRAGMA shrink_memory")

    def checkpoint(self) -> None:
        """Move everything in the write-ahead log into the database file and empty the log."""
        with self.db.lock:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def set_secure_delete(self, on: bool) -> None:
        """Whether freed pages are overwritten (on by default: forgetting relies on it; benchmarks compare)."""
        with self.db.lock:
            self.db.execute(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}")

    def vacuum(self) -> None:
        """Rewrite the whole file compactly (slow: seconds per 100 MB)."""
        with self.db.lock:
            self.db.execute("VACUUM")

    def schema_version(self) -> str | None:
        """The newest migration applied to this database."""
        return self.db.scalar("SELECT name FROM _sqlite_migrations ORDER BY rowid DESC LIMIT 1")

    def versions(self) -> dict[str, str]:
        return self.db.versions()

    def integrity_check(self) -> str:
        return self.db.integrity_check()

    def damage(self) -> list[str]:
        """Problems found reading every page (checksums, then SQLite's structure); [] when the file is sound."""
        return self.db.damage()

    def close(self) -> None:
        self.db.close()
