"""Merging near-duplicates: true duplicates merge with their provenance; near-but-different pairs are refused."""

from __future__ import annotations

import pytest

from core.consolidate.merge import merge_duplicates, rules_agree, texts_agree
from core.store.memories import Memory
from core.models.base import FakeChatModel


def obs(engine, text, ts="2026-05-02T10:00"):
    return engine.observations.add("chat", text, ts=ts)


def semantic(engine, name, summary, *sources):
    return engine.memories.add("semantic", {"name": name, "summary": summary}, sources=sources, actor="absorb")


def live_ids(engine):
    return {m.id for m in engine.memories.list(limit=1000, include_archived=True)}


def test_true_duplicates_merge_with_union_of_sources_and_history(engine):
    o1 = obs(engine, "Ada plays the cello in the city orchestra")
    o2 = obs(engine, "Ada plays the cello in the city orchestra.", ts="2026-05-03T10:00")
    a = semantic(engine, "Ada", "Ada plays the cello in the city orchestra", o1)
    b = semantic(engine, "Ada", "Ada plays the cello in the city orchestra.", o2)
    other = semantic(engine, "Bo", "Bo collects stamps", o1)

    report = merge_duplicates(engine.memories, threshold=0.9)

    assert report.merged == 1
    (survivor_id, absorbed_id), = report.pairs
    assert {survivor_id, absorbed_id} == {a.id, b.id}
    assert live_ids(engine) == {survivor_id, other.id}
    survivor = engine.memories.get(survivor_id)
    assert survivor.sources == sorted([o1, o2])
    actions = [(h["action"], h["reason"]) for h in engine.memories.history(survivor_id)]
    assert actions[-1][0] == "MERGE" and f"#{absorbed_id}" in actions[-1][1]
    gone = engine.memories.history(absorbed_id)
    assert gone[-1]["action"] == "DELETE" and gone[-1]["reason"] == f"merged into #{survivor_id}"
    assert gone[-1]["old_value"]["summary"]  # the absorbed text stays in the history
    assert [r.id for r in engine.memories.search("cello")] == [survivor_id]


def test_exact_duplicate_with_same_sources_still_records_the_merge(engine):
    o1 = obs(engine, "Ada plays the cello")
    a = semantic(engine, "Ada", "Ada plays the cello", o1)
    b = semantic(engine, "Ada", "Ada plays the cello", o1)
    report = merge_duplicates(engine.memories, threshold=0.9)
    assert report.merged == 1
    survivor = report.pairs[0][0]
    assert engine.memories.history(survivor)[-1]["action"] == "MERGE"
    assert live_ids(engine) == {survivor} and survivor in (a.id, b.id)


def test_episodes_merge_when_their_times_overlap_and_span_the_union(engine):
    o1 = obs(engine, "budget", ts="2026-05-02T10:00")
    first = engine.memories.add("episodic", {"occurred_at": "2026-05-02T10:00", "occurred_until": "2026-05-02T10:30",
                                             "event_type": "activity", "summary": "Edited budget.ods in LibreOffice Calc"}, sources=[o1], actor="absorb")
    second = engine.memories.add("episodic", {"occurred_at": "2026-05-02T10:20", "occurred_until": "2026-05-02T10:50",
                                              "event_type": "activity", "summary": "Edited budget.ods in LibreOffice Calc"}, sources=[o1], actor="absorb")
    later = engine.memories.add("episodic", {"occurred_at": "2026-05-03T10:00", "occurred_until": "2026-05-03T10:30",
                                             "event_type": "activity", "summary": "Edited budget.ods in LibreOffice Calc"}, sources=[o1], actor="absorb")
    report = merge_duplicates(engine.memories, threshold=0.3)
    assert report.merged == 1 and report.refused == {"different times": 1}
    survivor = engine.memories.get(report.pairs[0][0])
    assert {survivor.id} | {later.id} == live_ids(engine)
    assert survivor.fields["occurred_at"] == first.fields["occurred_at"]
    assert survivor.fields["occurred_until"] == second.fields["occurred_until"]


NEAR_BUT_DIFFERENT = [
    ("Team dinner on 2 May at Luigi's", "Team dinner on 3 May at Luigi's", "different numbers"),
    ("Team dinner on 2 May at Luigi's", "Team dinner on 2 June at Luigi's", "different dates"),
    ("The rent is 950 euros a month", "The rent is 1050 euros a month", "different numbers"),
    ("Ana likes oat milk in her coffee", "Ana does not like oat milk in her coffee", "one is negated"),
    ("Ana likes oat milk in her coffee", "Ana dislikes oat milk in her coffee", "different polarity"),
    ("Ana moved to Paris with her sister", "Ana moved to Berlin with her sister", "different names"),
    ("Ana moved to Paris with her sister", "Ana moved to Paris with her husband", "different words"),
]


@pytest.mark.parametrize("text_a, text_b, reason", NEAR_BUT_DIFFERENT)
def test_rules_refuse_near_but_different_statements(text_a, text_b, reason):
    verdict = texts_agree(text_a, text_b)
    assert not verdict.ok and verdict.reason == reason


@pytest.mark.parametrize("text_a, text_b, reason", NEAR_BUT_DIFFERENT)
def test_a_pass_refuses_near_but_different_pairs_even_when_similar(engine, text_a, text_b, reason):
    source = obs(engine, f"{text_a}. {text_b}")
    semantic(engine, "Ana", text_a, source)
    semantic(engine, "Ana", text_b, source)
    report = merge_duplicates(engine.memories, threshold=0.3)  # let every pair through to the rules
    assert report.merged == 0
    assert report.refused == {reason: 1}
    assert len(live_ids(engine)) == 2


def test_key_fields_must_agree():
    def make(memory_id, memory_type, **fields):
        return Memory(id=memory_id, type=memory_type, fields=fields, created_at=0, updated_at=0)

    assert not rules_agree(make(1, "semantic", name="Ada", summary="plays cello"), make(2, "semantic", name="Ada L", summary="plays cello")).ok
    assert not rules_agree(make(1, "resource", title="Budget", location="/a/budget.ods"),
                           make(2, "resource", title="Budget", location="/b/budget.ods")).ok
    assert not rules_agree(make(1, "knowledge_vault", entry_type="email", caption="Ada's e-mail", secret_value="a@x.org"),
                           make(2, "knowledge_vault", entry_type="email", caption="Ada's e-mail", secret_value="a@y.org")).ok
    assert rules_agree(make(1, "semantic", name="Ada", summary="Ada plays the cello"), make(2, "semantic", name="ada", summary="Ada plays the cello.")).ok


def test_the_model_can_refuse_but_not_force_a_merge(engine):
    source = obs(engine, "Ada plays the cello. Ada plays the cello!")
    semantic(engine, "Ada", "Ada plays the cello", source)
    semantic(engine, "Ada", "Ada plays the cello!", source)
    semantic(engine, "Bo", "Bo lives in Paris", source)
    semantic(engine, "Bo", "Bo lives in Rome", source)  # refused by the rules before the model is asked
    model = FakeChatModel([{"same": False}])
    report = merge_duplicates(engine.memories, threshold=0.3, chat_model=model)
    assert report.merged == 0 and report.model_refused == 1 and len(model.calls) == 1
    assert "Ada plays the cello" in model.calls[0]["messages"][1]["content"]

    model = FakeChatModel([{"same": True}])
    report = merge_duplicates(engine.memories, threshold=0.3, chat_model=model)
    assert report.merged == 1 and len(model.calls) == 1


def test_a_model_error_means_no_merge(engine):
    from core.errors import ModelError

    source = obs(engine, "Ada plays the cello")
    semantic(engine, "Ada", "Ada plays the cello", source)
    semantic(engine, "Ada", "Ada plays the cello.", source)
    report = merge_duplicates(engine.memories, threshold=0.9, chat_model=FakeChatModel([ModelError("boom", fix="none")]))
    assert report.merged == 0 and report.model_refused == 1


def test_links_to_the_absorbed_memory_move_to_the_survivor(engine):
    source = obs(engine, "Ada plays the cello")
    a = semantic(engine, "Ada", "Ada plays the cello", source)
    b = semantic(engine, "Ada", "Ada plays the cello.", source)
    parent = semantic(engine, "Music", "Who plays what", source)
    for child in (a.id, b.id):
        engine.store.db.execute("INSERT INTO memory_links(parent_id, child_id, kind) VALUES (?, ?, 'digest')", [parent.id, child])
    report = merge_duplicates(engine.memories, threshold=0.9, types=("semantic",))
    survivor, absorbed = report.pairs[0]
    links = engine.store.db.query("SELECT parent_id, child_id FROM memory_links ORDER BY child_id")
    assert links == [{"parent_id": parent.id, "child_id": survivor}]


def test_pinned_memory_survives_and_recall_counts_add_up(engine):
    source = obs(engine, "Ada plays the cello")
    a = semantic(engine, "Ada", "Ada plays the cello with great joy", source)
    b = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello", "pinned": True}, sources=[source])
    engine.memories.touch([a.id])
    engine.memories.touch([a.id, b.id])
    report = merge_duplicates(engine.memories, threshold=0.5, types=("semantic",))
    assert report.pairs == [(b.id, a.id)]
    survivor = engine.memories.get(b.id)
    assert survivor.pinned and survivor.access_count == 3


def test_light_pass_looks_only_at_memories_changed_since_the_last_light_pass(paths, fake_embedder):
    from core.engine import Engine

    now = [1_800_000_000.0]
    with Engine(paths, embedder=fake_embedder, clock=lambda: now[0]) as engine:
        source = obs(engine, "Ada plays the cello")
        semantic(engine, "Ada", "Ada plays the cello", source)
        consolidator = engine.make_consolidator(use_model=False)
        now[0] += 60
        assert consolidator.light_pass()["merge"]["merged"] == 0
        now[0] += 3600
        newer = semantic(engine, "Ada", "Ada plays the cello.", source)
        now[0] += 60
        report = consolidator.light_pass()
        assert report["merge"]["merged"] == 1 and newer.id in report["merge"]["pairs"][0]
        now[0] += 3600
        assert consolidator.light_pass()["merge"]["candidates"] == 0


def test_alike_events_on_many_days_keep_their_nearest_in_time_as_merge_candidates():
    import numpy as np

    from core.consolidate.merge import MAX_NEIGHBOURS, candidate_pairs

    # The same rehearsal on twelve days embeds alike (an event's vector leaves its day out); the copy made the
    # same day is the pair to look at, however many other days there are.
    days = MAX_NEIGHBOURS + 4
    ids = np.arange(1, 2 * days + 1, dtype=np.int64)
    vectors = np.ones((len(ids), 4), dtype=np.float32) / 2.0
    times = np.array([day * 86400.0 + copy * 600.0 for day in range(days) for copy in range(2)])
    pairs = {(a, b) for _s, a, b in candidate_pairs(ids, vectors, 0.9, times=times)}
    assert all((2 * d + 1, 2 * d + 2) in pairs for d in range(days))
    # Without the times the cut among equal likeness is arbitrary and misses some same-day copies.
    blind = {(a, b) for _s, a, b in candidate_pairs(ids, vectors, 0.9)}
    assert not all((2 * d + 1, 2 * d + 2) in blind for d in range(days))
