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

import logging
from typing import Iterable

from core.store.db import Database

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
    return db.query(
        "SELECT id, role, text FROM observations WHERE conversation = ? ORDER BY ts, id", [conversation]
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


def prune_context_index(db: Database) -> int:
    """Drop rows of forgotten observations and refresh the context of their former neighbours."""
    with db.lock, db.transaction():
        orphans = [
            r["rowid"]
            for r in db.query(
                f"SELECT f.rowid AS rowid FROM {CONTEXT_TABLE} f LEFT JOIN observations o ON o.id = f.rowid WHERE o.id IS NULL"
            )
        ]
        if not orphans:
            return 0
        for start in range(0, len(orphans), 500):
            chunk = orphans[start : start + 500]
            db.execute(f"DELETE FROM {CONTEXT_TABLE} WHERE rowid IN ({','.join('?' * len(chunk))})", chunk)
        # Neighbours of forgotten turns are not known any more; rewrite every conversation still indexed.
        conversations = [r["conversation"] for r in db.query("SELECT DISTINCT conversation FROM observations WHERE conversation IS NOT NULL")]
        for conversation in conversations:
            rows = _conversation_rows(db, conversation)
            _write(db, _documents(rows, {r["id"] for r in rows}))
    return len(orphans)


def rebuild_context_index(db: Database) -> int:
    """Drop and rebuild ``recall_fts`` from the observations; returns the rows written."""
    with db.lock:
        with db.transaction():
            db.execute(f"DELETE FROM {CONTEXT_TABLE}")
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '0')", [_LAST_ID_KEY])
        return sync_context_index(db)
