"""Engram's one ranking: the query words, the stemmer and the score fusion.

``engram search`` and ``engram ask`` (recall) fuse with these pure functions,
so the same memories never rank two ways; recall then boosts by what the
question asks for (types, people, dates, importance).  Quick recall is
lexical only: it shares the query words and the stemmer, not the fusion.
Kept apart from the database so the weights can be tuned and tested on
candidate lists alone.  Every fusion function takes and returns ``{id: score}``.

The fused score of an item is

    lexical_weight * bm25 / best_bm25  +  semantic_weight * rescaled cosine

where the cosine is rescaled from ``semantic_floor`` (no evidence) to the
query's best cosine (1), so both terms live on 0..1 relative to the query's
best candidate.  A weighted sum of normalised scores keeps the size of each
signal's lead, which reciprocal-rank fusion throws away: a turn that BM25
ranks first by a wide margin stays first unless the embedding strongly
disagrees.  Multiplicative boosts then apply for the people and the time the
question names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Mapping


_TOKEN = re.compile(r"[\w][\w'\-\.@]*", re.UNICODE)
STOPWORDS = frozenset(
    """a an the and or of to in on at for with from by is are was were be been being it its this that these those
    i me my we our you your he him his she her they them their what which who whom whose when where why how do does
    did done have has had not no yes as if then than so such can could would should will shall may might must
    about into over under again further once here there all any both each few more most other some own same too very
    just also up down out off""".split()
)


def query_terms(text: str) -> list[str]:
    """Search terms of ``text``: lowercased words without stopwords (all words if only stopwords)."""
    words = [w.strip(".-'").lower() for w in _TOKEN.findall(text or "")]
    words = [w for w in words if w]
    kept = [w for w in words if w not in STOPWORDS]
    seen: dict[str, None] = {}
    for w in kept or words:
        seen.setdefault(w, None)
    return list(seen)


@lru_cache(maxsize=1)
def _porter():
    import snowballstemmer

    return snowballstemmer.stemmer("porter")


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The Porter stem of a lowercased ``word``, as FTS5's ``porter`` tokenizer indexes it."""
    return _porter().stemWord(word)


@dataclass(frozen=True)
class RecallWeights:
    """The knobs of the ranking; defaults tuned on LoCoMo conversations 0-2 (see bench/bench_recall.py).

    ``engram search`` uses the first fields (lexical, semantic, semantic_floor);
    recall also the boosts for people, time, recency and importance.
    """

    lexical: float = 0.6
    semantic: float = 0.4
    context: float = 0.5  # FTS weight of a turn's neighbours relative to its own words
    context_vector: float = 0.7  # weight of each adjacent turn's vector in a turn's contextual vector
    semantic_floor: float = 0.15  # cosine at which a vector match counts for nothing
    speaker: float = 1.6  # multiplier for items by (or about) a person the question names
    time_match: float = 0.3  # bonus factor for items inside the question's time range
    time_slack_days: float = 30.0  # the range is widened by this after its end (events are told later)
    neighbour: float = 0.0  # share of a turn's score passed to its adjacent turns
    recency: float = 0.15  # weight of recency for open questions (no content terms)
    recency_half_life_days: float = 30.0
    importance: float = 0.1  # weight of a memory's importance (0..1)
    pool: int = 100  # candidates taken from each index


DEFAULT_WEIGHTS = RecallWeights()


def normalise_lexical(scores: Mapping[int, float]) -> dict[int, float]:
    """BM25 scores (larger is better) divided by the best one."""
    if not scores:
        return {}
    top = max(scores.values())
    if top <= 0:
        return {k: 0.0 for k in scores}
    return {k: max(0.0, v) / top for k, v in scores.items()}


def normalise_semantic(similarities: Mapping[int, float], floor: float) -> dict[int, float]:
    """Cosines rescaled so ``floor`` maps to 0 and the query's best cosine to 1."""
    if not similarities:
        return {}
    top = max(similarities.values())
    if top <= floor:
        return {k: 0.0 for k in similarities}
    span = top - floor
    return {k: max(0.0, (v - floor) / span) for k, v in similarities.items()}


def fuse_scores(
    lexical: Mapping[int, float], semantic: Mapping[int, float], weights: RecallWeights = DEFAULT_WEIGHTS
) -> dict[int, float]:
    """Weighted sum of normalised BM25 and cosine; a missing signal gives its weight to the other."""
    lex = normalise_lexical(lexical)
    sem = normalise_semantic(semantic, weights.semantic_floor)
    wl, ws = weights.lexical, weights.semantic
    if not lex:
        wl, ws = 0.0, 1.0
    elif not sem:
        wl, ws = 1.0, 0.0
    fused: dict[int, float] = {}
    for key in set(lex) | set(sem):
        fused[key] = wl * lex.get(key, 0.0) + ws * sem.get(key, 0.0)
    return fused


def boost(scores: Mapping[int, float], factor_of: Callable[[int], float]) -> dict[int, float]:
    """Each score multiplied by ``factor_of(id)``."""
    return {k: v * factor_of(k) for k, v in scores.items()}


def spread_to_neighbours(
    scores: Mapping[int, float], neighbours_of: Callable[[int], Iterable[int]], share: float
) -> dict[int, float]:
    """Pass ``share`` of each item's score to its neighbours (adjacent turns), added to theirs."""
    if share <= 0:
        return dict(scores)
    out = dict(scores)
    for key, value in scores.items():
        for other in neighbours_of(key):
            out[other] = out.get(other, 0.0) + share * value
    return out


def ranked(scores: Mapping[int, float], limit: int | None = None) -> list[tuple[int, float]]:
    """``(id, score)`` best first; ties broken by the newer (larger) id."""
    items = sorted(scores.items(), key=lambda kv: (-kv[1], -kv[0]))
    return items if limit is None else items[:limit]

