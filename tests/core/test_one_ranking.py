"""One ranking: ``engram search`` and recall fuse the same way, with the same stemmer the index uses."""

from __future__ import annotations

from core import ranking
from core.store import search


def test_search_fuses_with_the_ranking_recall_uses():
    lexical = [(1, 9.0), (2, 3.0), (3, 1.0)]
    semantic = [(2, 0.8), (3, 0.5), (4, 0.3)]
    hits = search.fuse(lexical, semantic)
    expected = ranking.ranked(ranking.fuse_scores(dict(lexical), dict(semantic), ranking.DEFAULT_WEIGHTS))
    assert [(h.id, round(h.score, 9)) for h in hits] == [(k, round(v, 9)) for k, v in expected if v > 0]


def test_the_stemmer_matches_what_fts5_indexes(engine):
    engine.memories.add("semantic", {"name": "Atlas", "summary": "generalization of running shoes"})
    for word in ("generalization", "running", "shoes", "atlas"):
        stemmed = ranking.stem(word)
        assert search.document_frequencies(engine.store.db, search.MEMORY_INDEX, [word])[word] >= 1, stemmed
