"""Full-text and vector search over one indexed table.

Memories and observations are indexed the same way: an FTS5 table and vector
tables (see ``core.store.vectorindex``), all keyed by the row id of the base
table.  Vectors record which embedder made them; a different embedder drops
them and marks every row for re-embedding.  Candidates from both are fused by
``core.ranking``, the fusion recall (``engram ask``) uses too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from core import ranking
from core.ranking import STOPWORDS, query_terms, stem
from core.store.db import Database, raise_storage_error
from core.store.vectorindex import (
    VectorTableNames,
    bump_version,
    cosines_of,
    forget_ram_index,
    loaded_ram_index,
    nearest,
    ram_index,
    sign_code,
)

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class IndexSpec:
    """How one base table is indexed."""

    base: str  # base table: id, ts, search text column, embedded_with
    text_column: str  # column of the base table that is embedded
    fts: str  # FTS5 table, rowid = base id
    vec: str  # float32 vectors (id, embedding); codes live in f"{vec}_codes"
    category_column: str  # 'type' for memories, 'kind' for observations
    meta_key: str  # meta table prefix where the embedder of this index is recorded
    # Version of what is embedded for a row.  When it changes, every row is embedded again in the background
    # (its old vector serves search until then).  A store that never recorded one holds form "1".
    text_form: str = "1"

    @property
    def vector_names(self) -> VectorTableNames:
        return VectorTableNames(self.vec, f"{self.vec}_codes", f"{self.meta_key}.version")


# Memories: form 2 embeds ``types.vector_text`` (what a memory says, without its names and days), not the search text.
MEMORY_INDEX = IndexSpec("memories", "search_text", "memory_fts", "memory_vectors", "type", "memory_vec", text_form="2")
OBSERVATION_INDEX = IndexSpec("observations", "text", "observation_fts", "observation_vectors", "kind", "observation_vec")


@dataclass
class Hit:
    id: int
    score: float
    lexical: float = 0.0  # normalised 0..1
    semantic: float = 0.0  # rescaled 0..1
    extra: dict[str, Any] = field(default_factory=dict)


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

    def form(self, spec: IndexSpec) -> str:
        return self.db.scalar("SELECT value FROM meta WHERE key = ?", [f"{spec.meta_key}.form"]) or "1"

    def ensure(self, spec: IndexSpec, model_name: str, dim: int) -> bool:
        """Make ``spec``'s vectors fit the embedder; True when every row must be re-embedded.

        Vectors of another embedder (or dimension) are dropped and every row is
        marked for re-embedding, in one transaction.  Vectors of the same
        embedder made from an older form of the text (``IndexSpec.text_form``)
        stay until each row's new one replaces them.
        """
        name, current_dim = self.current(spec)
        if name == model_name and current_dim == dim:
            if self.form(spec) == spec.text_form:
                return False
            with self.db.transaction():
                self.db.execute(f"UPDATE {spec.base} SET embedded_with = NULL WHERE embedded_with IS NOT 'purged'")
                self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [f"{spec.meta_key}.form", spec.text_form])
            log.info("%s will be embedded again: what is embedded changed to form %s", spec.base, spec.text_form)
            return True
        names = spec.vector_names
        with self.db.transaction():
            self.db.execute(f"DELETE FROM {names.vectors}")
            self.db.execute(f"DELETE FROM {names.codes}")
            self.db.execute(f"UPDATE {spec.base} SET embedded_with = NULL WHERE embedded_with IS NOT 'purged'")
            bump_version(self.db, names)
            self.db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?), (?, ?), (?, ?)",
                [f"{spec.meta_key}.model", model_name, f"{spec.meta_key}.dim", str(dim), f"{spec.meta_key}.form", spec.text_form],
            )
        forget_ram_index(self.db, names)
        if name is not None:
            log.info("embedder changed from %s to %s: %s will be re-embedded", name, model_name, spec.base)
        return True

    def pending_count(self, spec: IndexSpec) -> int:
        return int(self.db.scalar(f"SELECT count(*) FROM {spec.base} WHERE embedded_with IS NULL"))


def store_vectors(db: Database, spec: IndexSpec, rows: Sequence[tuple[int, str, float]], vectors: np.ndarray, model: str) -> None:
    """Write vectors for ``rows`` (id, category, ts) inside the caller's transaction."""
    names = spec.vector_names
    if not rows:
        return
    version = bump_version(db, names)
    codes = []
    for (row_id, category, ts), vector in zip(rows, vectors):
        code = sign_code(vector)
        codes.append((row_id, code, ts, category))
        db.execute(f"INSERT OR REPLACE INTO {names.vectors}(id, embedding) VALUES (?, vec_f32(?))", [row_id, vector_blob(vector)])
        db.execute(
            f"INSERT OR REPLACE INTO {names.codes}(id, category, ts, code) VALUES (?, ?, ?, ?)",
            [row_id, category, float(ts), code],
        )
        db.execute(f"UPDATE {spec.base} SET embedded_with = ? WHERE id = ?", [model, row_id])
    _mirror(db, names, version, upserts=codes)


def delete_vectors(db: Database, spec: IndexSpec, ids: Sequence[int]) -> None:
    """Remove the vectors of ``ids`` inside the caller's transaction."""
    names = spec.vector_names
    if not ids:
        return
    version = bump_version(db, names)
    for start in range(0, len(ids), 500):
        chunk = [int(i) for i in ids[start : start + 500]]
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM {names.vectors} WHERE id IN ({marks})", chunk)
        db.execute(f"DELETE FROM {names.codes} WHERE id IN ({marks})", chunk)
    _mirror(db, names, version, removals=ids)


def _mirror(db: Database, names: VectorTableNames, version: str, *, upserts=(), removals=()) -> None:
    """Apply a write to the RAM index too, when it is loaded and was current before the write.

    If the transaction later rolls back, the database's version goes back while
    the RAM copy keeps the new one, so the next query sees the mismatch and reloads.
    """
    index = loaded_ram_index(db, names)
    if index is None:
        return
    if index.version is None or str(int(index.version) + 1) != version:
        index.version = None  # someone else wrote in between: reload on next use
        return
    for row_id, code, ts, category in upserts:
        index.upsert(row_id, code, ts, category)
    for row_id in removals:
        index.remove(row_id)
    index.version = version


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
        f"CROSS JOIN {spec.base} b ON b.id = f.rowid WHERE {spec.fts} MATCH ? {where} "
        f"ORDER BY bm25({spec.fts}) LIMIT ?"
    )
    with db.lock:
        try:
            rows = db.conn.execute(sql, [match, *params, limit]).fetchall()
        except Exception as exc:  # a MATCH syntax problem must not hide the semantic results
            raise_storage_error(exc, db.path)
            log.warning("full-text query %r failed: %s", match, exc)
            rows = []
    return [(int(r[0]), float(r[1])) for r in rows]


# Postings a lexical query may score with BM25.  A term in more documents than
# this says little about relevance and costs the most: it is left to the
# semantic side, unless every term is that common.
POSTINGS_BUDGET = 4000
_DF_CACHE_SECONDS = 120.0
_df_cache: dict[tuple[int, str, str], tuple[float, int]] = {}


def document_frequencies(db: Database, spec: IndexSpec, terms: Sequence[str]) -> dict[str, int]:
    """How many rows of ``spec`` contain each term (after the index's Porter stemming); cached briefly."""
    now = time.monotonic()
    if len(_df_cache) > 50_000:
        _df_cache.clear()
    out: dict[str, int] = {}
    with db.lock:
        vocab = _ensure_vocab(db, spec)
        for term in terms:
            key = (id(db), spec.fts, term)
            cached = _df_cache.get(key)
            if cached and now - cached[0] < _DF_CACHE_SECONDS:
                out[term] = cached[1]
                continue
            row = db.conn.execute(f"SELECT doc FROM temp.{vocab} WHERE term = ?", [stem(term)]).fetchone()
            out[term] = int(row[0]) if row else 0
            _df_cache[key] = (now, out[term])
    return out


def lexical_search(
    db: Database,
    spec: IndexSpec,
    query: str,
    *,
    where: str = "",
    params: Sequence[Any] = (),
    limit: int = 50,
    budget: int = POSTINGS_BUDGET,
) -> list[tuple[int, float]]:
    """BM25 candidates for ``query`` with bounded cost.

    Terms are taken rarest first while their postings fit ``budget``; the
    common rest barely moves BM25 and would dominate its cost.  When even the
    rarest term is too common, its newest matches are returned with equal
    scores (FTS5 walks rowids in order and stops at ``limit``).
    """
    terms = query_terms(query)
    if not terms:
        return []
    df = document_frequencies(db, spec, terms)
    chosen, total = [], 0
    for term in sorted(terms, key=lambda t: df[t]):
        if total + df[term] > budget and chosen:
            break
        chosen.append(term)
        total += df[term]
    if df[chosen[0]] > budget:
        match = fts_match(chosen[:1])
        sql = (
            f"SELECT f.rowid FROM {spec.fts} f CROSS JOIN {spec.base} b ON b.id = f.rowid "
            f"WHERE {spec.fts} MATCH ? {where} ORDER BY f.rowid DESC LIMIT ?"
        )
        with db.lock:
            rows = db.conn.execute(sql, [match, *params, limit]).fetchall()
        return [(int(r[0]), 1.0) for r in rows]
    return lexical_candidates(db, spec, fts_match(chosen), where=where, params=params, limit=limit)


RECENT_WINDOW = 500


INDEXED_PREFIX_MAX = 4  # the FTS tables keep prefix indexes for 2, 3 and 4 characters
MAX_COMPLETIONS = 24
ALTERNATIVE_MAX_SHARE = 0.05


def _ensure_vocab(db: Database, spec: IndexSpec) -> str:
    vocab = f"{spec.fts}_vocab"
    if not db.conn.execute("SELECT 1 FROM temp.sqlite_master WHERE name = ?", [vocab]).fetchone():
        db.conn.execute(f"CREATE VIRTUAL TABLE temp.{vocab} USING fts5vocab(main, {spec.fts}, row)")
    return vocab


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def typed_match(text: str, db: Database | None = None, spec: IndexSpec | None = None) -> str | None:
    """An FTS5 AND-query for search-as-you-type: every word must match, the word being typed as a prefix.

    A prefix longer than the indexed prefix lengths would make FTS5 merge the
    postings of every completion; with ``db`` and ``spec`` it is expanded to its
    most frequent completions instead, which bounds the cost.
    """
    terms = query_terms(text)
    if not terms:
        return None
    typing = bool(text) and not text[-1].isspace()
    if typing and len(terms[-1]) < 2 and len(terms) > 1:
        terms = terms[:-1]
        typing = False
    parts = [_quote(t) for t in terms]
    if typing and len(terms[-1]) >= 2:
        # The index holds Porter stems ("atlas" is stored as "atla", "generalize" as
        # "gener"), so the word being typed may run past its stem: it matches the
        # stems it starts with (up to 3 characters shorter) as well as its completions.
        typed = terms[-1]
        prefix = os.path.commonprefix([typed, stem(typed)]) or typed
        alternatives: list[str] = []
        if db is not None and spec is not None:
            shorter = [typed[:k] for k in range(max(3, len(typed) - 3), len(typed)) if typed[:k] not in STOPWORDS]
            found = document_frequencies(db, spec, shorter) if shorter else {}
            rows = max(1, int(db.scalar(f"SELECT max(rowid) FROM {spec.fts}") or 1))
            # A short stem found in a large share of rows is noise that costs the most.
            alternatives = [_quote(t) for t in shorter if 0 < found.get(t, 0) <= max(50, rows * ALTERNATIVE_MAX_SHARE)]
        if len(prefix) > INDEXED_PREFIX_MAX and db is not None and spec is not None:
            with db.lock:
                vocab = _ensure_vocab(db, spec)
                rows = db.conn.execute(
                    f"SELECT term FROM temp.{vocab} WHERE term >= ? AND term < ? ORDER BY doc DESC LIMIT ?",
                    [prefix, prefix + "\U0010ffff", MAX_COMPLETIONS],
                ).fetchall()
            options = [_quote(r[0]) for r in rows] + alternatives
        else:
            options = [_quote(prefix) + "*"] + alternatives
        options = list(dict.fromkeys(options))
        if not options:
            return None
        parts[-1] = options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"
    return " AND ".join(parts)


class QueryTimeout(Exception):
    """A query ran past its time budget and was interrupted."""


@contextlib.contextmanager
def time_budget(db: Database, milliseconds: float | None):
    """Interrupt SQLite work on this connection that runs longer than ``milliseconds``."""
    if milliseconds is None:
        yield
        return
    deadline = time.perf_counter() + milliseconds / 1000.0
    db.conn.set_progress_handler(lambda: 1 if time.perf_counter() > deadline else 0, 2000)
    try:
        yield
    except Exception as exc:
        if "interrupt" in str(exc).lower():
            raise QueryTimeout(str(exc)) from exc
        raise
    finally:
        db.conn.set_progress_handler(None, 0)


def recent_best_matches(
    db: Database,
    spec: IndexSpec,
    match: str,
    *,
    limit: int,
    where: str = "",
    params: Sequence[Any] = (),
    window: int = RECENT_WINDOW,
    budget_ms: float | None = None,
) -> list[tuple[int, float]]:
    """BM25-ranked matches among the newest ``window`` matches: cost bounded however common the words are.

    FTS5 walks a match in rowid order and stops early, so finding the newest
    ``window`` matches is cheap; BM25 then runs only on rows at or above that
    cutoff.  With ``budget_ms``, a query that takes longer raises ``QueryTimeout``.
    """
    with db.lock, time_budget(db, budget_ms):
        try:
            row = db.conn.execute(
                f"SELECT rowid FROM {spec.fts} WHERE {spec.fts} MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                [match, window - 1],
            ).fetchone()
            cutoff = int(row[0]) if row else 0
            rows = db.conn.execute(
                f"SELECT f.rowid, -bm25({spec.fts}) FROM {spec.fts} f CROSS JOIN {spec.base} b ON b.id = f.rowid "
                f"WHERE {spec.fts} MATCH ? AND f.rowid >= ? {where} ORDER BY bm25({spec.fts}) LIMIT ?",
                [match, cutoff, *params, limit],
            ).fetchall()
        except QueryTimeout:
            raise
        except Exception as exc:  # malformed input must not break typing
            if "interrupt" in str(exc).lower():
                raise
            raise_storage_error(exc, db.path)
            log.warning("quick match %r failed: %s", match, exc)
            return []
    return [(int(r[0]), float(r[1])) for r in rows]


def newest_matches(
    db: Database, spec: IndexSpec, match: str, *, limit: int, where: str = "", params: Sequence[Any] = (), budget_ms: float | None = None
) -> list[tuple[int, float]]:
    """The newest ``limit`` matches, equally scored: the cheapest answer FTS5 can give."""
    with db.lock, time_budget(db, budget_ms):
        rows = db.conn.execute(
            f"SELECT f.rowid FROM {spec.fts} f CROSS JOIN {spec.base} b ON b.id = f.rowid "
            f"WHERE {spec.fts} MATCH ? {where} ORDER BY f.rowid DESC LIMIT ?",
            [match, *params, limit],
        ).fetchall()
    return [(int(r[0]), 1.0) for r in rows]


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
    """(id, cosine similarity) of the nearest vectors that pass the filters; see core.store.vectorindex."""
    return nearest(
        db, spec.vector_names, query_vector, limit=limit, categories=categories,
        since=None if since is None else float(since), until=None if until is None else float(until),
    )


def fuse(lexical: Sequence[tuple[int, float]], semantic: Sequence[tuple[int, float]]) -> list[Hit]:
    """The candidates of both signals fused by ``core.ranking`` (the same fusion recall uses), best first."""
    lex, sem = dict(lexical), dict(semantic)
    scores = ranking.fuse_scores(lex, sem, ranking.DEFAULT_WEIGHTS)
    norm_lex = ranking.normalise_lexical(lex)
    norm_sem = ranking.normalise_semantic(sem, ranking.DEFAULT_WEIGHTS.semantic_floor)
    return [
        Hit(row_id, score, lexical=norm_lex.get(row_id, 0.0), semantic=norm_sem.get(row_id, 0.0))
        for row_id, score in ranking.ranked(scores)
        if score > 0
    ]


def filter_clauses(
    spec: IndexSpec,
    categories: Sequence[str] | None,
    since: float | None,
    until: float | None,
    extra: Sequence[str] = (),
) -> tuple[str, list[Any]]:
    """An ``AND ...`` SQL fragment over the base table (alias ``b``) and its parameters."""
    clauses, params = list(extra), []
    if categories:
        clauses.append(f"b.{spec.category_column} IN (" + ",".join("?" * len(categories)) + ")")
        params.extend(categories)
    if since is not None:
        clauses.append("b.ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("b.ts <= ?")
        params.append(until)
    return ("AND " + " AND ".join(clauses)) if clauses else "", params


def hybrid_hits(
    db: Database,
    spec: IndexSpec,
    query: str,
    embed_query,
    *,
    categories: Sequence[str] | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 10,
    lexical: bool = True,
    semantic: bool = True,
    extra_clauses: Sequence[str] = (),
    keep=None,
    fill_semantic: bool = False,
) -> list[Hit]:
    """Lexical and semantic candidates for ``query`` under the same filters, fused, best ``limit`` first.

    With ``fill_semantic`` (memories) the lexical candidates outside the nearest neighbours get their cosine too.

    ``embed_query(text)`` gives the query vector or None (no embedder: lexical
    only); ``keep(ids)`` returns the subset of semantic candidates to keep, for
    filters the vector index does not know (e.g. archived memories).
    """
    pool = max(40, limit * 5)
    where, params = filter_clauses(spec, categories, since, until, extra_clauses)
    lexical_hits = lexical_search(db, spec, query, where=where, params=params, limit=pool) if lexical else []
    semantic_hits: list[tuple[int, float]] = []
    if semantic and query.strip():
        vector = embed_query(query)
        if vector is not None:
            semantic_hits = semantic_candidates(db, spec, vector, categories=categories, since=since, until=until, limit=pool)
            if keep is not None and semantic_hits:
                kept = keep([h[0] for h in semantic_hits])
                semantic_hits = [h for h in semantic_hits if h[0] in kept]
            if fill_semantic and lexical_hits:
                # A lexical candidate outside the nearest neighbours still has a cosine: without it the fusion
                # scores it as if its meaning were unrelated, and a text that shares only a name with the
                # question outranks one that shares its subject.
                seen = {h[0] for h in semantic_hits}
                missing = [h[0] for h in lexical_hits if h[0] not in seen]
                if missing:
                    semantic_hits = semantic_hits + sorted(cosines_of(db, spec.vector_names, vector, missing).items())
    return fuse(lexical_hits, semantic_hits)[:limit]


class TypedSearch:
    """Search-as-you-type over one index, each query within a time budget (see ``core.recall.quick``)."""

    def __init__(self, db: Database, spec: IndexSpec, *, live_memories_only: bool = False):
        self.db = db
        self.spec = spec
        self.where = "AND b.archived = 0" if live_memories_only else ""
        self._warm = False

    def warm_up(self) -> None:
        """One-time set-up (the stemmer, the vocabulary table), so it is not a keystroke's cost."""
        if not self._warm:
            typed_match("warm up", self.db, self.spec)
            self._warm = True

    def match(self, text: str) -> str | None:
        """The FTS5 query for ``text`` as typed so far (None when there is nothing to search)."""
        return typed_match(text, self.db, self.spec)

    def best_recent(self, match: str, *, limit: int, budget_ms: float) -> list[tuple[int, float]]:
        return recent_best_matches(self.db, self.spec, match, limit=limit, where=self.where, budget_ms=budget_ms)

    def newest(self, match: str, *, limit: int, budget_ms: float) -> list[tuple[int, float]]:
        return newest_matches(self.db, self.spec, match, limit=limit, where=self.where, budget_ms=budget_ms)
