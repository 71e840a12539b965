"""Engram's retrieval: hybrid, weighted, time- and people-aware, with context.

``Recall(engine).retrieve(question)`` returns a ``RecallResult``: the best
items across observations and memories, each with its score and where it came
from, the core memory (always part of the context, whatever the question),
and for conversation hits their neighbouring turns.

How an observation is ranked (weights in ``core.recall.fusion.RecallWeights``):

1. The question becomes a ``QueryPlan`` (terms, named people, time ranges,
   likely memory types) without an LLM.
2. Lexical candidates: BM25 over ``recall_fts`` (each turn with its
   neighbours at a lower weight, see ``core.recall.indexing``) for turns of
   conversations, and the store's ``observation_fts`` for the rest.
3. Semantic candidates: the store's ``observation_vec`` nearest neighbours.
4. Weighted fusion of the normalised scores, then boosts: turns spoken by a
   person the question names, items inside the question's time range
   (widened after its end, since events are told after they happen).
5. For questions without content words ("what did I do last week?"), recency
   decides among the candidates in range.

Memories are ranked the same way per type, with the type the question most
likely targets first, plus their stored importance.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

import numpy as np

from core.db import raise_storage_error
from core.recall import fusion
from core.recall.fusion import DEFAULT_WEIGHTS, RecallWeights
from core.recall.indexing import CONTEXT_TABLE, prune_context_index, sync_context_index, turn_text
from core.recall.query import QueryPlan, understand
from core.search import (
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

NAMES_TTL_SECONDS = 60.0
GENERIC_ROLES = frozenset({"user", "assistant", "system", "me", "tool"})
DIA_ID = re.compile(r"D\d+:\d+")
TYPE_PREFERENCE = (1.0, 0.9, 0.8)
# Only the FTS table name is used (for document frequencies of its terms).
CONTEXT_SPEC = IndexSpec("observations", "text", CONTEXT_TABLE, "", "kind", "recall")  # multiplier for a memory of the 1st, 2nd, other preferred types


@dataclass
class RecallHit:
    """One retrieved item: an observation or a memory."""

    source: str  # "observation" or "memory"
    id: int
    score: float
    kind: str  # observation kind, or memory type
    ts: float
    text: str
    lexical: float = 0.0
    semantic: float = 0.0
    role: str | None = None
    conversation: str | None = None
    source_ref: str | None = None
    app: str | None = None
    neighbours: list[dict[str, Any]] = field(default_factory=list)

    def refs(self) -> list[str]:
        """Dialogue ids (``D3:12``) this item cites, from its source reference."""
        return DIA_ID.findall(self.source_ref or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "id": self.id, "score": round(self.score, 6), "kind": self.kind,
            "ts": datetime.fromtimestamp(self.ts).isoformat(timespec="seconds"), "text": self.text,
            "role": self.role, "conversation": self.conversation, "source_ref": self.source_ref, "app": self.app,
            "neighbours": self.neighbours,
        }


@dataclass
class RecallResult:
    plan: QueryPlan
    hits: list[RecallHit]
    core: list[Any] = field(default_factory=list)  # core memories, always in context
    timings_ms: dict[str, float] = field(default_factory=dict)


def _ts_bounds(plan: QueryPlan, weights: RecallWeights) -> tuple[float | None, float | None]:
    rng = plan.time_range
    if rng is None:
        return None, None
    start, end = rng.timestamps()
    return start, end + weights.time_slack_days * 86400.0


@dataclass
class Candidates:
    """What the indexes returned for one question: raw BM25, raw cosine, and (ts, role, conversation) per id."""

    lexical: dict[int, float]
    semantic: dict[int, float]
    info: dict[int, dict]


def score_observations(
    plan: QueryPlan, candidates: Candidates, weights: RecallWeights, neighbours_of=None
) -> dict[int, float]:
    """Recall's score of every candidate observation (the ranking, without any database access)."""
    w = weights
    info = candidates.info
    scores = fusion.fuse_scores(candidates.lexical, candidates.semantic, w)
    if not scores:
        return {}
    speakers = {s.lower() for s in plan.speakers}
    if len(speakers) == 1 and w.speaker != 1.0:
        scores = fusion.boost(scores, lambda k: w.speaker if (info.get(k, {}).get("role") or "").lower() in speakers else 1.0)
    since, until = _ts_bounds(plan, w)
    if since is not None or until is not None:
        lo = since if since is not None else -math.inf
        hi = until if until is not None else math.inf
        scores = fusion.boost(scores, lambda k: 1.0 + w.time_match if lo <= info.get(k, {}).get("ts", -math.inf) < hi else 1.0)
    if plan.open_question and w.recency > 0:
        now = plan.now.timestamp()
        half = w.recency_half_life_days * 86400.0
        scores = {k: v + w.recency * 0.5 ** (max(0.0, now - info.get(k, {}).get("ts", 0.0)) / half) for k, v in scores.items()}
    if w.neighbour > 0 and neighbours_of is not None:
        scores = fusion.spread_to_neighbours(scores, neighbours_of, w.neighbour)
    return scores


class Recall:
    """Retrieval over one engine's store; cheap to create, keeps small caches."""

    def __init__(self, engine, weights: RecallWeights = DEFAULT_WEIGHTS):
        self.engine = engine
        self.db = engine.db
        self.weights = weights
        self._names: list[str] | None = None
        self._names_at = 0.0
        self._pruned = True
        engine.events.subscribe("observations_did_forget", self._on_forget)

    # -- housekeeping --------------------------------------------------------------------

    def _on_forget(self, **_: Any) -> None:
        self._pruned = False
        self._names = None

    def sync(self) -> None:
        """Bring the context index up to date (cheap when nothing changed)."""
        if not self._pruned:
            prune_context_index(self.db)
            self._pruned = True
        sync_context_index(self.db)

    def known_names(self) -> list[str]:
        """Speakers of stored conversations and names of semantic memories, for query understanding."""
        # Distinct roles need a scan of the observations: refresh at most once a minute.
        if self._names is None or time.monotonic() - self._names_at > NAMES_TTL_SECONDS:
            self._names_at = time.monotonic()
            roles = [r["role"] for r in self.db.query("SELECT DISTINCT role FROM observations WHERE role IS NOT NULL LIMIT 1000")]
            names = [r for r in roles if r and r.lower() not in GENERIC_ROLES]
            self._names = names
        return self._names

    # -- candidates ------------------------------------------------------------------------

    def _context_lexical(self, terms: Sequence[str], limit: int) -> dict[int, float]:
        """BM25 over ``recall_fts`` (turn + neighbours), with the cost bounded like the store's own search.

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
        w = self.weights.context
        if df.get(chosen[0], 0) > POSTINGS_BUDGET:
            sql = f"SELECT rowid, 1.0 FROM {CONTEXT_TABLE} WHERE {CONTEXT_TABLE} MATCH ? ORDER BY rowid DESC LIMIT ?"
            params: list[Any] = [match, limit]
        else:
            sql = (
                f"SELECT rowid, -bm25({CONTEXT_TABLE}, 1.0, ?) FROM {CONTEXT_TABLE} WHERE {CONTEXT_TABLE} MATCH ? "
                f"ORDER BY bm25({CONTEXT_TABLE}, 1.0, ?) LIMIT ?"
            )
            params = [w, match, w, limit]
        with self.db.lock:
            try:
                rows = self.db.conn.execute(sql, params).fetchall()
            except Exception as exc:  # a MATCH syntax problem must not hide the semantic results
                raise_storage_error(exc, self.db.path)
                log.warning("context full-text query %r failed: %s", match, exc)
                rows = []
        return {int(r[0]): float(r[1]) for r in rows}

    def _plain_lexical(self, terms: Sequence[str], limit: int, *, only_without_conversation: bool) -> dict[int, float]:
        """BM25 over the store's ``observation_fts``; bounded (like the store's search) for observations outside conversations."""
        if only_without_conversation:
            return dict(lexical_search(self.db, OBSERVATION_INDEX, " ".join(terms), where="AND b.conversation IS NULL", limit=limit))
        match = fts_match(terms)
        if not match:
            return {}
        return dict(lexical_candidates(self.db, OBSERVATION_INDEX, match, limit=limit))

    def _query_vector(self, text: str):
        return self.engine.indexer.embed_query(text) if text.strip() else None

    def _semantic(self, vector, limit: int, since=None, until=None) -> dict[int, float]:
        if vector is None:
            return {}
        return dict(semantic_candidates(self.db, OBSERVATION_INDEX, vector, since=since, until=until, limit=limit))

    # -- baselines (for evaluation) ----------------------------------------------------------

    def bm25_only(self, query: str, limit: int = 10) -> list[int]:
        """Observation ids by plain BM25 over the store's index (one document per observation)."""
        from core.recall.query import terms_of

        return [i for i, _ in fusion.ranked(self._plain_lexical(terms_of(query) or query.split(), limit, only_without_conversation=False), limit)]

    def dense_only(self, query: str, limit: int = 10, vector=None) -> list[int]:
        """Observation ids by cosine similarity of the store's vectors alone."""
        vector = self._query_vector(query) if vector is None else vector
        return [i for i, _ in fusion.ranked(self._semantic(vector, limit), limit)]

    # -- retrieval ---------------------------------------------------------------------------

    def observation_candidates(self, plan: QueryPlan, vector=None, limit: int = 10) -> "Candidates":
        """Lexical and semantic candidates for ``plan``, with the time and speaker of each.

        Semantic scores are contextual: a turn's vector plus ``context_vector``
        times each adjacent turn's vector, normalised (mean-pooled sentence
        embeddings add up roughly like their texts), compared with the query.
        They are computed for the nearest neighbours, the lexical candidates
        and the turns next to either, from the stored vectors: no model call.
        """
        w = self.weights
        pool = max(w.pool, limit * 3)
        lexical = self._context_lexical(plan.terms, pool)
        if self.db.scalar("SELECT 1 FROM observations WHERE conversation IS NULL LIMIT 1"):
            # Screen and other observations outside conversations are searched in the store's own index.
            plain = self._plain_lexical(plan.terms, pool, only_without_conversation=True)
            lexical.update({k: v for k, v in plain.items() if k not in lexical})
        semantic = self._semantic(vector, pool)
        since, until = _ts_bounds(plan, w)
        if since is not None or until is not None:
            # The range's own nearest neighbours join the pool, so a vague question still finds its period.
            for k, v in self._semantic(vector, pool // 2, since=since, until=until).items():
                semantic.setdefault(k, v)
        ids = set(lexical) | set(semantic)
        info = self._observation_info(list(ids))
        adjacency: dict[int, tuple[int | None, int | None]] = {}
        if vector is not None and w.context_vector > 0 and ids:
            adjacency = self._adjacency(info)
            wanted = set(ids)
            for prev_id, next_id in adjacency.values():
                wanted.update(i for i in (prev_id, next_id) if i is not None)
            extra = [i for i in wanted if i not in info]
            if extra:
                info.update(self._observation_info(extra))
                adjacency.update(self._adjacency({i: info[i] for i in extra if i in info}))
            semantic = self._contextual_similarities(vector, list(wanted), adjacency, w.context_vector) or semantic
        for obs_id, pair in adjacency.items():
            if obs_id in info:
                info[obs_id]["adjacent"] = pair
        return Candidates(lexical, semantic, info)

    def _adjacency(self, info: dict[int, dict]) -> dict[int, tuple[int | None, int | None]]:
        """(previous id, next id) in the same conversation for each observation in ``info``.

        Two correlated lookups per row, each a short walk of the
        ``(conversation, ts)`` index, so the cost does not grow with the
        length of the conversations.
        """
        ids = [i for i, r in info.items() if r.get("conversation") is not None]
        out: dict[int, tuple[int | None, int | None]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.db.query(
                "SELECT o.id AS id, "
                "(SELECT p.id FROM observations p WHERE p.conversation = o.conversation AND (p.ts, p.id) < (o.ts, o.id) "
                " ORDER BY p.ts DESC, p.id DESC LIMIT 1) AS prev_id, "
                "(SELECT n.id FROM observations n WHERE n.conversation = o.conversation AND (n.ts, n.id) > (o.ts, o.id) "
                " ORDER BY n.ts, n.id LIMIT 1) AS next_id "
                f"FROM observations o WHERE o.id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for r in rows:
                out[r["id"]] = (r["prev_id"], r["next_id"])
        return out

    def _vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        table = OBSERVATION_INDEX.vector_names.vectors
        out: dict[int, np.ndarray] = {}
        with self.db.lock:
            if not self.db.conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [table]).fetchone():
                return {}
            for start in range(0, len(ids), 900):
                chunk = [int(i) for i in ids[start : start + 900]]
                rows = self.db.conn.execute(
                    f"SELECT id, embedding FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                out.update({int(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows})
        return out

    def _contextual_similarities(
        self, vector, ids: list[int], adjacency: dict[int, tuple[int | None, int | None]], share: float
    ) -> dict[int, float]:
        vectors = self._vectors(ids)
        if not vectors:
            return {}
        query = np.asarray(vector, dtype=np.float32)
        out: dict[int, float] = {}
        for obs_id, own in vectors.items():
            combined = own.astype(np.float32, copy=True)
            for other in adjacency.get(obs_id, (None, None)):
                if other is not None and other in vectors:
                    combined += share * vectors[other]
            norm = float(np.linalg.norm(combined))
            if norm > 0:
                out[obs_id] = float(combined @ query) / norm
        return out

    def rank_observations(self, plan: QueryPlan, vector=None, limit: int = 10) -> list[tuple[int, float, float, float]]:
        """``(id, score, lexical, semantic)`` of the best observations for ``plan``."""
        candidates = self.observation_candidates(plan, vector, limit)
        neighbours_of = (lambda k: self._adjacent_ids(candidates.info, k)) if self.weights.neighbour > 0 else None
        scores = score_observations(plan, candidates, self.weights, neighbours_of)
        norm_lex = fusion.normalise_lexical(candidates.lexical)
        norm_sem = fusion.normalise_semantic(candidates.semantic, self.weights.semantic_floor)
        return [(k, s, norm_lex.get(k, 0.0), norm_sem.get(k, 0.0)) for k, s in fusion.ranked(scores, limit)]

    def _observation_info(self, ids: Sequence[int]) -> dict[int, dict]:
        out: dict[int, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = [int(i) for i in ids[start : start + 500]]
            rows = self.db.query(
                f"SELECT id, ts, role, conversation FROM observations WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            out.update({r["id"]: r for r in rows})
        return out

    def _adjacent_ids(self, info: dict[int, dict], obs_id: int) -> list[int]:
        row = info.get(obs_id)
        if not row or row.get("conversation") is None:
            return []
        if "adjacent" in row:
            return [i for i in row["adjacent"] if i is not None]
        return [n["id"] for n in self.neighbours(obs_id, row["conversation"], row["ts"], span=1)]

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

    def rank_memories(self, plan: QueryPlan, vector=None, limit: int = 10) -> list[tuple[Any, float, float, float]]:
        """``(memory, score, lexical, semantic)`` of the best non-core memories for ``plan``."""
        w = self.weights
        pool = max(w.pool // 2, limit * 3)
        where = "AND b.archived = 0 AND b.type != 'core'"
        lexical = dict(lexical_search(self.db, MEMORY_INDEX, " ".join(plan.terms), where=where, limit=pool)) if plan.terms else {}
        semantic: dict[int, float] = {}
        if vector is not None:
            semantic = dict(semantic_candidates(self.db, MEMORY_INDEX, vector, limit=pool))
        scores = fusion.fuse_scores(lexical, semantic, w)
        if not scores:
            return []
        memories = self.engine.memories.get_many(list(scores))
        preference = {t: TYPE_PREFERENCE[min(i, len(TYPE_PREFERENCE) - 1)] for i, t in enumerate(plan.types)}
        since, until = _ts_bounds(plan, w)
        out = []
        for mem_id, score in scores.items():
            memory = memories.get(mem_id)
            if memory is None or memory.archived or memory.type == "core":
                continue
            score *= preference.get(memory.type, TYPE_PREFERENCE[-1])
            score += w.importance * float(memory.importance or 0.0)
            if since is not None or until is not None:
                when = memory.time
                if (since is None or when >= since) and (until is None or when < until):
                    score *= 1.0 + w.time_match
            out.append((memory, score, fusion.normalise_lexical(lexical).get(mem_id, 0.0), 0.0))
        out.sort(key=lambda item: -item[1])
        return out[:limit]

    def retrieve(
        self,
        query: str,
        *,
        now: datetime | None = None,
        limit: int = 10,
        include_memories: bool = True,
        include_observations: bool = True,
        with_neighbours: bool = False,
    ) -> RecallResult:
        """The best ``limit`` items for ``query`` asked at ``now`` (default: the engine's clock)."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        self.sync()
        now = now or datetime.fromtimestamp(self.engine.clock())
        plan = understand(query, now, self.known_names())
        timings["plan"] = (time.perf_counter() - started) * 1000
        mark = time.perf_counter()
        vector = self._query_vector(query)
        timings["embed"] = (time.perf_counter() - mark) * 1000
        mark = time.perf_counter()
        hits: list[RecallHit] = []
        if include_observations:
            ranked_obs = self.rank_observations(plan, vector, limit)
            found = self.engine.observations.get_many([r[0] for r in ranked_obs])
            for obs_id, score, lex, sem in ranked_obs:
                obs = found.get(obs_id)
                if obs is None:
                    continue
                hits.append(
                    RecallHit(
                        "observation", obs.id, score, obs.kind, obs.ts, turn_text(obs.text, obs.role), lex, sem,
                        role=obs.role, conversation=obs.conversation, source_ref=obs.source_ref, app=obs.app,
                    )
                )
        if include_memories:
            for memory, score, lex, sem in self.rank_memories(plan, vector, limit):
                hits.append(RecallHit("memory", memory.id, score, memory.type, memory.time, memory.text, lex, sem))
        hits.sort(key=lambda h: -h.score)
        hits = hits[:limit]
        if with_neighbours:
            for hit in hits:
                if hit.source == "observation" and hit.conversation is not None:
                    hit.neighbours = [
                        {"id": n["id"], "role": n["role"], "text": n["text"], "source_ref": n["source_ref"]}
                        for n in self.neighbours(hit.id, hit.conversation, hit.ts, span=1)
                    ]
        core = self.engine.memories.list("core", limit=50) if include_memories else []
        timings["rank"] = (time.perf_counter() - mark) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        return RecallResult(plan=plan, hits=hits, core=core, timings_ms=timings)
