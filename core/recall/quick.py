"""Quick recall: search-as-you-type over every memory type and observations, without a model.

One time budget covers a whole keystroke (``QUICK_BUDGET_MS``): memories get
the first part of it, observations what is left.  Each index tries, while time
remains, the best recent matches, then the newest matches, then the words typed
before the last one; on a busy machine the cheapest query still gets
``MIN_ATTEMPT_MS``.  Results come from SQLite's progress handler being told to
stop, so a slow keystroke costs its budget, never more.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from core.store.memories import Memory, mask_secret
from core.store.search import QueryTimeout, TypedSearch
from core.store.types import iso

log = logging.getLogger(__name__)

QUICK_BUDGET_MS = 25.0  # all the queries of one keystroke: its results must arrive while typing
MIN_ATTEMPT_MS = 5.0  # what one index gets when the keystroke's budget was spent before it
MEMORY_SHARE = 0.55  # of the budget, for memories


def memory_snippet(memory: Memory) -> str:
    """What a memory says, for a result row (vault secrets masked)."""
    if memory.type == "knowledge_vault":
        return f"{memory.fields.get('caption')}: {mask_secret(memory.fields.get('secret_value'))}"
    if memory.type == "episodic":
        # The row already shows the time; an episode's indexed text starts with it.
        return " | ".join(p for p in (memory.fields.get("summary"), memory.fields.get("details")) if p)
    return memory.text


class QuickRecall:
    """``engine.quick_recall``: see the module docstring."""

    def __init__(self, store):
        self.store = store

    def _typed_search(self, text: str, index: TypedSearch, match: str | None, limit: int, deadline: float) -> list[tuple[int, float]]:
        """Best matches before ``deadline``; past it, the newest matches, then the words typed before the last."""
        if not match:
            return []

        def left() -> float:
            return (deadline - time.perf_counter()) * 1000

        attempts = [
            lambda: index.best_recent(match, limit=limit, budget_ms=left() * 0.6),
            lambda: index.newest(match, limit=limit, budget_ms=max(1.0, left())),
        ]
        if len(text.split()) > 1:
            settled = index.match(text.rsplit(None, 1)[0] + " ")
            if settled:
                attempts.append(lambda: index.newest(settled, limit=limit, budget_ms=max(1.0, left())))
        tried = False
        for attempt in attempts:
            if left() <= 1.0:
                break
            tried = True
            try:
                return attempt()
            except QueryTimeout:
                continue
        if not tried:  # a busy machine still gets the cheapest answer
            try:
                return index.newest(match, limit=limit, budget_ms=MIN_ATTEMPT_MS)
            except QueryTimeout:
                pass
        log.info("quick recall ran out of time for %r", text)
        return []

    def recall(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Result rows (kind, id, type, title, snippet, time, app, score), best first."""
        memories_index, observations_index = self.store.typed_memories, self.store.typed_observations
        memories_index.warm_up()
        observations_index.warm_up()
        started = time.perf_counter()
        memory_match = memories_index.match(text)
        observation_match = observations_index.match(text)
        memory_rows = self._typed_search(text, memories_index, memory_match, limit * 2, started + QUICK_BUDGET_MS * MEMORY_SHARE / 1000)
        observation_rows = self._typed_search(text, observations_index, observation_match, limit, started + QUICK_BUDGET_MS / 1000)
        if not memory_rows and not observation_rows:
            return []
        memories = self.store.memories.get_many([r[0] for r in memory_rows])
        observations = self.store.observations.get_many([r[0] for r in observation_rows])
        top_m = max((r[1] for r in memory_rows), default=1.0) or 1.0
        top_o = max((r[1] for r in observation_rows), default=1.0) or 1.0
        out: list[dict[str, Any]] = []
        for row_id, score in memory_rows:
            m = memories.get(row_id)
            if m is None:
                continue
            out.append(
                {
                    "kind": "memory", "id": m.id, "type": m.type,
                    "title": m.title if m.type != "knowledge_vault" else m.fields.get("caption"),
                    "snippet": memory_snippet(m)[:160], "time": iso(m.time), "app": None, "score": round(score / top_m, 4),
                }
            )
        for row_id, score in observation_rows:
            o = observations.get(row_id)
            if o is None:
                continue
            out.append(
                {
                    "kind": "observation", "id": o.id, "type": "observation",
                    "title": o.window_title or (f"{o.role} message" if o.role else o.kind),
                    "snippet": " ".join(o.text.split())[:160], "time": iso(o.ts), "app": o.app,
                    # Raw observations rank below memories of equal match quality.
                    "score": round(0.8 * score / top_o, 4),
                }
            )
        out.sort(key=lambda item: -item["score"])
        return out[:limit]
