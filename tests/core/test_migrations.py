"""Migrations: every table comes from a migration, and a store made by release 0.1.0 upgrades to head intact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.engine import Engine
from core.models.base import FakeEmbedder
from core.paths import Paths
from core.store.migrations import migrations

RELEASE_0_1_0 = Path(__file__).resolve().parents[1] / "data" / "release-0.1.0"

# Every table of the head schema (FTS5 shadow tables aside); a table made outside a migration fails this.
HEAD_TABLES = {
    "meta", "memories", "memory_core", "memory_episodic", "memory_semantic", "memory_procedural", "memory_resource",
    "memory_knowledge_vault", "observations", "observation_thumbnails", "memory_sources", "memory_history",
    "memory_fts", "observation_fts", "job_runs", "absorb_batches", "absorb_rejections", "absorb_llm_pending",
    "memory_links", "consolidation_keys", "memory_vectors", "memory_vectors_codes", "observation_vectors",
    "observation_vectors_codes", "recall_fts", "assistant_chat", "_sqlite_migrations",
}


def _tables(db) -> set[str]:
    rows = db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    shadow = ("_data", "_idx", "_content", "_docsize", "_config")
    return {r["name"] for r in rows if not (r["name"].endswith(shadow) and "_fts" in r["name"]) and not r["name"].startswith("sqlite_")}


def test_migrations_alone_make_every_table(paths):
    from core.store.db import Database
    from core.store.migrations import apply_migrations

    db = Database.open(paths.db_path, "ab" * 32)
    try:
        apply_migrations(db, paths.backups_dir)
        assert _tables(db) == HEAD_TABLES
    finally:
        db.close()


def test_using_the_store_makes_no_table_beyond_the_migrations(engine):
    engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is my sister"})
    engine.observations.add("chat", "I fly to Lisbon on 12 June", role="user", conversation="trip")
    engine.indexer.index_pending()
    engine.recall.retrieve("when do I fly to Lisbon")
    engine.quick_recall("lisb")
    assert _tables(engine.store.db) == HEAD_TABLES


@pytest.fixture
def release_home(tmp_path, monkeypatch) -> Paths:
    home = tmp_path / "old"
    shutil.copytree(RELEASE_0_1_0, home)
    home.chmod(0o700)
    monkeypatch.setenv("ENGRAM_HOME", str(home))
    return Paths.from_env()


def test_a_release_0_1_0_store_upgrades_to_head_with_everything_kept(release_home):
    with Engine(release_home, embedder=FakeEmbedder(64), chat_model=None) as engine:
        assert engine.migrations_applied and engine.migrations_applied[0] == "m006_derived_indexes"
        assert [m.name for m in migrations.pending(engine.store.db.utils)] == []
        assert _tables(engine.store.db) == HEAD_TABLES
        assert engine.memories.counts() == {
            "core": 1, "episodic": 3, "semantic": 2, "procedural": 1, "resource": 2, "knowledge_vault": 1,
        }
        assert engine.observations.count() == 4
        vault = engine.memories.list("knowledge_vault")[0]
        assert vault.to_dict(reveal=True)["secret_value"] == "DE89370400440532013000"
        bruno = [m for m in engine.memories.list("semantic") if m.fields["name"] == "Bruno"][0]
        assert bruno.pinned and [h["action"] for h in engine.memories.history(bruno.id)] == ["ADD", "UPDATE"]
        # Vectors written by the old release still answer, without re-embedding.
        assert engine.indexer.pending_count() == 0
        hits = engine.memories.search("sister Porto", limit=3)
        assert hits and hits[0].memory.fields["name"] == "Ada"
        assert engine.memories.search("Porto", lexical=False, limit=3)
        # The old context index is kept and extended.
        engine.observations.add("chat", "Ada says the Porto flat is ready", role="user", conversation="trip")
        result = engine.recall.retrieve("Ada Porto flat", include_memories=False)
        assert any("flat is ready" in hit.text for hit in result.hits)
        assert engine.store.db.integrity_check() == "ok"
    backups = list(release_home.backups_dir.glob("engram-*-before-migration.engram-backup"))
    assert len(backups) == 1  # a verified backup of the old file was made before migrating
