"""Keeps the vector tables in step with the rows and the current embedder.

Embedding is the slow part of writing, so it never runs while the database lock
is held: texts are embedded first, then written in one short transaction.  Rows
written without a vector (screen observations, bulk imports, a missing model)
are marked pending and embedded later by ``index_pending``, which the
scheduler runs in the background.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Sequence

import numpy as np

from core.store.db import Database
from core.errors import ModelUnavailableError
from core.events import EventBus
from core.models.base import Embedder
from core.store.search import MEMORY_INDEX, OBSERVATION_INDEX, IndexSpec, VectorTables, store_vectors

log = logging.getLogger(__name__)

EMBED_BATCH = 32
MAX_EMBED_CHARS = 2000  # MiniLM reads 256 tokens; more text only costs time


class Indexer:
    def __init__(self, db: Database, events: EventBus, embedder_provider: Callable[[], Embedder]):
        self.db = db
        self.events = events
        self._provider = embedder_provider
        self._prepared_for: str | None = None
        self._warned = False
        self._lock = threading.Lock()
        self._texts: dict[str, Callable[[Sequence[int]], dict[int, str]]] = {}

    def embed_from(self, spec: IndexSpec, texts: Callable[[Sequence[int]], dict[int, str]]) -> None:
        """Embed ``spec``'s rows from ``texts(ids) -> {id: text}`` instead of their ``text_column``."""
        self._texts[spec.base] = texts

    def embedder(self) -> Embedder | None:
        """The embedder, or None (logged once) when no embedding model is usable."""
        try:
            embedder = self._provider()
        except ModelUnavailableError as exc:
            if not self._warned:
                log.warning("search by meaning is off until an embedding model is available: %s", exc.message)
                self._warned = True
            return None
        if embedder is not None and self._prepared_for != embedder.name:
            with self._lock:
                if self._prepared_for != embedder.name:
                    if self.db.read_only:
                        if not self._fits_read_only(embedder):
                            return None
                        # Fitting vectors of an older text form serve as they are: a read-only store is not re-embedded.
                    else:
                        for spec in (MEMORY_INDEX, OBSERVATION_INDEX):
                            VectorTables(self.db).ensure(spec, embedder.name, embedder.dimension)
                    self._prepared_for = embedder.name
        return embedder

    def _fits_read_only(self, embedder: Embedder) -> bool:
        """In a read-only store the vectors cannot be remade: search by meaning works only if they fit ``embedder``."""
        tables = VectorTables(self.db)
        if all(tables.current(spec) == (embedder.name, embedder.dimension) for spec in (MEMORY_INDEX, OBSERVATION_INDEX)):
            return True
        if not self._warned:
            log.warning("search by meaning is off: the stored vectors were made by another embedding model, "
                        "and the read-only store cannot be re-embedded")
            self._warned = True
        return False

    def reset(self) -> None:
        """Forget the prepared embedder so the next use checks the tables again."""
        with self._lock:
            self._prepared_for = None
            self._warned = False

    def embed_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, str] | None:
        embedder = self.embedder()
        if embedder is None or not texts:
            return None
        clipped = [t[:MAX_EMBED_CHARS] if t.strip() else "(empty)" for t in texts]
        return embedder.embed(clipped), embedder.name

    def embed_query(self, text: str) -> np.ndarray | None:
        result = self.embed_texts([text])
        return None if result is None else result[0][0]

    def pending(self, spec: IndexSpec) -> int:
        return VectorTables(self.db).pending_count(spec)

    def pending_count(self) -> int:
        return sum(self.pending(spec) for spec in (MEMORY_INDEX, OBSERVATION_INDEX))

    def index_rows(self, spec: IndexSpec, ids: Sequence[int]) -> int:
        """Embed these rows now if they still wait for a vector (outside any transaction); returns how many."""
        ids = [int(i) for i in ids]
        embedder = self.embedder() if ids else None
        if embedder is None:
            return 0
        marks = ",".join("?" * len(ids))
        rows = self.db.query(
            f"SELECT id, {spec.category_column} AS category, ts, {spec.text_column} AS text "
            f"FROM {spec.base} WHERE embedded_with IS NULL AND id IN ({marks})",
            ids,
        )
        return self._embed_and_store(spec, rows, embedder)

    def _embed_and_store(self, spec: IndexSpec, rows: list[dict], embedder: Embedder) -> int:
        if not rows:
            return 0
        source = self._texts.get(spec.base)
        if source is not None:
            texts = source([r["id"] for r in rows])
            rows = [dict(r, text=texts.get(r["id"], r["text"])) for r in rows]
        vectors = embedder.embed([(r["text"] or "(empty)")[:MAX_EMBED_CHARS] for r in rows])
        with self.db.transaction():
            # A row may have been deleted or re-embedded while we embedded it.
            alive = []
            alive_vectors = []
            for row, vector in zip(rows, vectors):
                if self.db.scalar(f"SELECT embedded_with IS NULL FROM {spec.base} WHERE id = ?", [row["id"]]):
                    alive.append((row["id"], row["category"], row["ts"]))
                    alive_vectors.append(vector)
            if alive:
                store_vectors(self.db, spec, alive, np.asarray(alive_vectors), embedder.name)
        return len(rows)

    def index_pending(self, specs: Sequence[IndexSpec] = (MEMORY_INDEX, OBSERVATION_INDEX), *, max_rows: int | None = None, stop: threading.Event | None = None) -> int:
        """Embed rows that have no vector yet; returns how many were embedded."""
        embedder = self.embedder()
        if embedder is None:
            return 0
        done = 0
        total = sum(self.pending(spec) for spec in specs)
        for spec in specs:
            while max_rows is None or done < max_rows:
                if stop is not None and stop.is_set():
                    return done
                batch = self.db.query(
                    f"SELECT id, {spec.category_column} AS category, ts, {spec.text_column} AS text "
                    f"FROM {spec.base} WHERE embedded_with IS NULL ORDER BY id LIMIT ?",
                    [EMBED_BATCH],
                )
                if not batch:
                    break
                done += self._embed_and_store(spec, batch, embedder)
                self.events.emit("embeddings_did_progress", done=done, total=total)
        return done
