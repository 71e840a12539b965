"""Recall.retrieve on a small store: context, speakers, time, memories and core memory."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.ranking import RecallWeights
from core.store.context_index import CONTEXT_TABLE, rebuild_context_index, sync_context_index

DAY = 86400.0
T0 = datetime(2023, 5, 8, 10, 0).timestamp()


def _chat(engine, turns, conversation, start):
    ids = []
    for i, (role, text) in enumerate(turns):
        ids.append(engine.observations.add("chat", text, ts=start + i, role=role, conversation=conversation, source_ref=f"D{i}"))
    return ids


@pytest.fixture
def store(engine):
    morning = _chat(
        engine,
        [
            ("Alice", "Guess what, I adopted a puppy!"),
            ("Bob", "No way! What breed is it?"),
            ("Alice", "A beagle, she is called Biscuit."),
            ("Bob", "I went kayaking on the river yesterday."),
        ],
        "s1",
        T0,
    )
    later = _chat(
        engine,
        [
            ("Bob", "My sister started a pottery class."),
            ("Alice", "Pottery is relaxing, I tried a pottery class too."),
        ],
        "s2",
        T0 + 40 * DAY,
    )
    engine.indexer.index_pending()
    return engine, morning, later


def test_context_index_gives_each_turn_its_neighbours(store):
    engine, morning, _ = store
    recall = engine.recall
    recall.sync()
    row = engine.store.db.query_one(f"SELECT body, context FROM {CONTEXT_TABLE} WHERE rowid = ?", [morning[1]])
    assert row["body"] == "Bob: No way! What breed is it?"
    assert "Alice: Guess what, I adopted a puppy!" in row["context"]
    assert "Alice: A beagle, she is called Biscuit." in row["context"]
    # a turn added later refreshes its predecessor's context
    newest = engine.observations.add("chat", "Biscuit chewed my shoes", ts=T0 + 10, role="Alice", conversation="s1")
    assert sync_context_index(engine.store.db) == 2
    row = engine.store.db.query_one(f"SELECT context FROM {CONTEXT_TABLE} WHERE rowid = ?", [morning[3]])
    assert "Biscuit chewed my shoes" in row["context"]
    assert sync_context_index(engine.store.db) == 0
    assert rebuild_context_index(engine.store.db) == 7
    assert newest


def test_an_answer_turn_is_found_through_its_question_turn(store):
    engine, morning, _ = store
    # "breed" is only in Bob's question; the answer (a beagle) is the next turn.
    lexical_only = engine.make_recall(RecallWeights(lexical=1.0, semantic=0.0))
    hits = lexical_only.retrieve("What breed is the puppy?", limit=3, include_memories=False).hits
    assert morning[2] in [h.id for h in hits]
    assert hits[0].source == "observation" and hits[0].refs() == []  # source_ref "D1" is not a dia id of the form D1:2


def test_named_speaker_is_preferred(engine):
    alice, bob = _chat(
        engine,
        [("Alice", "Bob told me pottery, pottery and more pottery is fun"), ("Bob", "Pottery is nice")],
        "s9",
        T0,
    )
    question = "Does Bob like pottery?"
    plain = engine.make_recall(RecallWeights(lexical=1.0, semantic=0.0, context=0.0, speaker=1.0))
    boosted = engine.make_recall(RecallWeights(lexical=1.0, semantic=0.0, context=0.0, speaker=1.6))
    # Alice's turn says "pottery" more often, so plain BM25 prefers it...
    assert [h.id for h in plain.retrieve(question, limit=2, include_memories=False).hits] == [alice, bob]
    # ...but the question asks about Bob, who said it himself.
    assert [h.id for h in boosted.retrieve(question, limit=2, include_memories=False).hits] == [bob, alice]


def test_time_phrase_boosts_items_in_range(store):
    engine, morning, later = store
    now = datetime.fromtimestamp(T0 + 45 * DAY)
    timeless = engine.make_recall(RecallWeights(lexical=1.0, semantic=0.0, context=0.0, speaker=1.0, time_match=0.0))
    timed = engine.make_recall(RecallWeights(lexical=1.0, semantic=0.0, context=0.0, speaker=1.0, time_match=2.0, time_slack_days=0))
    # Without time, the pottery turn (said in June) wins on words...
    assert timeless.retrieve("pottery or kayaking in May 2023", now=now, limit=1, include_memories=False).hits[0].id == later[1]
    # ...the May range lifts the kayaking turn, dated 8 May, and a June range keeps pottery first.
    result = timed.retrieve("pottery or kayaking in May 2023", now=now, limit=1, include_memories=False)
    assert result.plan.time_range is not None
    assert result.hits[0].id == morning[3]
    assert timed.retrieve("pottery or kayaking in June 2023", now=now, limit=1, include_memories=False).hits[0].id == later[1]


def test_memories_and_core_memory_are_part_of_the_result(store):
    engine, _, _ = store
    engine.memories.add("core", {"label": "user", "value": "The user is Alice, a dog lover."})
    engine.memories.add("semantic", {"name": "Biscuit", "summary": "Alice's beagle puppy"})
    result = engine.recall.retrieve("Who is Biscuit?", limit=5, with_neighbours=True)
    assert [m.type for m in result.core] == ["core"]
    assert result.hits[0].source == "memory" and result.hits[0].kind == "semantic"
    chat_hits = [h for h in result.hits if h.source == "observation"]
    assert chat_hits and all(h.neighbours for h in chat_hits)
    assert result.plan.types[0] == "semantic"
    assert set(result.timings_ms) >= {"plan", "embed", "rank", "total"}


def test_forgotten_observations_leave_recall(store):
    engine, morning, _ = store
    recall = engine.make_recall(RecallWeights(lexical=1.0, semantic=0.0))
    assert morning[3] in [h.id for h in recall.retrieve("kayaking river", limit=3, include_memories=False).hits]
    engine.observations.forget([morning[3]])
    assert morning[3] not in [h.id for h in recall.retrieve("kayaking river", limit=3, include_memories=False).hits]
    assert engine.store.db.scalar(f"SELECT count(*) FROM {CONTEXT_TABLE} WHERE rowid = ?", [morning[3]]) == 0


def test_forgetting_reaches_every_process_and_the_neighbours_context(store, paths, fake_embedder):
    from core.engine import Engine

    engine, morning, _ = store
    engine.recall.sync()
    # Another process (a second engine on the same store) forgets the turn.
    with Engine(paths, embedder=fake_embedder, chat_model=None) as other:
        other.observations.forget([morning[2]])  # "A beagle, she is called Biscuit."
    hits = engine.make_recall(RecallWeights(lexical=1.0, semantic=0.0)).retrieve("beagle Biscuit", limit=5, include_memories=False).hits
    assert all("beagle" not in h.text.lower() for h in hits)
    rows = engine.store.db.query(f"SELECT body, context FROM {CONTEXT_TABLE}")
    assert rows and not any("beagle" in (r["body"] + r["context"]).lower() for r in rows)
    # the turns on either side now quote each other
    row = engine.store.db.query_one(f"SELECT context FROM {CONTEXT_TABLE} WHERE rowid = ?", [morning[1]])
    assert "kayaking" in row["context"]


def test_baselines_return_observation_ids(store):
    engine, morning, _ = store
    recall = engine.recall
    assert recall.bm25_only("kayaking", 3) == [morning[3]]
    assert len(recall.dense_only("kayaking on the river", 3)) == 3
