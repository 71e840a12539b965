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


def test_thumbnails_and_absorbed_screen_text_expire(engine, clock, paths, fake_embedder):
    from core.engine import Engine
    from core.store.context_index import CONTEXT_TABLE

    old = clock() - 400 * DAY
    old_screen = engine.observations.add("screen", "quarterly numbers spreadsheet", ts=old, thumbnail=b"webp-old")
    # Screen text grouped as a conversation (a chat window read from the screen) is also in recall's index.
    old_window = engine.observations.add("screen", "walrus budget figures", ts=old, conversation="screen:team-chat")
    later_window = engine.observations.add("screen", "lunch plans", ts=clock() - 2 * DAY, conversation="screen:team-chat")
    old_unabsorbed = engine.observations.add("screen", "unabsorbed spreadsheet draft", ts=old)
    old_chat = engine.observations.add("chat", "quarterly numbers are fine", ts=old)
    recent = engine.observations.add("screen", "recent spreadsheet", ts=clock() - 2 * DAY, thumbnail=b"webp-new")
    engine.observations.mark_absorbed([old_screen, old_chat, recent, old_window, later_window])
    engine.indexer.index_pending()
    assert engine.store.db.scalar("SELECT count(*) FROM observation_vectors WHERE id = ?", [old_screen]) == 1
    memory = engine.memories.add("semantic", {"name": "Numbers", "summary": "quarterly numbers"}, sources=[old_screen])
    # Before the purge, every road finds the old text: recall's index, recall, quick recall.
    engine.recall.sync()
    assert engine.store.db.scalar(f"SELECT count(*) FROM {CONTEXT_TABLE} WHERE rowid = ?", [old_window]) == 1
    assert "walrus" in engine.store.db.scalar(f"SELECT context FROM {CONTEXT_TABLE} WHERE rowid = ?", [later_window])
    assert {old_screen, old_window} <= found_by_recall(engine, "quarterly numbers spreadsheet", "walrus budget figures")
    assert {old_screen, old_window} <= found_by_quick_recall(engine, "quarterly spreadsheet", "walrus budget")

    report = engine.make_consolidator(use_model=False).light_pass()["retention"]

    assert report == {"thumbnails_purged": 1, "texts_purged": 2}
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
    # Recall's index is pruned in the database, so another process (a new engine on the same store) never finds it.
    with Engine(paths, embedder=fake_embedder, chat_model=None, clock=clock) as other:
        db = other.store.db
        assert db.scalar(f"SELECT count(*) FROM {CONTEXT_TABLE} WHERE rowid IN (?, ?)", [old_screen, old_window]) == 0
        rows = db.query(f"SELECT body, context FROM {CONTEXT_TABLE}")
        assert rows and not any("walrus" in (r["body"] + r["context"]).lower() for r in rows)  # nor a neighbour's context
        assert "lunch plans" in db.scalar(f"SELECT body FROM {CONTEXT_TABLE} WHERE rowid = ?", [later_window])
        for eng in (other, engine):
            assert not {old_screen, old_window} & found_by_recall(eng, "quarterly numbers spreadsheet", "walrus budget figures")
            assert not {old_screen, old_window} & found_by_quick_recall(eng, "quarterly spreadsheet", "walrus budget")
            assert later_window in found_by_recall(eng, "lunch plans")  # the neighbour is still found


def found_by_recall(engine, *queries):
    """Observation ids ``engine.recall.retrieve`` returns for any of ``queries``."""
    return {
        h.id
        for q in queries
        for h in engine.recall.retrieve(q, limit=10, include_memories=False).hits
        if h.source == "observation"
    }


def found_by_quick_recall(engine, *queries):
    return {r["id"] for q in queries for r in engine.quick_recall(q) if r["kind"] == "observation"}
