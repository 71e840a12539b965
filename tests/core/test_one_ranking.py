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


FACTS = [
    "Ada plays the cello in the Porto orchestra", "Ada's cello teacher lives in Braga", "The orchestra rehearses on Thursdays",
    "Sam bought a new bicycle in Lisbon", "The bicycle shop in Lisbon closes at six", "Porto has the best custard tarts",
    "Sam's sister Ada moved to Porto", "The cello needs new strings before the concert",
    "Thursday concert tickets cost ten euros", "Lisbon trams are slow on Sundays",
]
QUERIES = ["cello orchestra", "bicycle Lisbon", "Porto", "concert tickets Thursday", "Ada cello teacher"]


def what_ask_retrieved(engine, monkeypatch, question):
    """The hits ``engram ask`` ranked for ``question`` (its retrieval, seen through the engine)."""
    seen = []
    real = engine.recall.retrieve

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(engine.recall, "retrieve", spy)
    engine.ask(question)
    monkeypatch.undo()
    assert len(seen) == 1
    return seen[0]


def test_search_and_ask_rank_the_same_memories_in_the_same_order(engine, monkeypatch):
    """Memories of one type and importance, questions without names or dates: ``engram search`` and ``ask``'s
    retrieval fuse the same way, so they agree; ask also lists the memories that match nothing (at the end)."""
    for i, fact in enumerate(FACTS):
        engine.memories.add("semantic", {"name": f"fact {i}", "summary": fact})
    engine.indexer.index_pending()
    for query in QUERIES:
        searched = [hit.id for hit in engine.memories.search(query, limit=len(FACTS))]
        asked = [hit.id for hit in what_ask_retrieved(engine, monkeypatch, query).hits if hit.source == "memory"]
        assert len(searched) >= 3, query
        assert asked[: len(searched)] == searched, query


def test_ask_ranks_by_what_the_question_asks_for_and_search_does_not(engine, monkeypatch):
    """How they differ (README, How search works): ask adds a memory's importance and takes core memory as context,
    not as a hit; search ranks by the match alone."""
    engine.memories.add("core", {"label": "human", "value": "Sam restrings the cello"})
    weighty = engine.memories.add("semantic", {"name": "Cello", "summary": "The cello needs new strings", "importance": 1.0})
    plain = engine.memories.add("semantic", {"name": "Cello", "summary": "The cello needs new strings"})
    engine.indexer.index_pending()
    searched = [h for h in engine.memories.search("cello strings", limit=5) if h.memory.type == "semantic"]
    assert [h.id for h in searched] == [plain.id, weighty.id] and searched[0].score == searched[1].score  # a tie
    result = what_ask_retrieved(engine, monkeypatch, "cello strings")
    asked = [h for h in result.hits if h.source == "memory"]
    assert [h.id for h in asked] == [weighty.id, plain.id] and asked[0].score > asked[1].score  # importance counts
    assert [m.type for m in result.core] == ["core"] and "core" in [h.memory.type for h in engine.memories.search("restrings")]
