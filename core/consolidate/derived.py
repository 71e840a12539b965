"""Memories consolidation derives from others, kept under stable keys.

A digest or a promoted fact is an ordinary memory (searched, recalled, decayed
like any other) plus two records: ``consolidation_keys`` maps a stable key --
``digest:day:2026-05-02``, ``digest:week:2026-05-04``, ``fact:...`` -- to the
memory and to a fingerprint of what it was built from, and ``memory_links``
links it to the memories it stands for.  A pass rebuilds a derived memory only
when its fingerprint changed, so re-running adds nothing and a day that got
new memories gets its digest refreshed.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Sequence

from core.store.memories import Memory

ACTOR = "consolidation"


def fingerprint(parts: Iterable[Any]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()[:32]


def lookup(engine, key: str) -> dict | None:
    return engine.store.db.query_one("SELECT key, memory_id, fingerprint FROM consolidation_keys WHERE key = ?", [key])


def children(engine, parent_id: int, kind: str) -> list[int]:
    rows = engine.store.db.query("SELECT child_id FROM memory_links WHERE parent_id = ? AND kind = ? ORDER BY child_id", [parent_id, kind])
    return [r["child_id"] for r in rows]


def parents(engine, child_id: int) -> list[dict]:
    return engine.store.db.query("SELECT parent_id, kind FROM memory_links WHERE child_id = ? ORDER BY parent_id", [child_id])


def write(
    engine,
    *,
    key: str,
    memory_type: str,
    fields: dict[str, Any],
    child_ids: Sequence[int],
    link_kind: str,
    sources: Sequence[int],
    stamp: str,
    reason: str,
) -> tuple[Memory, bool]:
    """Add or refresh the derived memory under ``key`` in one transaction; returns it and whether it is new."""
    existing = lookup(engine, key)
    now = engine.clock()
    with engine.store.db.transaction():
        if existing is None:
            memory = engine.memories.add(memory_type, fields, sources=sources, actor=ACTOR, reason=reason)
            created = True
        else:
            memory = engine.memories.update(existing["memory_id"], fields, sources=sources, actor=ACTOR, reason=reason)
            created = False
        engine.store.db.execute("DELETE FROM memory_links WHERE parent_id = ? AND kind = ?", [memory.id, link_kind])
        for child in sorted(set(child_ids)):
            engine.store.db.execute(
                "INSERT OR IGNORE INTO memory_links(parent_id, child_id, kind) VALUES (?, ?, ?)", [memory.id, child, link_kind]
            )
        engine.store.db.execute(
            "INSERT OR REPLACE INTO consolidation_keys(key, memory_id, fingerprint, updated_at) VALUES (?, ?, ?, ?)",
            [key, memory.id, stamp, now],
        )
    return memory, created


def sources_of(engine, memory_ids: Sequence[int], *, limit: int | None = None) -> list[int]:
    """The union of the source observations of ``memory_ids`` (the newest ``limit`` if given)."""
    out: set[int] = set()
    ids = list(memory_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out.update(r["observation_id"] for r in engine.store.db.query(
            f"SELECT observation_id FROM memory_sources WHERE memory_id IN ({marks})", chunk))
    ordered = sorted(out)
    return ordered[-limit:] if limit else ordered
