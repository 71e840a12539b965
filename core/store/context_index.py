"""Index-time text for recall: each conversation turn indexed with its neighbours.

A turn is rarely understandable alone: "Yes, last Friday!" answers the turn
before it, and a question's words are often split between a question turn and
its answer.  So besides the store's own ``observation_fts`` (one document per
observation, its text only), recall keeps a companion FTS5 table,
``recall_fts``, with two columns per observation that belongs to a
conversation:

- ``body``: the turn as a transcript line, ``"Speaker: text"``;
- ``context``: the previous and the next turn of the same conversation
  (ordered by time, then id), each clipped to ``CONTEXT_CHARS``.

Retrieval ranks with ``bm25(recall_fts, 1.0, w)``, where the neighbours count
at a fraction ``w`` of the turn's own words; FTS5 sums the weighted term counts
before saturating, so a question whose words are split across a turn and its
neighbour ranks the turn well, which a score propagated after ranking cannot do.

The table is derived data: ``sync_context_index`` brings it up to date
incrementally (new observations since the last sync, plus the turns whose next
neighbour just arrived) and drops rows of forgotten observations; it can be
rebuilt from ``observations`` at any time with ``rebuild_context_index``.
Observations without a conversation (screen text) are not copied: the store's
``observation_fts`` already serves them.
"""

from __future__ import annotations

import bisect
import logging
from typing import Any, Iterable, Sequence

import numpy as np

from core.store.db import Database, raise_storage_error
from core.store.search import (
    MEMORY_INDEX,
    OBSERVATION_INDEX,
    POSTINGS_BUDGET,
    IndexSpec,
    document_frequencies,
    fts_match,
    lexical_candidates,
    lexical_search,
    semantic_candidates,
)

log = logging.getLogger(__name__)

CONTEXT_TABLE = "recall_fts"  # made by migration m006
CONTEXT_CHARS = 600
BODY_CHARS = 4000
_LAST_ID_KEY = "recall_fts.last_id"


def turn_text(text: str, role: str | None) -> str:
    """An observation as a transcript line: ``"Role: text"`` when it has a role not already written."""
    text = (text or "").strip()
    if role and not text.lower().startswith(role.lower() + ":"):
        return f"{role}: {text}"
    return text


def _last_id(db: Database) -> int:
    value = db.scalar("SELECT value FROM meta WHERE key = ?", [_LAST_ID_KEY])
    return int(value or 0)


def _documents(rows: list[dict], wanted: set[int]) -> list[tuple[int, str, str]]:
    """(id, body, context) for the ``wanted`` rows of one conversation ordered by (ts, id)."""
    docs = []
    for index, row in enumerate(rows):
        if row["id"] not in wanted:
            continue
        neighbours = []
        for other in (index - 1, index + 1):
            if 0 <= other < len(rows):
                neighbours.append(turn_text(rows[other]["text"], rows[other]["role"])[:CONTEXT_CHARS])
        docs.append((row["id"], turn_text(row["text"], row["role"])[:BODY_CHARS], "\n".join(neighbours)))
    return docs


def _conversation_rows(db: Database, conversation: str) -> list[dict]:
    """The turns of ``conversation`` that still have their text, by (ts, id).

    A turn whose text retention purged is left out: it gets no row of its own
    (an empty body would be found through its neighbours' words) and its
    neighbours quote each other across it.
    """
    return db.query(
        "SELECT id, ts, role, text FROM observations WHERE conversation = ? AND text_purged = 0 ORDER BY ts, id",
        [conversation],
    )


def _write(db: Database, docs: Iterable[tuple[int, str, str]]) -> int:
    count = 0
    for obs_id, body, context in docs:
        db.execute(f"DELETE FROM {CONTEXT_TABLE} WHERE rowid = ?", [obs_id])
        db.execute(f"INSERT INTO {CONTEXT_TABLE}(rowid, body, context) VALUES (?, ?, ?)", [obs_id, body, context])
        count += 1
    return count


def sync_context_index(db: Database) -> int:
    """Index observations added since the last sync; returns how many rows were (re)written.

    A new turn also rewrites its neighbours in the same conversation, since
    their context now includes it.  Safe to call often: with nothing new it
    costs two small queries.
    """
    if db.read_only:
        return 0  # a read-only store answers from the index as it was last written
    with db.lock:
        last = _last_id(db)
        newest = db.scalar("SELECT max(id) FROM observations") or 0
        if newest <= last:
            return 0
        fresh = db.query(
            "SELECT id, conversation FROM observations WHERE id > ? AND conversation IS NOT NULL", [last]
        )
        by_conversation: dict[str, set[int]] = {}
        for row in fresh:
            by_conversation.setdefault(row["conversation"], set()).add(int(row["id"]))
        written = 0
        with db.transaction():
            for conversation, new_ids in by_conversation.items():
                rows = _conversation_rows(db, conversation)
                positions = {row["id"]: i for i, row in enumerate(rows)}
                wanted = set(new_ids)
                for obs_id in new_ids:
                    i = positions.get(obs_id)
                    if i is None:
                        continue
                    for j in (i - 1, i + 1):
                        if 0 <= j < len(rows):
                            wanted.add(rows[j]["id"])
                written += _write(db, _documents(rows, wanted))
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [_LAST_ID_KEY, str(newest)])
    if written:
        log.debug("recall context index: %d rows written", written)
    return written


def forget_in_context_index(db: Database, ids: Sequence[int]):
    """Inside the caller's transaction, before ``ids`` are deleted (or lose their text): drop their rows.

    Returns a function to call once they are gone: it rewrites the turns that
    were next to them, whose context column still quotes them.  Forgetting is
    done in the database itself, so every process stops finding the text.
    """
    ids = [int(i) for i in ids]
    gone: dict[str, list[tuple[float, int]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT id, ts, conversation FROM observations WHERE conversation IS NOT NULL AND id IN ({marks})", chunk):
            gone.setdefault(row["conversation"], []).append((row["ts"], row["id"]))
        db.execute(f"DELETE FROM {CONTEXT_TABLE} WHERE rowid IN ({marks})", chunk)

    def refresh_neighbours() -> None:
        indexed_up_to = _last_id(db)
        for conversation, places in gone.items():
            rows = _conversation_rows(db, conversation)
            keys = [(r["ts"], r["id"]) for r in rows]
            wanted: set[int] = set()
            for place in places:
                i = bisect.bisect_left(keys, place)
                for j in (i - 1, i):
                    if 0 <= j < len(rows) and rows[j]["id"] <= indexed_up_to:
                        wanted.add(rows[j]["id"])
            _write(db, _documents(rows, wanted))

    return refresh_neighbours


def refresh_in_context_index(db: Database, ids: Sequence[int]) -> int:
    """Inside the caller's transaction, after the text of ``ids`` changed in place: rewrite their turns and their
    neighbours' (whose context quotes them); returns the rows written.

    Turns not indexed yet are left to the next sync, which reads them as they are now.
    """
    indexed_up_to = _last_id(db)
    changed: dict[str, set[int]] = {}
    ids = [int(i) for i in ids]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.query(f"SELECT id, conversation FROM observations WHERE conversation IS NOT NULL AND id IN ({marks})",
                        chunk)
        for row in rows:
            changed.setdefault(row["conversation"], set()).add(int(row["id"]))
    written = 0
    for conversation, turns in changed.items():
        rows = _conversation_rows(db, conversation)
        wanted: set[int] = set()
        for i, row in enumerate(rows):
            if row["id"] in turns:
                wanted.update(rows[j]["id"] for j in (i - 1, i, i + 1) if 0 <= j < len(rows))
        written += _write(db, _documents(rows, {i for i in wanted if i <= indexed_up_to}))
    return written


def rebuild_context_index(db: Database) -> int:
    """Drop and rebuild ``recall_fts`` from the observations; returns the rows written."""
    with db.lock:
        with db.transaction():
            db.execute(f"DELETE FROM {CONTEXT_TABLE}")
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '0')", [_LAST_ID_KEY])
        return sync_context_index(db)


# Only the FTS table name is used (for document frequencies of its terms).
CONTEXT_SPEC = IndexSpec("observations", "text", CONTEXT_TABLE, "", "kind", "recall")


class RecallIndex:
    """The queries recall ranks with: candidates from each index, and the facts about them it weighs.

    Ranking itself (fusion, boosts) is ``core.recall``'s; this class only reads.
    """

    def __init__(self, db: Database):
        self.db = db

    def sync(self) -> int:
        """Bring the context index up to date (cheap when nothing changed)."""
        return sync_context_index(self.db)

    def rebuild(self) -> int:
        return rebuild_context_index(self.db)

    def speaker_roles(self, limit: int = 1000) -> list[str]:
        """The distinct roles (speakers) of stored observations."""
        rows = self.db.query("SELECT DISTINCT role FROM observations WHERE role IS NOT NULL LIMIT ?", [limit])
        return [r["role"] for r in rows if r["role"]]

    def has_observations_outside_conversations(self) -> bool:
        return bool(self.db.scalar("SELECT 1 FROM observations WHERE conversation IS NULL LIMIT 1"))

    def context_bm25(self, terms: Sequence[str], context_weight: float, limit: int) -> dict[int, float]:
        """BM25 over ``recall_fts`` (turn + neighbours at ``context_weight``), cost bounded like the store's search.

        Terms are taken rarest first while their postings fit ``POSTINGS_BUDGET``;
        when even the rarest is too common, its newest matches are returned.
        """
        if not terms:
            return {}
        df = document_frequencies(self.db, CONTEXT_SPEC, terms)
        chosen, total = [], 0
        for term in sorted(terms, key=lambda t: df.get(t, 0)):
            if total + df.get(term, 0) > POSTINGS_BUDGET and chosen:
                break
            chosen.append(term)
            total += df.get(term, 0)
        match = fts_match(chosen)
        if not match:
            return {}
        if df.get(chosen[0], 0) > POSTINGS_BUDGET:
            sql = f"SELECT rowid, 1.0 FROM {CONTEXT_TABLE} WHERE {CONTEXT_TABLE} MATCH ? ORDER BY rowid DESC LIMIT ?"
            params: list[Any] = [match, limit]
        else:
            sql = (
                f"SELECT rowid, -bm25({CONTEXT_TABLE}, 1.0, ?) FROM {CONTEXT_TABLE} WHERE {CONTEXT_TABLE} MATCH ? "
                f"ORDER BY bm25({CONTEXT_TABLE}, 1.0, ?) LIMIT ?"
            )
            params = [context_weight, match, context_weight, limit]
        with self.db.lock:
            try:
                rows = self.db.conn.execute(sql, params).fetchall()
            except Exception as exc:  # a MATCH syntax problem must not hide the semantic results
                raise_storage_error(exc, self.db.path)
                log.warning("context full-text query %r failed: %s", match, exc)
                rows = []
        return {int(r[0]): float(r[1]) for r in rows}

    def observation_bm25(self, terms: Sequence[str], limit: int, *, only_without_conversation: bool) -> dict[int, float]:
        """BM25 over the store's ``observation_fts``; bounded (like the store's search) outside conversations."""
        if only_without_conversation:
            return dict(lexical_search(self.db, OBSERVATION_INDEX, " ".join(terms), where="AND b.conversation IS NULL", limit=limit))
        match = fts_match(terms)
        if not match:
            return {}
        return dict(lexical_candidates(self.db, OBSERVATION_INDEX, match, limit=limit))

    def nearest_observations(self, vector, limit: int, since: float | None = None, until: float | None = None) -> dict[int, float]:
        return dict(semantic_candidates(self.db, OBSERVATION_INDEX, vector, since=since, until=until, limit=limit))

    def memory_bm25(self, query: str, limit: int) -> dict[int, float]:
        """BM25 over live, non-core memories."""
        return dict(lexical_search(self.db, MEMORY_INDEX, query, where="AND b.archived = 0 AND b.type != 'core'", limit=limit))

    def nearest_memories(self, vector, limit: int) -> dict[int, float]:
        return dict(semantic_candidates(self.db, MEMORY_INDEX, vector, limit=limit))

    def observation_info(self, ids: Sequence[int]) -> dict[int, dict]:
        """``{id: {id, ts, role, conversation}}``."""
        out: dict[int, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = [int(i) for i in ids[start : start + 500]]
            rows = self.db.query(
                f"SELECT id, ts, role, conversation FROM observations WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            out.update({r["id"]: r for r in rows})
        return out

    def adjacency(self, ids: Sequence[int]) -> dict[int, tuple[int | None, int | None]]:
        """(previous id, next id) in the same conversation for each of ``ids`` that has a conversation.

        Two correlated lookups per row, each a short walk of the ``(conversation,
        ts)`` index, so the cost does not grow with the length of the conversations.
        """
        ids = [int(i) for i in ids]
        out: dict[int, tuple[int | None, int | None]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.db.query(
                "SELECT o.id AS id, "
                "(SELECT p.id FROM observations p WHERE p.conversation = o.conversation AND (p.ts, p.id) < (o.ts, o.id) "
                " ORDER BY p.ts DESC, p.id DESC LIMIT 1) AS prev_id, "
                "(SELECT n.id FROM observations n WHERE n.conversation = o.conversation AND (n.ts, n.id) > (o.ts, o.id) "
                " ORDER BY n.ts, n.id LIMIT 1) AS next_id "
                f"FROM observations o WHERE o.conversation IS NOT NULL AND o.id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for r in rows:
                out[r["id"]] = (r["prev_id"], r["next_id"])
        return out

    def observation_vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        table = OBSERVATION_INDEX.vector_names.vectors
        out: dict[int, np.ndarray] = {}
        with self.db.lock:
            for start in range(0, len(ids), 900):
                chunk = [int(i) for i in ids[start : start + 900]]
                rows = self.db.conn.execute(
                    f"SELECT id, embedding FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                out.update({int(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows})
        return out

    def neighbours(self, obs_id: int, conversation: str, ts: float, span: int = 1) -> list[dict]:
        """Up to ``span`` turns before and after an observation in its conversation, in order."""
        before = self.db.query(
            "SELECT id, ts, role, text, source_ref FROM observations WHERE conversation = ? AND (ts < ? OR (ts = ? AND id < ?)) "
            "ORDER BY ts DESC, id DESC LIMIT ?",
            [conversation, ts, ts, obs_id, span],
        )
        after = self.db.query(
            "SELECT id, ts, role, text, source_ref FROM observations WHERE conversation = ? AND (ts > ? OR (ts = ? AND id > ?)) "
            "ORDER BY ts, id LIMIT ?",
            [conversation, ts, ts, obs_id, span],
        )
        return list(reversed(before)) + after
