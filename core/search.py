"""Full-text and vector search over one indexed table, and their fusion.

Memories and observations are indexed the same way: an FTS5 table and a
sqlite-vec ``vec0`` table, both keyed by the row id of the base table.  The
vector table is created for the embedder's dimension when an embedder is first
seen; a different embedder drops it and marks every row for re-embedding.

Fusion: lexical scores (BM25, from FTS5's negated ``bm25()``) are normalised by
the best lexical score of the query, semantic scores are cosine similarities
rescaled from ``SEMANTIC_FLOOR`` (no evidence) to 1.  The fused score is a
weighted sum; a row found by both signals gets both terms, so agreement is
rewarded without the rank-only blindness of plain reciprocal-rank fusion.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from core.db import Database

log = logging.getLogger(__name__)

SEMANTIC_FLOOR = 0.15
LEXICAL_WEIGHT = 0.55
SEMANTIC_WEIGHT = 0.45

_TOKEN = re.compile(r"[\w][\w'\-\.@]*", re.UNICODE)
STOPWORDS = frozenset(
    """a an the and or of to in on at for with from by is are was were be been being it its this that these those
    i me my we our you your he him his she her they them their what which who whom whose when where why how do does
    did done have has had not no yes as if then than so such can could would should will shall may might must
    about into over under again further once here there all any both each few more most other some own same too very
    just also up down out off""".split()
)


@dataclass(frozen=True)
class IndexSpec:
    """How one base table is indexed."""

    base: str  # base table: id, ts, search text column, embedded_with
    text_column: str  # column of the base table that is embedded
    fts: str  # FTS5 table, rowid = base id
    vec: str  # vec0 table, rowid = base id
    category_column: str  # 'type' for memories, 'kind' for observations
    meta_key: str  # meta table prefix where the embedder of this index is recorded


MEMORY_INDEX = IndexSpec("memories", "search_text", "memory_fts", "memory_vec", "type", "memory_vec")
OBSERVATION_INDEX = IndexSpec("observations", "text", "observation_fts", "observation_vec", "kind", "observation_vec")


@dataclass
class Hit:
    id: int
    score: float
    lexical: float = 0.0  # normalised 0..1
    semantic: float = 0.0  # rescaled 0..1
    extra: dict[str, Any] = field(default_factory=dict)


def query_terms(text: str) -> list[str]:
    """Search terms of ``text``: lowercased words without stopwords (all words if only stopwords)."""
    words = [w.strip(".-'").lower() for w in _TOKEN.findall(text or "")]
    words = [w for w in words if w]
    kept = [w for w in words if w not in STOPWORDS]
    seen: dict[str, None] = {}
    for w in kept or words:
        seen.setdefault(w, None)
    return list(seen)


def fts_match(terms: Sequence[str], *, prefix_last: bool = False) -> str | None:
    """An FTS5 MATCH expression OR-ing the quoted ``terms``; the last one as a prefix if asked."""
    parts = []
    for i, term in enumerate(terms):
        quoted = '"' + term.replace('"', '""') + '"'
        if prefix_last and i == len(terms) - 1 and len(term) >= 2:
            quoted += "*"
        parts.append(quoted)
    return " OR ".join(parts) if parts else None


def vector_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


class VectorTables:
    """Creates, checks and rebuilds the vec0 tables for the current embedder."""

    def __init__(self, db: Database):
        self.db = db

    def current(self, spec: IndexSpec) -> tuple[str | None, int | None]:
        name = self.db.scalar("SELECT value FROM meta WHERE key = ?", [f"{spec.meta_key}.model"])
        dim = self.db.scalar("SELECT value FROM meta WHERE key = ?", [f"{spec.meta_key}.dim"])
        return name, int(dim) if dim else None

    def exists(self, spec: IndexSpec) -> bool:
        return bool(self.db.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", [spec.vec]))

    def ensure(self, spec: IndexSpec, model_name: str, dim: int) -> bool:
        """Make ``spec.vec`` fit the embedder; True when every row must be re-embedded."""
        name, current_dim = self.current(spec)
        if name == model_name and current_dim == dim and self.exists(spec):
            return False
        with self.db.transaction():
            self.db.execute(f"DROP TABLE IF EXISTS {spec.vec}")
            self.db.execute(
                f"CREATE VIRTUAL TABLE {spec.vec} USING vec0(embedding float[{dim}] distance_metric=cosine, "
                f"{spec.category_column} text, ts float)"
            )
            self.db.execute(f"UPDATE {spec.base} SET embedded_with = NULL")
            self.db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?), (?, ?)",
                [f"{spec.meta_key}.model", model_name, f"{spec.meta_key}.dim", str(dim)],
            )
        if name is not None:
            log.info("embedder changed from %s to %s: %s will be re-embedded", name, model_name, spec.base)
        return True

    def pending_count(self, spec: IndexSpec) -> int:
        return int(self.db.scalar(f"SELECT count(*) FROM {spec.base} WHERE embedded_with IS NULL"))


def store_vectors(db: Database, spec: IndexSpec, rows: Sequence[tuple[int, str, float]], vectors: np.ndarray, model: str) -> None:
    """Write vectors for ``rows`` (id, category, ts) inside the caller's transaction."""
    for (row_id, category, ts), vector in zip(rows, vectors):
        db.execute(f"DELETE FROM {spec.vec} WHERE rowid = ?", [row_id])
        db.execute(
            f"INSERT INTO {spec.vec}(rowid, embedding, {spec.category_column}, ts) VALUES (?, ?, ?, ?)",
            [row_id, vector_blob(vector), category, float(ts)],
        )
        db.execute(f"UPDATE {spec.base} SET embedded_with = ? WHERE id = ?", [model, row_id])


def lexical_candidates(
    db: Database,
    spec: IndexSpec,
    match: str,
    *,
    where: str = "",
    params: Sequence[Any] = (),
    limit: int = 50,
) -> list[tuple[int, float]]:
    """(id, bm25) for the best FTS matches; bm25 is positive, larger is better."""
    sql = (
        f"SELECT f.rowid, -bm25({spec.fts}) AS score FROM {spec.fts} f "
        f"JOIN {spec.base} b ON b.id = f.rowid WHERE {spec.fts} MATCH ? {where} "
        f"ORDER BY bm25({spec.fts}) LIMIT ?"
    )
    with db.lock:
        try:
            rows = db.conn.execute(sql, [match, *params, limit]).fetchall()
        except Exception as exc:  # a MATCH syntax problem must not hide the semantic results
            log.warning("full-text query %r failed: %s", match, exc)
            rows = []
    return [(int(r[0]), float(r[1])) for r in rows]


def semantic_candidates(
    db: Database,
    spec: IndexSpec,
    query_vector: np.ndarray,
    *,
    categories: Sequence[str] | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 50,
) -> list[tuple[int, float]]:
    """(id, cosine similarity) of the nearest vectors, filtered inside the KNN query."""
    if not VectorTables(db).exists(spec):
        return []
    clauses = ["embedding MATCH ?", "k = ?"]
    params: list[Any] = [vector_blob(query_vector), limit]
    if since is not None:
        clauses.append("ts >= ?")
        params.append(float(since))
    if until is not None:
        clauses.append("ts <= ?")
        params.append(float(until))
    results: list[tuple[int, float]] = []
    cats: list[str | None] = list(categories) if categories else [None]
    with db.lock:
        for cat in cats:
            sql_clauses = list(clauses)
            sql_params = list(params)
            if cat is not None:
                sql_clauses.append(f"{spec.category_column} = ?")
                sql_params.append(cat)
            rows = db.conn.execute(
                f"SELECT rowid, distance FROM {spec.vec} WHERE " + " AND ".join(sql_clauses), sql_params
            ).fetchall()
            results.extend((int(r[0]), 1.0 - float(r[1])) for r in rows)
    results.sort(key=lambda item: -item[1])
    return results[:limit]


def fuse(
    lexical: Sequence[tuple[int, float]],
    semantic: Sequence[tuple[int, float]],
    *,
    lexical_weight: float = LEXICAL_WEIGHT,
    semantic_weight: float = SEMANTIC_WEIGHT,
    floor: float = SEMANTIC_FLOOR,
) -> list[Hit]:
    """Weighted fusion of normalised lexical and semantic scores, best first."""
    hits: dict[int, Hit] = {}
    if lexical:
        top = max(score for _, score in lexical) or 1.0
        for row_id, score in lexical:
            hits[row_id] = Hit(row_id, 0.0, lexical=max(0.0, score) / top)
    for row_id, similarity in semantic:
        rescaled = max(0.0, (similarity - floor) / (1.0 - floor))
        hit = hits.setdefault(row_id, Hit(row_id, 0.0))
        hit.semantic = rescaled
    if not lexical:
        lexical_weight, semantic_weight = 0.0, 1.0
    elif not semantic:
        lexical_weight, semantic_weight = 1.0, 0.0
    for hit in hits.values():
        hit.score = lexical_weight * hit.lexical + semantic_weight * hit.semantic
    return sorted((h for h in hits.values() if h.score > 0), key=lambda h: (-h.score, -h.id))
