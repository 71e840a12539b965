"""``Store``: the database and everything kept in it, behind named methods.

The engine opens one store (``core.store.opening.open_store``); every other
part of Engram reaches the data through it (``store.memories``,
``store.observations``, ``store.records`` ...) and never through the connection.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from core.events import EventBus
from core.models.base import Embedder
from core.store.backups import Backups
from core.store.context_index import RecallIndex
from core.store.db import Database
from core.store.forgetting import Forgetting
from core.store.indexer import Indexer
from core.store.memories import MemoryStore
from core.store.observations import ObservationStore
from core.store.records import AbsorbLog, DerivedRecords, JobRuns, Meta
from core.store.search import MEMORY_INDEX, OBSERVATION_INDEX, TypedSearch


class Store:
    """One open database with its indexes; see the module docstring."""

    def __init__(
        self,
        db: Database,
        events: EventBus,
        embedder_provider: Callable[[], Embedder],
        clock: Callable[[], float] = time.time,
        *,
        backups_dir: Path | None = None,
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
        self.recall_index = RecallIndex(db)
        self.typed_memories = TypedSearch(db, MEMORY_INDEX, live_memories_only=True)
        self.typed_observations = TypedSearch(db, OBSERVATION_INDEX)
        self.backups = Backups(db, backups_dir, clock)
        self.forgetting = Forgetting(db, self.memories, self.observations, self.backups, clock)

    @property
    def read_only(self) -> bool:
        """True when the store was opened from a read-only directory: reads work, every write is refused."""
        return self.db.read_only

    def atomic(self):
        """``with store.atomic():`` makes every store call inside one transaction (nested: a savepoint).

        Keep model calls and other slow work outside: readers wait while it is open.
        """
        return self.db.transaction()

    def versions(self) -> dict[str, str]:
        return self.db.versions()

    def integrity_check(self) -> str:
        return self.db.integrity_check()

    def close(self) -> None:
        self.db.close()
