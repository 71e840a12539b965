"""The encrypted database: migrations, encryption at rest, wrong keys, damaged files, crashes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from core.store.db import Database
from core.engine import Engine
from core.errors import CorruptDatabaseError, InvalidInputError, StorageError, WrongKeyError
from core.store.migrations import migrations


def test_migrations_from_empty_create_expected_columns(engine):
    db = engine.store.db.utils
    assert [m.name for m in migrations.pending(db)] == []
    expected = {
        "memory_core": {"label", "value", "char_limit"},
        "memory_episodic": {"occurred_at", "occurred_until", "actor", "event_type", "summary", "details"},
        "memory_semantic": {"name", "summary", "details"},
        "memory_procedural": {"entry_type", "summary", "steps"},
        "memory_resource": {"title", "resource_type", "location", "summary", "content_excerpt"},
        "memory_knowledge_vault": {"entry_type", "caption", "secret_value", "sensitivity", "source"},
    }
    common = {"id", "created_at", "updated_at", "importance", "access_count", "last_accessed_at", "pinned"}
    for table, own in expected.items():
        assert set(db[table].columns_dict) == common | own, table
    assert {"kind", "ts", "app", "window_title", "url", "text"} <= set(db["observations"].columns_dict)
    assert set(db["memory_sources"].columns_dict) == {"memory_id", "observation_id"}
    assert {"action", "old_value", "new_value"} <= set(db["memory_history"].columns_dict)


def test_pragmas_wal_and_foreign_keys(engine):
    assert engine.store.db.scalar("PRAGMA journal_mode") == "wal"
    assert engine.store.db.scalar("PRAGMA foreign_keys") == 1


def test_database_file_is_encrypted_and_private(engine, paths):
    engine.memories.add("semantic", {"name": "Ada", "summary": "Ada Lovelace wrote the first program"})
    engine.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = paths.db_path.read_bytes()
    assert not raw.startswith(b"SQLite format 3")
    assert b"Lovelace" not in raw
    assert os.stat(paths.db_path).st_mode & 0o777 == 0o600
    assert os.stat(paths.data_dir).st_mode & 0o777 == 0o700
    assert os.stat(paths.key_file).st_mode & 0o777 == 0o600


def test_a_database_left_readable_by_others_is_made_private_when_opened(paths):
    from core.engine import Engine
    from core.models.base import FakeEmbedder

    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada Lovelace wrote the first program"})
    os.chmod(paths.db_path, 0o644)  # as a copy made under a loose umask would be
    with Engine(paths, embedder=FakeEmbedder(64)):
        assert os.stat(paths.db_path).st_mode & 0o777 == 0o600


def test_wrong_key_fails_with_clear_message_and_leaves_file_alone(engine, paths):
    engine.memories.add("semantic", {"name": "Ada", "summary": "my sister"})
    engine.close()
    before = paths.db_path.read_bytes()
    with pytest.raises(WrongKeyError) as info:
        Database.open(paths.db_path, "00" * 32)
    assert "key" in info.value.message and info.value.fix
    # The engine with a replaced key file refuses too, and changes nothing.
    paths.key_file.write_text("11" * 32)
    with pytest.raises(WrongKeyError):
        Engine(paths)
    assert paths.db_path.read_bytes() == before


def test_missing_key_for_existing_database_is_reported(engine, paths):
    engine.memories.add("semantic", {"name": "Ada", "summary": "my sister"})
    engine.close()
    paths.key_file.unlink()
    with pytest.raises(StorageError) as info:
        Engine(paths)
    assert "key is missing" in info.value.message


@pytest.mark.parametrize("content", [b"\x00garbage" * 10, b"SQLite format 3\x00" + b"\x00" * 4080])
def test_corrupt_or_plaintext_file_is_refused(paths, content):
    paths.db_path.write_bytes(content)
    with pytest.raises(CorruptDatabaseError) as info:
        Engine(paths)
    assert info.value.fix
    assert paths.db_path.read_bytes() == content


@pytest.fixture
def read_only():
    """Make a directory read-only, even for root (who ignores permission bits): chattr +i there."""
    undo = []

    def make(path):
        if os.geteuid() != 0:
            os.chmod(path, 0o555)
            undo.append(lambda: os.chmod(path, 0o700))
            return
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("running as root on a filesystem without chattr +i: a read-only directory cannot be simulated")
        undo.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))

    yield make
    for step in undo:
        step()


def test_read_only_data_directory_is_reported(paths, read_only):
    engine = Engine(paths)
    engine.memories.add("semantic", {"name": "Kept", "summary": "stays"})
    engine.close()
    before = paths.db_path.read_bytes()
    read_only(paths.data_dir)
    with pytest.raises(StorageError) as info:
        engine = Engine(paths)
        engine.memories.add("semantic", {"name": "New", "summary": "cannot be written"})
    assert "ENGRAM_HOME" in info.value.fix or "writable" in info.value.fix
    assert paths.db_path.read_bytes() == before


def test_full_disk_fails_cleanly_and_keeps_what_was_stored(engine):
    engine.memories.add("semantic", {"name": "Kept", "summary": "stays"})
    pages = engine.store.db.scalar("PRAGMA page_count")
    engine.store.db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError) as info:
        for i in range(200):
            engine.memories.add("resource", {"title": f"big {i}", "content_excerpt": "x" * 20000})
    assert "full" in info.value.message and info.value.fix
    engine.store.db.execute("PRAGMA max_page_count = 1073741823")
    assert engine.memories.search("Kept", semantic=False)[0].memory.title == "Kept"
    assert engine.store.db.integrity_check() == "ok"
    assert engine.store.db.scalar("SELECT count(*) FROM memories") == engine.store.db.scalar("SELECT count(*) FROM memory_fts")


def test_read_only_database_write_fails_cleanly(engine):
    engine.memories.add("semantic", {"name": "Kept", "summary": "stays"})
    engine.store.db.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError) as info:
        engine.memories.add("semantic", {"name": "New", "summary": "cannot be written"})
    assert "read-only" in info.value.message
    engine.store.db.execute("PRAGMA query_only = OFF")
    assert [m.title for m in engine.memories.list()] == ["Kept"]


def test_two_threads_writing_at_once(engine):
    errors = []

    def writer(prefix):
        try:
            for i in range(40):
                engine.memories.add("semantic", {"name": f"{prefix}{i}", "summary": f"fact {prefix} {i}"})
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert engine.memories.count("semantic") == 80
    assert engine.store.db.scalar("SELECT count(*) FROM memory_fts") == 80
    assert engine.store.db.integrity_check() == "ok"


def test_killed_writer_loses_nothing_committed(paths):
    script = textwrap.dedent(
        """
        import sys
        from core.engine import Engine
        from core.models.base import FakeEmbedder
        engine = Engine(embedder=FakeEmbedder(32))
        i = 0
        while True:
            with engine.store.db.transaction():
                for j in range(5):
                    engine.memories.add("semantic", {"name": f"n{i}-{j}", "summary": "batch %d" % i})
            print(i, flush=True)
            i += 1
        """
    )
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True, cwd=os.getcwd())
    committed = -1
    for line in proc.stdout:
        committed = int(line)
        if committed >= 30:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    engine = Engine(paths)
    try:
        assert engine.store.db.integrity_check() == "ok"
        count = engine.memories.count("semantic")
        assert count >= (committed + 1) * 5
        assert count % 5 == 0, "a transaction was half-applied"
        assert engine.store.db.scalar("SELECT count(*) FROM memory_fts") == count
    finally:
        engine.close()


def test_large_field_is_refused_and_nothing_else_is_lost(engine):
    engine.memories.add("semantic", {"name": "Kept", "summary": "stays"})
    with pytest.raises(InvalidInputError) as info:
        engine.memories.add("resource", {"title": "Huge", "content_excerpt": "x" * 50_000_000})
    assert "at most" in info.value.message
    assert engine.memories.count() == 1


def test_every_memory_gets_a_stable_random_uid(engine):
    import re

    first = engine.memories.add("semantic", {"name": "Ada", "summary": "my sister"})
    second = engine.memories.add("semantic", {"name": "Bob", "summary": "my brother"})
    uids = [engine.store.db.scalar("SELECT uid FROM memories WHERE id = ?", [m.id]) for m in (first, second)]
    pattern = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pattern.match(uid) for uid in uids) and uids[0] != uids[1]
    engine.memories.update(first.id, {"summary": "my older sister"})
    assert engine.store.db.scalar("SELECT uid FROM memories WHERE id = ?", [first.id]) == uids[0]


def test_uid_migration_gives_existing_memories_distinct_uids(paths):
    from core.store import migrations as schema

    engine = Engine(paths)
    for i in range(20):
        engine.memories.add("semantic", {"name": f"n{i}", "summary": "before the upgrade"})
    # Go back to a database made before m008, as an older release left it.
    engine.store.db.execute("DROP TRIGGER memories_uid_default")
    engine.store.db.execute("DROP INDEX memories_uid")
    engine.store.db.execute("ALTER TABLE memories DROP COLUMN uid")
    engine.store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm008_memory_uid'")
    engine.close()
    engine = Engine(paths)
    try:
        assert "m008_memory_uid" in engine.migrations_applied
        uids = [r["uid"] for r in engine.store.db.query("SELECT uid FROM memories")]
        assert len(set(uids)) == 20 and all(uids)
        assert schema.migrations.pending(engine.store.db.utils) == []
    finally:
        engine.close()
