"""Forgetting: a MemoryBank-style Ebbinghaus curve, and archiving below a threshold.

A memory's retention is::

    R = exp(-Δt / S)
    S = strength_days × (1 + access_count) × (0.5 + importance)

where Δt is the days since the memory was last recalled (``last_accessed_at``)
or, if it never was, since it was last written (``updated_at``); ``importance``
is the 0..1 worth given when the memory was made; ``access_count`` counts
recalls (``MemoryStore.touch``).  With the default ``strength_days`` of 30, a
never-recalled memory of importance 0.5 keeps R = 0.37 after a month and falls
below the default archive threshold of 0.05 after about 90 days; each recall
both resets Δt and adds one more S to its lifetime.

Importance is never rewritten: it is the base the curve starts from, so running
the pass twice decays nothing twice.  Below ``consolidation.archive_threshold``
a memory is archived -- hidden from default search and chat, found with
``--all``, restored with ``engram restore`` -- never deleted.  Pinned memories,
core memories and knowledge-vault entries (looked up rarely but needed exactly
when they are) never decay.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from core.store.types import MEMORY_TYPES

DAY = 86_400.0
NEVER_DECAY_TYPES = frozenset({"core", "knowledge_vault"})
ACTOR = "consolidation"


def strength(access_count: int, importance: float, strength_days: float) -> float:
    """S in days: how slowly a memory fades."""
    return strength_days * (1 + max(0, int(access_count))) * (0.5 + min(1.0, max(0.0, float(importance))))


def retention(elapsed_days: float, access_count: int, importance: float, strength_days: float = 30.0) -> float:
    """R = exp(-Δt / S), 1.0 for a memory used just now."""
    return math.exp(-max(0.0, elapsed_days) / strength(access_count, importance, strength_days))


@dataclass
class DecayReport:
    checked: int = 0
    archived: int = 0


def archive_faded(memories, *, now: float, threshold: float, strength_days: float, stop: threading.Event | None = None) -> DecayReport:
    """Archive every memory whose retention is below ``threshold``; one transaction per memory."""
    report = DecayReport()
    for spec in MEMORY_TYPES.values():
        if spec.name in NEVER_DECAY_TYPES:
            continue
        rows = memories.decay_state(spec.name)
        for row in rows:
            report.checked += 1
            value = retention((now - row["used_at"]) / DAY, row["access_count"], row["importance"], strength_days)
            if value >= threshold:
                continue
            if stop is not None and stop.is_set():
                return report
            memories.set_archived(
                row["id"], True, actor=ACTOR,
                reason=f"faded: retention {value:.3f} below {threshold:g} after {(now - row['used_at']) / DAY:.0f} days unused",
            )
            report.archived += 1
    return report


def restore(memories, memory_id: int, *, actor: str = "user"):
    """Unarchive a memory and count the restore as a recall, so it is not archived again at once."""
    memory = memories.set_archived(memory_id, False, actor=actor, reason="restored")
    memories.touch([memory.id])
    return memories.get(memory.id)
