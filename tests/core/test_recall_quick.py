"""Quick recall: prefix search across memories and observations without a model."""

from __future__ import annotations

from core.recall.quick import quick_recall, typed_match


def test_typed_match_requires_every_word_and_treats_the_last_as_a_prefix():
    match, complete, prefix = typed_match("Ada lisb")
    assert match == '"ada" AND "lisb"*'
    assert complete == ["ada"] and prefix == "lisb"
    # a finished word (trailing space) is not a prefix
    assert typed_match("ada lisbon ")[0] == '"ada" AND "lisbon"'
    # a one-letter last word is left out until it grows
    assert typed_match("ada l")[0] == '"ada"'
    assert typed_match("   ")[0] is None


def test_quick_recall_finds_memories_and_observations_by_prefix(engine):
    ada = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada lives in Lisbon near the harbour"})
    obs = engine.observations.add("chat", "We walked along the Lisbon harbour at sunset", role="user")
    engine.observations.add("chat", "Porto has good wine", role="user")

    hits = quick_recall(engine, "lisb")
    assert [(h.source, h.id) for h in hits] == [("memory", _id(ada)), ("observation", obs)]
    assert all("Lisbon" in h.snippet for h in hits)

    only_memory = quick_recall(engine, "ada lisb")
    assert [(h.source, h.id) for h in only_memory] == [("memory", _id(ada))]

    assert quick_recall(engine, "zzzz") == []
    assert quick_recall(engine, "") == []
    assert quick_recall(engine, "lisb", limit=1)[0].source == "memory"


def test_quick_recall_ignores_fts_syntax_in_typed_text(engine):
    engine.observations.add("chat", 'He said "NEAR" and AND OR', role="user")
    assert quick_recall(engine, 'near" OR (') is not None


def _id(memory) -> int:
    return memory if isinstance(memory, int) else memory.id
