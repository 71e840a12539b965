"""The SQL of export and import: what the memory store's API does not read or write.

Export reads memories through ``MemoryStore.get_many`` and observations
through ``ObservationStore.get_many``; this module adds the ids to export,
each memory's uid, history and links, in batches.  Import adds memories
through ``MemoryStore.add`` and then sets here what an import carries over
and ``add`` does not: the uid, the original times and counters, the archived
flag and the exported history.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Sequence

from core.store.types import MEMORY_TYPES

BATCH = 500


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield [int(i) for i in ids[start : start + BATCH]]


def memory_ids(db, *, types: Sequence[str] | None = None, since: float | None = None, until: float | None = None) -> list[int]:
    """Ids of the memories to export (archived included), by type, then time, then id."""
    clauses, params = [], []
    if types:
        clauses.append("type IN (" + ",".join("?" * len(types)) + ")")
        params.extend(types)
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts <= ?")
        params.append(until)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    order = " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(MEMORY_TYPES))
    return [r["id"] for r in db.query(f"SELECT id FROM memories {where} ORDER BY CASE type {order} END, ts, id", params)]


def uids(db, ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        out.update({r["id"]: r["uid"] for r in db.query(f"SELECT id, uid FROM memories WHERE id IN ({marks})", chunk)})
    return out


def history(db, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each memory's history rows, oldest first, with old and new values parsed."""
    out: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        rows = db.query(
            f"SELECT memory_id, action, old_value, new_value, at, actor, reason FROM memory_history "
            f"WHERE memory_id IN ({marks}) ORDER BY id",
            chunk,
        )
        for row in rows:
            out.setdefault(row["memory_id"], []).append({
                "action": row["action"],
                "at": row["at"],
                "actor": row["actor"],
                "reason": row["reason"],
                "old": json.loads(row["old_value"]) if row["old_value"] else None,
                "new": json.loads(row["new_value"]) if row["new_value"] else None,
            })
    return out


def links(db, ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """(child id, kind) of the links whose parent is in ``ids`` (a digest and the memories it stands for)."""
    out: dict[int, list[tuple[int, str]]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"SELECT parent_id, child_id, kind FROM memory_links WHERE parent_id IN ({marks}) ORDER BY child_id, kind", chunk
        ):
            out.setdefault(row["parent_id"], []).append((row["child_id"], row["kind"]))
    return out


# -- import ---------------------------------------------------------------------------


def text_key(type_name: str, search_text: str) -> str:
    return hashlib.sha256(f"{type_name}\x1f{search_text}".encode()).hexdigest()


def identity_index(db) -> tuple[dict[str, int], dict[str, list[int]]]:
    """(uid -> id, hash of type and search text -> ids) of every memory, to find what an import already has."""
    by_uid: dict[str, int] = {}
    by_text: dict[str, list[int]] = {}
    with db.lock:
        for memory_id, uid, type_name, search_text in db.conn.execute("SELECT id, uid, type, search_text FROM memories"):
            if uid:
                by_uid[uid] = memory_id
            by_text.setdefault(text_key(type_name, search_text), []).append(memory_id)
    return by_uid, by_text


def search_text_of(db, memory_id: int) -> str:
    return db.scalar("SELECT search_text FROM memories WHERE id = ?", [int(memory_id)]) or ""


def set_identity(
    db,
    memory_id: int,
    type_name: str,
    *,
    uid: str,
    created_at: float,
    updated_at: float,
    access_count: int,
    last_accessed_at: float | None,
    archived: bool,
) -> None:
    """Give an imported memory its exported uid, times, counters and archived flag (inside the caller's transaction)."""
    table = MEMORY_TYPES[type_name].table
    db.execute("UPDATE memories SET uid = ?, archived = ? WHERE id = ?", [uid, 1 if archived else 0, memory_id])
    db.execute(
        f"UPDATE {table} SET created_at = ?, updated_at = ?, access_count = ?, last_accessed_at = ? WHERE id = ?",
        [created_at, updated_at, access_count, last_accessed_at, memory_id],
    )


def replace_history(db, memory_id: int, type_name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Put the exported history in place of the row ``add`` wrote (inside the caller's transaction)."""
    db.execute("DELETE FROM memory_history WHERE memory_id = ?", [memory_id])
    for row in rows:
        db.execute(
            "INSERT INTO memory_history(memory_id, memory_type, action, old_value, new_value, at, actor, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                memory_id, type_name, row["action"],
                json.dumps(row["old"], ensure_ascii=False, sort_keys=True) if row.get("old") is not None else None,
                json.dumps(row["new"], ensure_ascii=False, sort_keys=True) if row.get("new") is not None else None,
                row["at"], row.get("actor") or "import", row.get("reason"),
            ],
        )


def mark_text_purged(db, observation_ids: Sequence[int]) -> None:
    """Imported sources whose text had been removed stay marked so (and are never queued for embedding)."""
    for chunk in _chunks(observation_ids):
        marks = ",".join("?" * len(chunk))
        db.execute(
            f"UPDATE observations SET text_purged = 1, embedded_with = 'purged' WHERE id IN ({marks})", chunk
        )


def add_link(db, parent_id: int, child_id: int, kind: str) -> None:
    db.execute("INSERT OR IGNORE INTO memory_links(parent_id, child_id, kind) VALUES (?, ?, ?)", [parent_id, child_id, kind])


class Transfer:
    """Export and import's reads and writes (the functions above) on one store's database."""

    def __init__(self, db):
        self._db = db

    def memory_ids(self, **filters) -> list[int]:
        return memory_ids(self._db, **filters)

    def uids(self, ids: Sequence[int]) -> dict[int, str]:
        return uids(self._db, ids)

    def uid_of(self, memory_id: int) -> str | None:
        return self._db.scalar("SELECT uid FROM memories WHERE id = ?", [memory_id])

    def history(self, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        return history(self._db, ids)

    def links(self, ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
        return links(self._db, ids)

    def identity_index(self) -> tuple[dict[str, int], dict[str, list[int]]]:
        return identity_index(self._db)

    def search_text_of(self, memory_id: int) -> str:
        return search_text_of(self._db, memory_id)

    def set_identity(self, memory_id: int, type_name: str, **values) -> None:
        set_identity(self._db, memory_id, type_name, **values)

    def replace_history(self, memory_id: int, type_name: str, rows: Sequence[dict[str, Any]]) -> None:
        replace_history(self._db, memory_id, type_name, rows)

    def mark_text_purged(self, observation_ids: Sequence[int]) -> None:
        mark_text_purged(self._db, observation_ids)

    def add_link(self, parent_id: int, child_id: int, kind: str) -> None:
        add_link(self._db, parent_id, child_id, kind)
