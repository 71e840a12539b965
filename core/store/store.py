"""``Store``: the database and everything kept in it, behind named methods.

The engine opens one store; every other part of Engram reaches the data
through it (``store.memories``, ``store.observations``, ``store.records`` ...)
and never through the connection.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from core.events import EventBus
from core.models.base import Embedder
from core.store.context_index import RecallIndex
from core.store.db import Database
from core.store.indexer import Indexer
from core.store.memories import MemoryStore
from core.store.migrations import apply_migrations
from core.store.observations import ObservationStore
from core.store.records import AbsorbLog, ChatLog, DerivedRecords, JobRuns, Meta
from core.store.search import MEMORY_INDEX, OBSERVATION_INDEX, TypedSearch


class Store:
    """One open database with its indexes; see the module docstring."""

    def __init__(
        self,
        db: Database,
        events: EventBus,
        embedder_provider: Callable[[], Embedder],
        clock: Callable[[], float] = time.time,
    ):
        self.db = db  # for core.store's own modules and for tests only
        self.events = events
        self.clock = clock
        self.indexer = Indexer(db, events, embedder_provider)
        self.memories = MemoryStore(db, events, self.indexer, clock)
        self.observations = ObservationStore(db, events, self.indexer, clock)
        self.absorb_log = AbsorbLog(db, clock)
        self.job_runs = JobRuns(db)
        self.derived = DerivedRecords(db)
        self.meta = Meta(db)
        self.chat_log = ChatLog(db)
        self.recall_index = RecallIndex(db)
        self.typed_memories = TypedSearch(db, MEMORY_INDEX, live_memories_only=True)
        self.typed_observations = TypedSearch(db, OBSERVATION_INDEX)

    @classmethod
    def open(
        cls,
        db_path: Path,
        key_hex: str,
        backups_dir: Path,
        events: EventBus,
        embedder_provider: Callable[[], Embedder],
        clock: Callable[[], float] = time.time,
    ) -> tuple["Store", list[str]]:
        """Open (or create) the database, apply pending migrations; returns the store and the migrations applied."""
        db = Database.open(db_path, key_hex)
        try:
            applied = apply_migrations(db, backups_dir)
        except BaseException:
            db.close()
            raise
        return cls(db, events, embedder_provider, clock), applied

    @staticmethod
    def check_file(path: Path) -> None:
        """Raise ``CorruptDatabaseError`` when the file at ``path`` cannot be an Engram database (before any key is tried)."""
        Database.check_file_shape(path)

    def atomic(self):
        """``with store.atomic():`` makes every store call inside one transaction (nested: a savepoint).

        Keep model calls and other slow work outside: readers wait while it is open.
        """
        return self.db.transaction()

    def versions(self) -> dict[str, str]:
        return self.db.versions()

    def integrity_check(self) -> str:
        return self.db.integrity_check()

    def damage(self) -> list[str]:
        """Problems found reading every page (checksums, then SQLite's structure); [] when the file is sound."""
        return self.db.damage()

    def close(self) -> None:
        self.db.close()
