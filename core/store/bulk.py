"""Bulk loading for benchmarks and imports of known-good rows: many rows per transaction, no events.

``MemoryStore.add`` validates, embeds and records history one memory at a
time, which takes minutes for 100k memories; these functions write the same
rows (registry, type table, full-text index, vectors) in large transactions
for callers that already hold valid fields and vectors.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from core.store.search import MEMORY_INDEX, OBSERVATION_INDEX, VectorTables, store_vectors
from core.store.types import search_text, type_spec


def prepare_vectors(store, embedder_name: str, dimension: int) -> None:
    """Make both vector indexes hold ``embedder_name``'s vectors (dropping others')."""
    for spec in (MEMORY_INDEX, OBSERVATION_INDEX):
        VectorTables(store.db).ensure(spec, embedder_name, dimension)


def load_memories(store, items: Sequence[tuple[str, dict[str, Any], float]], vectors: np.ndarray,
                  embedder_name: str, *, created_at: float | None = None) -> list[int]:
    """Store ``(type, fields, ts)`` items with their vectors in one transaction; returns the new ids."""
    ids: list[int] = []
    rows = []
    with store.db.transaction():
        for type_name, fields, ts in items:
            spec = type_spec(type_name)
            body = search_text(spec, fields)
            memory_id = int(store.db.execute(
                "INSERT INTO memories(type, ts, search_text, embedded_with) VALUES (?, ?, ?, ?)",
                [spec.name, ts, body, embedder_name],
            ).lastrowid)
            stored = {k: (json.dumps(v) if isinstance(v, list) else v) for k, v in fields.items()}
            columns = ["id", "created_at", "updated_at", *stored]
            when = ts if created_at is None else created_at
            store.db.execute(
                f"INSERT INTO {spec.table}({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                [memory_id, when, when, *stored.values()],
            )
            store.db.execute("INSERT INTO memory_fts(rowid, search_text) VALUES (?, ?)", [memory_id, body])
            rows.append((memory_id, spec.name, ts))
            ids.append(memory_id)
        store_vectors(store.db, MEMORY_INDEX, rows, vectors, embedder_name)
    return ids


def load_observations(store, items: Sequence[dict[str, Any]], *, absorbed_at: float | None = None,
                      embedded_with: str | None = None) -> list[int]:
    """Store observation rows (kind, ts, text, app, window_title) in one transaction; returns the new ids.

    ``embedded_with`` set to a name the embedder never has leaves them out of the embed job.
    """
    ids: list[int] = []
    with store.db.transaction():
        for item in items:
            obs_id = int(store.db.execute(
                "INSERT INTO observations(kind, ts, app, window_title, text, absorbed_at, embedded_with) VALUES (?,?,?,?,?,?,?)",
                [item["kind"], item["ts"], item.get("app"), item.get("window_title"), item["text"], absorbed_at, embedded_with],
            ).lastrowid)
            store.db.execute(
                "INSERT INTO observation_fts(rowid, text, app, window_title) VALUES (?, ?, ?, ?)",
                [obs_id, item["text"], item.get("app") or "", item.get("window_title") or ""],
            )
            ids.append(obs_id)
    return ids
