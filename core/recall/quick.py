"""Quick recall: search-as-you-type over memories and observations, no LLM, no embedding.

``quick_recall(engine, text, limit=20)`` matches every word typed so far (the
last one as a prefix, so "lisb" finds "Lisbon") in ``memory_fts`` and
``observation_fts`` and returns the best items of both, memories first at
equal relevance.  It never embeds the query: a keystroke must not wait for a
model.

Cost is bounded for large stores: BM25 ranking has to score every row that
matches, so when the rarest complete word (or, for a one-word query, the
prefix itself) matches more rows than ``RANK_BUDGET``, the newest matches are
returned instead, which FTS5 finds by walking its index backwards and stopping
at ``limit``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.search import MEMORY_INDEX, OBSERVATION_INDEX, IndexSpec, document_frequencies, query_terms

log = logging.getLogger(__name__)

RANK_BUDGET = 5000  # rows a query may rank by BM25 before falling back to newest-first
OBSERVATION_PRIOR = 0.8  # observations are raw; a memory of equal relevance goes first
SNIPPET_TOKENS = 16


@dataclass
class QuickHit:
    source: str  # "memory" or "observation"
    id: int
    kind: str  # memory type or observation kind
    ts: float
    snippet: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "id": self.id, "kind": self.kind, "score": round(self.score, 6), "snippet": self.snippet,
            "ts": datetime.fromtimestamp(self.ts).isoformat(timespec="seconds"),
        }


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def typed_match(text: str) -> tuple[str | None, list[str], str | None]:
    """The FTS5 expression for text typed so far: all words required, the last as a prefix.

    Returns ``(match, complete_terms, prefix)``.  A one-letter last word is not
    used as a prefix (it would match most of the index); it is dropped unless it
    is all there is.
    """
    terms = query_terms(text)
    if not terms:
        return None, [], None
    complete, last = terms[:-1], terms[-1]
    typing_last = bool(text) and not text[-1].isspace()
    parts = [_quote(t) for t in complete]
    prefix = None
    if typing_last and len(last) >= 2:
        prefix = last
        parts.append(_quote(last) + "*")
    elif not typing_last or not complete:
        complete = complete + [last]
        parts.append(_quote(last))
    return " AND ".join(parts), complete, prefix


def _search(engine, spec: IndexSpec, match: str, complete: list[str], prefix: str | None, limit: int) -> list[tuple[int, float]]:
    db = engine.db
    if spec is MEMORY_INDEX:
        where = "AND b.archived = 0"
    else:
        where = ""
    rank = True
    if complete:
        df = document_frequencies(db, spec, complete)
        rank = min(df.values()) <= RANK_BUDGET
    elif prefix is not None:
        rank = len(prefix) >= 4  # short prefixes match too many words to rank them all quickly
    if rank:
        sql = (
            f"SELECT f.rowid, -bm25({spec.fts}) FROM {spec.fts} f JOIN {spec.base} b ON b.id = f.rowid "
            f"WHERE {spec.fts} MATCH ? {where} ORDER BY bm25({spec.fts}) LIMIT ?"
        )
    else:
        sql = (
            f"SELECT f.rowid, 1.0 FROM {spec.fts} f JOIN {spec.base} b ON b.id = f.rowid "
            f"WHERE {spec.fts} MATCH ? {where} ORDER BY f.rowid DESC LIMIT ?"
        )
    with db.lock:
        try:
            rows = db.conn.execute(sql, [match, limit]).fetchall()
        except Exception as exc:  # odd input must not break typing; the box just shows nothing new
            log.debug("quick recall query %r failed: %s", match, exc)
            return []
    return [(int(r[0]), float(r[1])) for r in rows]


def quick_recall(engine, text: str, limit: int = 20) -> list[QuickHit]:
    """The best memories and observations for ``text`` typed so far; see the module docstring."""
    match, complete, prefix = typed_match(text)
    if match is None or limit <= 0:
        return []
    memory_rows = _search(engine, MEMORY_INDEX, match, complete, prefix, limit)
    observation_rows = _search(engine, OBSERVATION_INDEX, match, complete, prefix, limit)
    hits: list[QuickHit] = []
    if memory_rows:
        top = max(s for _, s in memory_rows) or 1.0
        memories = engine.memories.get_many([i for i, _ in memory_rows])
        for mem_id, score in memory_rows:
            memory = memories.get(mem_id)
            if memory is not None:
                hits.append(QuickHit("memory", mem_id, memory.type, memory.time, _clip(memory.text), score / top))
    if observation_rows:
        top = max(s for _, s in observation_rows) or 1.0
        observations = engine.observations.get_many([i for i, _ in observation_rows])
        for obs_id, score in observation_rows:
            obs = observations.get(obs_id)
            if obs is not None:
                hits.append(QuickHit("observation", obs_id, obs.kind, obs.ts, _clip(obs.text), OBSERVATION_PRIOR * score / top))
    hits.sort(key=lambda h: (-h.score, -h.ts))
    return hits[:limit]


def _clip(text: str, chars: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= chars else text[: chars - 1] + "…"
