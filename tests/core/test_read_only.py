"""Read-only and locked: a read-only data directory still reads; modes the user set stay; a blocked write names its holder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.cli import main
from core.engine import Engine
from core.errors import DatabaseBusyError, ReadOnlyStoreError, StorageError
from core.models.base import FakeChatModel, FakeEmbedder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_read_only():
    """Make a directory read-only even for root, who ignores mode bits.

    ``chattr +i`` where the filesystem has it; else a read-only bind mount;
    a non-root user gets mode 0555.  Undone after the test.
    """
    undo = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            os.chmod(path, 0o555)
            undo.append(lambda: os.chmod(path, 0o700))
            return
        if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0:
            undo.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))
            return
        bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
        if bind.returncode == 0:
            undo.append(lambda: subprocess.run(["umount", str(path)], check=True))
            if subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True).returncode == 0:
                return
        pytest.skip(
            "running as root where neither 'chattr +i' (not supported by this filesystem, e.g. tmpfs or overlay) "
            "nor a read-only bind mount (needs CAP_SYS_ADMIN) is available: a read-only directory cannot be made"
        )

    yield make
    for step in reversed(undo):
        step()


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.fixture
def filled(paths, fake_embedder):
    """A closed store with a memory and a chat; returns the memory's id."""
    with Engine(paths, embedder=fake_embedder) as engine:
        memory = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello in Porto"})
        engine.observations.add("chat", "We booked the Porto flat for June", role="user", conversation="trip")
        engine.observations.add("chat", "Great, the flat has a balcony", role="assistant", conversation="trip")
        engine.recall.sync()
        return memory.id


def test_reads_work_and_writes_are_refused_in_a_read_only_directory(paths, filled, fake_embedder, make_read_only):
    before = _digest(paths.data_dir)
    make_read_only(paths.data_dir)
    with Engine(paths, embedder=fake_embedder, chat_model=FakeChatModel(["Ada plays the cello [1]."])) as engine:
        assert engine.read_only
        assert engine.memories.search("cello")[0].id == filled
        assert engine.memories.get(filled).fields["name"] == "Ada"
        assert any(item["id"] == filled for item in engine.quick_recall("cell"))
        assert any("balcony" in hit.text for hit in engine.recall.retrieve("Porto flat balcony").hits)
        observations = engine.observations.count()
        answer = engine.ask("What does Ada play?")
        assert "cello" in answer.text and answer.chat_id is None
        assert engine.observations.count() == observations  # the exchange was not recorded
        assert engine.memories.get(filled).access_count == 0  # and nothing was reinforced
        for write in (
            lambda: engine.memories.add("semantic", {"name": "New", "summary": "cannot be saved"}),
            lambda: engine.memories.delete(filled),
            lambda: engine.observations.add("chat", "nor this", role="user"),
        ):
            with pytest.raises(ReadOnlyStoreError) as info:
                write()
            assert "read-only" in info.value.message and "nothing can be saved" in info.value.message
            assert "chattr -i" in info.value.fix and "ENGRAM_HOME" in info.value.fix
        engine.start()  # background work would only fail to save: it stays off
        assert engine._scheduler is None and engine._capture is None
    assert _digest(paths.data_dir) == before  # not a byte changed, no file added


def test_a_read_only_directory_still_sees_what_a_running_engram_wrote(paths, fake_embedder, make_read_only):
    writer = Engine(paths, embedder=fake_embedder)
    try:
        writer.memories.add("semantic", {"name": "Bruno", "summary": "Bruno fixed the bike"})  # still in the WAL
        assert Path(str(paths.db_path) + "-wal").stat().st_size > 0
        make_read_only(paths.data_dir)
        with Engine(paths, embedder=fake_embedder) as reader:
            assert reader.read_only
            assert [m.fields["name"] for m in reader.memories.list()] == ["Bruno"]
    finally:
        writer.close()


def test_search_by_meaning_is_off_when_the_vectors_belong_to_another_model(paths, filled, make_read_only):
    make_read_only(paths.data_dir)
    with Engine(paths, embedder=FakeEmbedder(dimension=32)) as engine:
        assert engine.embedder is None
        assert engine.memories.search("cello")[0].id == filled


def test_vectors_of_an_older_text_form_serve_a_read_only_store_as_they_are(paths, filled, fake_embedder, make_read_only):
    with Engine(paths, embedder=fake_embedder) as engine:
        engine.store.db.execute("DELETE FROM meta WHERE key = 'memory_vec.form'")  # a store from before form 2
    before = _digest(paths.data_dir)
    make_read_only(paths.data_dir)
    with Engine(paths, embedder=fake_embedder) as engine:
        assert engine.embedder is not None
        assert engine.memories.search("Ada plays the cello in Porto", lexical=False)[0].id == filled
    assert _digest(paths.data_dir) == before


def test_cli_reads_with_a_note_and_refuses_writes(paths, filled, make_read_only, monkeypatch, capsys):
    monkeypatch.setenv("ENGRAM_SEED_MODELS", str(paths.data_dir / "no-models-here"))  # ask answers from what it found
    make_read_only(paths.data_dir)
    for argv in (["search", "cello", "--json"], ["get", str(filled), "--json"], ["recall", "cello", "--json"],
                 ["ask", "What does Ada play?", "--json"]):
        code = main(argv)
        out = capsys.readouterr()
        assert code == 0, (argv, out.err)
        assert "read-only, so nothing can be saved" in out.err, argv
        assert "Traceback" not in out.err
        assert json.loads(out.out), argv
    for argv in (["add", "semantic", "--json", '{"name": "New", "summary": "x"}'], ["delete", str(filled)]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code != 0, argv
        assert "is read-only, so nothing can be saved" in err and "Fix:" in err and "chattr -i" in err, argv


def test_forget_is_refused_in_a_read_only_directory(paths, filled, make_read_only, capsys):
    make_read_only(paths.data_dir)
    code = main(["forget", "--app", "anything", "--yes"])
    assert code == 0 and "Nothing to forget" in capsys.readouterr().out  # finding nothing needs no write
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        with pytest.raises(ReadOnlyStoreError):
            engine.forgetting.forget_memory(filled)
        with pytest.raises(ReadOnlyStoreError):
            engine.forgetting.forget_range(0, 4e9)

def test_a_key_file_whose_mode_cannot_be_tightened_is_still_read(paths, filled, make_read_only):
    os.chmod(paths.key_file, 0o644)
    make_read_only(paths.key_file)  # chmod fails on it now, as on a read-only disk
    make_read_only(paths.data_dir)
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        assert engine.read_only and engine.memories.get(filled)

def test_a_read_only_directory_without_a_database_says_so(paths, make_read_only):
    make_read_only(paths.data_dir)
    with pytest.raises(StorageError) as info:
        Engine(paths)
    assert "read-only and holds no database yet" in info.value.message and "ENGRAM_HOME" in info.value.fix


def test_a_read_only_store_that_needs_an_upgrade_says_so(paths, filled, make_read_only):
    from core.store import migrations as schema

    make_read_only(paths.data_dir)

    @schema.migrations()
    def m997_test_only(db):
        db.conn.execute("CREATE TABLE test_only (x)")

    try:
        with pytest.raises(StorageError) as info:
            Engine(paths)
        assert "needs an upgrade" in info.value.message and "m997_test_only" in info.value.message
    finally:
        schema.migrations._migrations = [m for m in schema.migrations._migrations if m.name != "m997_test_only"]


def test_a_wrong_key_in_a_read_only_directory_is_reported(paths, filled, make_read_only):
    from core.errors import WrongKeyError

    paths.key_file.write_text("11" * 32)
    make_read_only(paths.data_dir)
    with pytest.raises(WrongKeyError):
        Engine(paths)


def test_the_mode_the_user_set_is_kept_and_doctor_warns(paths, capsys):
    Engine(paths).close()
    os.chmod(paths.data_dir, 0o750)
    Engine(paths).close()
    assert paths.data_dir.stat().st_mode & 0o777 == 0o750
    code = main(["doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert code == 0
    assert checks["data directory"]["status"] == "warn"
    assert "can be opened by your group" in checks["data directory"]["detail"]
    assert f"chmod 700 {paths.data_dir}" in checks["data directory"]["fix"]
    os.chmod(paths.data_dir, 0o500)
    try:
        Engine(paths).close()
        assert paths.data_dir.stat().st_mode & 0o777 == 0o500
    finally:
        os.chmod(paths.data_dir, 0o700)


def test_new_directories_are_private(paths):
    for directory in (paths.data_dir, paths.models_dir, paths.logs_dir, paths.backups_dir):
        assert directory.stat().st_mode & 0o777 == 0o700


def test_doctor_says_when_the_directory_is_read_only(paths, filled, make_read_only, capsys):
    make_read_only(paths.data_dir)
    main(["doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["data directory"]["status"] == "warn" and "read-only" in checks["data directory"]["detail"]
    assert checks["database"]["status"] == "ok"


HOLD_WRITE = textwrap.dedent(
    """
    import sys, time
    from core.engine import Engine
    from core.models.base import FakeEmbedder
    engine = Engine(embedder=FakeEmbedder(64))
    with engine.store.atomic():
        engine.memories.add("semantic", {"name": "Held", "summary": "a long write"})
        print("writing", flush=True)
        time.sleep(float(sys.argv[1]))
    """
)


def test_a_blocked_write_names_the_process_holding_the_lock(paths, fake_embedder):
    engine = Engine(paths, embedder=fake_embedder, busy_timeout=0.5)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE, "30"], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "writing"
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError) as info:
            engine.memories.add("semantic", {"name": "Blocked", "summary": "waits"})
        assert time.monotonic() - started < 10  # the short timeout, not 30 s
        assert f"pid {holder.pid}" in info.value.message and "is writing" in info.value.message
        assert info.value.message.startswith("Another Engram")
        assert f"kill {holder.pid}" in info.value.fix
        assert engine.memories.search("Blocked", semantic=False) == []
    finally:
        holder.kill()
        holder.wait()
    engine.memories.add("semantic", {"name": "Later", "summary": "goes through once the holder is gone"})
    engine.close()


def test_a_blocked_write_without_a_visible_holder_still_has_a_fix(paths):
    from core.store import holders

    error = holders.busy_error(paths.db_path, 30)
    assert "30 s" in error.message and error.fix
