"""The forgetting curve against a table, archiving and restoring, and retention of raw data."""

from __future__ import annotations


import pytest

from core.consolidate.forgetting import archive_faded, restore, retention, strength

DAY = 86_400.0


@pytest.fixture
def engine(clocked_engine):
    return clocked_engine


# Δt days, recalls, importance -> R, with strength_days = 30 (the default).
RETENTION_TABLE = [
    (0, 0, 0.5, 1.0),
    (30, 0, 0.5, 0.367879),  # e^-1
    (90, 0, 0.5, 0.049787),  # e^-3: just under the default threshold of 0.05
    (30, 1, 0.5, 0.606531),  # one recall doubles S
    (60, 0, 1.0, 0.263597),  # S = 45
    (10, 0, 0.0, 0.513417),  # S = 15
    (365, 3, 0.5, 0.047755),  # S = 120
    (7, 0, 0.2, 0.716531),  # S = 21
]


@pytest.mark.parametrize("days, recalls, importance, expected", RETENTION_TABLE)
def test_retention_matches_the_table(days, recalls, importance, expected):
    assert retention(days, recalls, importance) == pytest.approx(expected, abs=1e-6)


def test_strength_grows_with_recalls_and_importance():
    assert strength(0, 0.5, 30) == 30
    assert strength(4, 0.5, 30) == 150
    assert strength(0, 1.0, 30) == 45
    assert retention(-5, 0, 0.5) == 1.0  # a clock that went back never makes a memory stronger than new


def add(engine, summary, **extra):
    return engine.memories.add("semantic", {"name": summary.split()[0], "summary": summary, **extra})


def test_faded_memories_are_archived_not_deleted_and_the_rest_are_spared(engine, clock):
    stale = add(engine, "Stale fact about the old printer")
    recalled = add(engine, "Recalled fact about the new printer")
    pinned = add(engine, "Pinned fact about the router", pinned=True)
    important = add(engine, "Important fact about the server", importance=1.0)
    core = engine.memories.add("core", {"label": "human", "value": "The user is called Ada"})
    vault = engine.memories.add("knowledge_vault", {"entry_type": "iban", "caption": "Ada's IBAN", "secret_value": "DE89370400440532013000"})
    clock.now += 80 * DAY
    engine.memories.touch([recalled.id])
    clock.now += 20 * DAY  # 100 days after creation; 20 after the recall

    report = archive_faded(engine.memories, now=clock(), threshold=0.05, strength_days=30)

    assert report.archived == 1
    archived = {m.id for m in engine.memories.list(include_archived=True, limit=100) if m.archived}
    assert archived == {stale.id}
    assert engine.memories.count() == 6  # nothing deleted
    assert engine.memories.get(stale.id).importance == 0.5  # importance is the base of the curve, never rewritten
    assert engine.memories.history(stale.id)[-1]["action"] == "ARCHIVE"
    assert {pinned.id, important.id, core.id, vault.id, recalled.id}.isdisjoint(archived)
    assert stale.id not in [r.id for r in engine.memories.search("old printer")]
    assert stale.id in [r.id for r in engine.memories.search("old printer", include_archived=True)]
    again = archive_faded(engine.memories, now=clock(), threshold=0.05, strength_days=30)
    assert again.archived == 0


def test_restore_brings_a_memory_back_and_counts_as_a_recall(engine, clock):
    stale = add(engine, "Stale fact about the old printer")
    clock.now += 200 * DAY
    engine.make_consolidator(use_model=False).deep_pass()
    assert engine.memories.get(stale.id).archived
    restored = restore(engine.memories, stale.id)
    assert not restored.archived and restored.access_count == 1 and restored.last_accessed_at == clock()
    assert engine.memories.history(stale.id)[-1]["action"] == "RESTORE"
    assert stale.id in [r.id for r in engine.memories.search("old printer")]
    clock.now += 1 * DAY
    assert engine.make_consolidator(use_model=False).deep_pass()["decay"]["archived"] == 0


def test_archive_threshold_setting_is_used(engine, clock):
    add(engine, "Some fact about the garden")
    clock.now += 30 * DAY  # R = 0.37
    engine.settings.set("consolidation.archive_threshold", 0.5)
    assert engine.make_consolidator(use_model=False).deep_pass()["decay"]["archived"] == 1


# -- raw data ---------------------------------------------------------------------------------


def test_thumbnails_and_absorbed_screen_text_expire(engine, clock):
    old = clock() - 400 * DAY
    old_screen = engine.observations.add("screen", "quarterly numbers spreadsheet", ts=old, thumbnail=b"webp-old")
    old_unabsorbed = engine.observations.add("screen", "unabsorbed spreadsheet draft", ts=old)
    old_chat = engine.observations.add("chat", "quarterly numbers are fine", ts=old)
    recent = engine.observations.add("screen", "recent spreadsheet", ts=clock() - 2 * DAY, thumbnail=b"webp-new")
    engine.observations.mark_absorbed([old_screen, old_chat, recent])
    engine.indexer.index_pending()
    assert engine.store.db.scalar("SELECT count(*) FROM observation_vectors WHERE id = ?", [old_screen]) == 1
    memory = engine.memories.add("semantic", {"name": "Numbers", "summary": "quarterly numbers"}, sources=[old_screen])

    report = engine.make_consolidator(use_model=False).light_pass()["retention"]

    assert report == {"thumbnails_purged": 1, "texts_purged": 1}
    purged = engine.observations.get(old_screen)
    assert purged.text == "" and purged.text_purged
    assert engine.observations.thumbnail(old_screen) is None and engine.observations.thumbnail(recent) == b"webp-new"
    assert engine.observations.get(old_unabsorbed).text and engine.observations.get(old_chat).text
    assert not engine.store.db.scalar("SELECT count(*) FROM observation_fts WHERE rowid = ?", [old_screen])
    assert not engine.store.db.scalar("SELECT count(*) FROM observation_vectors WHERE id = ?", [old_screen])
    assert old_screen not in [h.observation.id for h in engine.observations.search("quarterly numbers spreadsheet")]
    assert engine.memories.get(memory.id).sources == [old_screen]  # provenance survives the text
    assert engine.indexer.pending_count() == 0  # the purged row is not queued for embedding
    assert engine.make_consolidator(use_model=False).light_pass()["retention"] == {"thumbnails_purged": 0, "texts_purged": 0}
