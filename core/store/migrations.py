"""The database schema, as named sqlite-utils migrations.

Each migration runs in its own transaction and spells out its schema
literally, as it was on the day it was written: a migration never reads
today's code (the memory types, a tokenizer constant), so the history of the
schema cannot change under an old database.  Every table Engram keeps,
derived indexes included, is made here.  Before any pending migration is
applied to a database that already holds data, a verified backup is made (the
engine passes ``BackupService.before_migration``), so a failed or unwanted
upgrade can be undone with ``engram restore``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from sqlite_utils import Migrations

from core.store.db import Database

log = logging.getLogger(__name__)

migrations = Migrations("engram")


@migrations()
def m001_initial(db) -> None:
    conn = db.conn
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute(
        """
        CREATE TABLE memories (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            type TEXT NOT NULL CHECK (type IN ('core', 'episodic', 'semantic', 'procedural', 'resource', 'knowledge_vault')),
            ts REAL NOT NULL,
            search_text TEXT NOT NULL DEFAULT '',
            archived INTEGER NOT NULL DEFAULT 0,
            embedded_with TEXT
        )"""
    )
    conn.execute("CREATE INDEX memories_type_ts ON memories(type, ts)")
    conn.execute("CREATE INDEX memories_pending ON memories(id) WHERE embedded_with IS NULL")
    common = """
        id INTEGER PRIMARY KEY REFERENCES memories(id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        importance REAL NOT NULL DEFAULT 0.5,
        access_count INTEGER NOT NULL DEFAULT 0,
        last_accessed_at REAL,
        pinned INTEGER NOT NULL DEFAULT 0
    """
    conn.execute(
        f"CREATE TABLE memory_core ({common}, label TEXT NOT NULL, value TEXT NOT NULL, char_limit INTEGER NOT NULL DEFAULT 2000)"
    )
    conn.execute("CREATE UNIQUE INDEX memory_core_label ON memory_core(label)")
    conn.execute(
        f"""CREATE TABLE memory_episodic ({common}, occurred_at REAL NOT NULL, occurred_until REAL,
            actor TEXT, event_type TEXT, summary TEXT NOT NULL, details TEXT)"""
    )
    conn.execute("CREATE INDEX memory_episodic_time ON memory_episodic(occurred_at)")
    conn.execute(f"CREATE TABLE memory_semantic ({common}, name TEXT NOT NULL, summary TEXT NOT NULL, details TEXT)")
    conn.execute(
        f"""CREATE TABLE memory_procedural ({common},
            entry_type TEXT NOT NULL DEFAULT 'guide' CHECK (entry_type IN ('workflow', 'guide', 'script')),
            summary TEXT NOT NULL, steps TEXT NOT NULL DEFAULT '[]')"""
    )
    conn.execute(
        f"""CREATE TABLE memory_resource ({common}, title TEXT NOT NULL, resource_type TEXT NOT NULL DEFAULT 'document',
            location TEXT, summary TEXT, content_excerpt TEXT)"""
    )
    conn.execute(
        f"""CREATE TABLE memory_knowledge_vault ({common}, entry_type TEXT NOT NULL, caption TEXT NOT NULL,
            secret_value TEXT NOT NULL,
            sensitivity TEXT NOT NULL DEFAULT 'medium' CHECK (sensitivity IN ('low', 'medium', 'high')),
            source TEXT)"""
    )
    conn.execute(
        """
        CREATE TABLE observations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('screen', 'chat', 'import')),
            ts REAL NOT NULL,
            app TEXT,
            window_title TEXT,
            url TEXT,
            text TEXT NOT NULL DEFAULT '',
            monitor INTEGER,
            changed_fraction REAL,
            ocr_ms REAL,
            conversation TEXT,
            role TEXT,
            source_ref TEXT,
            meta TEXT,
            content_hash TEXT,
            absorbed_at REAL,
            batch_id INTEGER,
            embedded_with TEXT,
            text_purged INTEGER NOT NULL DEFAULT 0
        )"""
    )
    conn.execute("CREATE INDEX observations_ts ON observations(ts)")
    conn.execute("CREATE INDEX observations_unabsorbed ON observations(ts) WHERE absorbed_at IS NULL")
    conn.execute("CREATE INDEX observations_pending ON observations(id) WHERE embedded_with IS NULL")
    conn.execute("CREATE UNIQUE INDEX observations_hash ON observations(content_hash) WHERE content_hash IS NOT NULL")
    conn.execute("CREATE INDEX observations_conversation ON observations(conversation, ts)")
    conn.execute(
        """CREATE TABLE observation_thumbnails (
            observation_id INTEGER PRIMARY KEY REFERENCES observations(id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            webp BLOB NOT NULL)"""
    )
    conn.execute("CREATE INDEX observation_thumbnails_ts ON observation_thumbnails(ts)")
    conn.execute(
        """CREATE TABLE memory_sources (
            memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            observation_id INTEGER NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
            PRIMARY KEY (memory_id, observation_id)) WITHOUT ROWID"""
    )
    conn.execute("CREATE INDEX memory_sources_observation ON memory_sources(observation_id)")
    conn.execute(
        """CREATE TABLE memory_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            memory_id INTEGER NOT NULL,
            memory_type TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('ADD', 'UPDATE', 'DELETE', 'ARCHIVE', 'RESTORE', 'MERGE')),
            old_value TEXT,
            new_value TEXT,
            at REAL NOT NULL,
            actor TEXT NOT NULL DEFAULT 'user',
            reason TEXT)"""
    )
    conn.execute("CREATE INDEX memory_history_memory ON memory_history(memory_id, at)")
    conn.execute(
        "CREATE VIRTUAL TABLE memory_fts USING fts5(search_text, tokenize='porter unicode61 remove_diacritics 2', "
        "prefix='2 3 4')"
    )
    conn.execute(
        "CREATE VIRTUAL TABLE observation_fts USING fts5(text, app, window_title, "
        "tokenize='porter unicode61 remove_diacritics 2', prefix='2 3 4')"
    )


def pending_migrations(db: Database) -> list[str]:
    """Names of the migrations this database still needs (a read)."""
    with db.lock:
        return [m.name for m in migrations.pending(db.utils)]


def newest_applied(db: Database) -> str | None:
    """The name of the last migration applied to this database: its schema's name."""
    with db.lock:
        applied = migrations.applied(db.utils)
    return applied[-1].name if applied else None


def known_migrations() -> list[str]:
    """The names of every migration this Engram knows, in order (a backup naming another is from a newer Engram)."""
    return [m.name for m in migrations._migrations]


def apply_migrations(db: Database, backup: Callable[[Sequence[str]], Any]) -> list[str]:
    """Apply pending migrations; an existing database is backed up first with ``backup(pending)``.

    Returns the names applied.  If the backup fails, nothing is migrated.
    """
    with db.lock:
        pending = [m.name for m in migrations.pending(db.utils)]
        if not pending:
            return []
        if migrations.applied(db.utils):
            made = backup(pending)
            if made is not None:
                log.info("backed up the database to %s before migrating", getattr(made, "path", made))
        migrations.apply(db.utils)
        return pending


@migrations()
def m002_job_runs(db) -> None:
    db.conn.execute(
        """CREATE TABLE job_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job TEXT NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
            report TEXT,
            error TEXT)"""
    )
    db.conn.execute("CREATE INDEX job_runs_job ON job_runs(job, started_at)")


@migrations()
def m003_absorb(db) -> None:
    # Absorb's own records: one row per absorbed batch, every rejected candidate
    # (with vault secrets masked), and observations whose LLM pass still waits for a model.
    db.conn.execute(
        """CREATE TABLE absorb_batches (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at REAL NOT NULL,
            finished_at REAL NOT NULL,
            observations INTEGER NOT NULL,
            llm_calls INTEGER NOT NULL DEFAULT 0,
            llm_state TEXT NOT NULL,
            seconds REAL NOT NULL,
            report TEXT)"""
    )
    db.conn.execute(
        """CREATE TABLE absorb_rejections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            batch_id INTEGER,
            stage TEXT NOT NULL,
            memory_type TEXT,
            reason TEXT NOT NULL,
            candidate TEXT,
            observation_ids TEXT)"""
    )
    db.conn.execute("CREATE INDEX absorb_rejections_batch ON absorb_rejections(batch_id)")
    db.conn.execute(
        """CREATE TABLE absorb_llm_pending (
            observation_id INTEGER PRIMARY KEY REFERENCES observations(id) ON DELETE CASCADE,
            batch_id INTEGER,
            queued_at REAL NOT NULL,
            reason TEXT) WITHOUT ROWID"""
    )


@migrations()
def m004_consolidation_links(db) -> None:
    # Consolidation's records: which memories a digest or a promoted fact stands for,
    # and one row per derived memory under a stable key (a day, a week, a recurring
    # fact) so re-running a pass refreshes that memory instead of adding another.
    db.conn.execute(
        """CREATE TABLE memory_links (
            parent_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            child_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            PRIMARY KEY (parent_id, child_id, kind)) WITHOUT ROWID"""
    )
    db.conn.execute("CREATE INDEX memory_links_child ON memory_links(child_id)")
    db.conn.execute(
        """CREATE TABLE consolidation_keys (
            key TEXT PRIMARY KEY,
            memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            fingerprint TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL)"""
    )
    db.conn.execute("CREATE INDEX consolidation_keys_memory ON consolidation_keys(memory_id)")


@migrations()
def m005_observation_roles(db) -> None:
    # Recall lists the speakers it knows (the distinct roles) on every question: from
    # this index, not from a scan of every observation's text.
    db.conn.execute("CREATE INDEX observations_role ON observations(role) WHERE role IS NOT NULL")


@migrations()
def m006_derived_indexes(db) -> None:
    # The vector tables and recall's context index used to be made by the code that
    # fills them, the first time it ran.  They are ordinary parts of the schema now;
    # IF NOT EXISTS keeps the ones an older release already made (with their rows).
    # Vectors are dimension-free blobs; which embedder wrote them is in meta.
    for base in ("memory_vectors", "observation_vectors"):
        db.conn.execute(f"CREATE TABLE IF NOT EXISTS {base} (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)")
        db.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {base}_codes "
            "(id INTEGER PRIMARY KEY, category TEXT, ts REAL NOT NULL, code BLOB NOT NULL)"
        )
    # Each conversation turn with its neighbours, for recall (see core.store.context_index).
    db.conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS recall_fts USING fts5(body, context, "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('recall_fts.last_id', '0')")


@migrations()
def m007_assistant_chat(db) -> None:
    # Engram's own conversation with the user (the chat page, `engram ask`), kept to show it
    # again and nothing else: it is never absorbed, searched or cited, so an answer can
    # never become evidence for the next one.
    db.conn.execute(
        """CREATE TABLE assistant_chat (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation TEXT NOT NULL,
            asked_at REAL NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            citations TEXT,
            abstained INTEGER NOT NULL DEFAULT 0,
            model TEXT)"""
    )
    db.conn.execute("CREATE INDEX assistant_chat_time ON assistant_chat(asked_at)")


@migrations()
def m008_memory_uid(db) -> None:
    # A stable identity for every memory that survives export and import (ids do not:
    # an import into another store numbers its memories anew).  A random UUID (version 4
    # layout), given to existing rows here and to new rows by the trigger, so no writer
    # has to remember it.
    uuid_sql = (
        "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
        "substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || "
        "substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"
    )
    db.conn.execute("ALTER TABLE memories ADD COLUMN uid TEXT")
    db.conn.execute(f"UPDATE memories SET uid = {uuid_sql}")
    db.conn.execute("CREATE UNIQUE INDEX memories_uid ON memories(uid)")
    db.conn.execute(
        f"""CREATE TRIGGER memories_uid_default AFTER INSERT ON memories WHEN NEW.uid IS NULL
        BEGIN UPDATE memories SET uid = {uuid_sql} WHERE id = NEW.id; END"""
    )
