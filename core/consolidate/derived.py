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


def write(
    store,
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
    existing = store.derived.lookup(key)
    with store.atomic():
        if existing is None:
            memory = store.memories.add(memory_type, fields, sources=sources, actor=ACTOR, reason=reason)
            created = True
        elif store.memories.is_user_owned(existing["memory_id"]):
            memory = store.memories.get(existing["memory_id"])  # the user rewrote it: theirs now, never refreshed
            created = False
        else:
            memory = store.memories.update(existing["memory_id"], fields, sources=sources, actor=ACTOR, reason=reason)
            created = False
        store.derived.keep(key, memory.id, child_ids, link_kind, stamp, store.clock())
    return memory, created
