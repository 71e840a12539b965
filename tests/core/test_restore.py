"""Restore: on a new computer with the recovery code, refusals that leave the store unchanged, the key recovered."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from core.backup import archive
from core.store.lock import DatabaseInUseError
from core.backup.recovery import RecoveryCode, RecoveryError, WrongRecoveryCodeError
from core.backup.restore import (
    BackupKeyUnavailable,
    NewerBackupError,
    RecoveryCodeNeeded,
    inspect_backup,
    recover_key,
    restore_backup,
)
from core.engine import Engine
from core.errors import InvalidInputError, StorageError
from core.models.base import FakeEmbedder
from core.paths import Paths
from core.settings import Settings
from tests.core.backup_fixtures import fast_kdf, fill  # noqa: F401


def snapshot_of(engine) -> dict:
    """Every memory as the user sees it, vault revealed, keyed by uid."""
    out = {}
    for memory in engine.memories.list(limit=10_000, include_archived=True):
        uid = engine.store.db.scalar("SELECT uid FROM memories WHERE id = ?", [memory.id])
        data = memory.to_dict(reveal=True)
        data.pop("id")
        data["sources"] = [engine.observations.get(s).text for s in memory.sources]
        out[uid] = data
    return out


@pytest.fixture
def made_backup(tmp_path, fast_kdf, monkeypatch):
    """A store on 'the old computer' with a recovery code, and its backup: (backup path, code, snapshot)."""
    old = Paths.at(tmp_path / "old-computer").ensure()
    code = RecoveryCode.generate()
    with Engine(old, embedder=FakeEmbedder(64)) as engine:
        fill(engine)
        engine.memories.set_archived(engine.memories.list("semantic")[0].id, True)
        engine.backups.set_up_recovery(code)
        info = engine.backups.create()
        expected = snapshot_of(engine)
    return info.path, code, expected


@pytest.fixture
def current_store(paths):
    """This computer's store, whose bytes a refused restore must leave exactly as they were."""
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        engine.memories.add("semantic", {"name": "Current", "summary": "the store on this computer"})
    return paths


def store_bytes(paths) -> bytes:
    return paths.db_path.read_bytes()


def test_restore_on_a_new_computer_with_the_code_gives_the_same_memories_and_search(made_backup, tmp_path):
    path, code, expected = made_backup
    new = Paths.at(tmp_path / "new-computer")  # empty data directory, no key file, no keyring entry
    assert not new.key_file.exists()
    assert inspect_backup(new, path).needs_code
    report = restore_backup(new, Settings(new), path, code=code)
    assert report["key_created"] and report["recovery_file"] == "written" and report["previous"] is None
    assert stat.S_IMODE(new.db_path.stat().st_mode) == 0o600  # the re-keyed copy is private, whatever the umask
    with Engine(new, embedder=FakeEmbedder(64)) as engine:
        assert snapshot_of(engine) == expected
        vault = engine.memories.list("knowledge_vault")[0]
        assert vault.fields["secret_value"] == "correct-horse-battery"
        assert engine.memories.search("cello", semantic=False)[0].memory.title.startswith("Ada")
        assert engine.memories.search("cello", lexical=False)  # the vectors came across
        assert engine.observations.search("Porto", semantic=False)
        # the same code keeps working here: the next backup opens with it
        again = engine.backups.create()
        assert again.key_kind == "recovery-code"
        assert not inspect_backup(new, again.path).needs_code


def test_the_real_key_derivation_round_trip(tmp_path, monkeypatch):
    """With Argon2id's real settings (about 0.7 s each way)."""
    old = Paths.at(tmp_path / "old").ensure()
    code = RecoveryCode.generate()
    with Engine(old, embedder=FakeEmbedder(64)) as engine:
        fill(engine, n=2)
        recovery = engine.backups.set_up_recovery(code)
        assert recovery.kdf.memory_kib == 128 * 1024
        path = engine.backups.create().path
    new = Paths.at(tmp_path / "new")
    restore_backup(new, Settings(new), path, code=RecoveryCode.parse(code.formatted().lower()))
    with Engine(new, embedder=FakeEmbedder(64)) as engine:
        assert engine.memories.count() == 7


def test_restore_replaces_the_current_store_and_keeps_it_as_a_backup(made_backup, current_store):
    path, code, expected = made_backup
    report = restore_backup(current_store, Settings(current_store), path, code=code)
    assert report["previous"].endswith("-before-restore.engram-backup")
    with Engine(current_store, embedder=FakeEmbedder(64)) as engine:
        assert snapshot_of(engine) == expected
        kept = engine.backups.list()
        assert [b.kind for b in kept] == ["before-restore"] and kept[0].memories == 1
    # and the kept copy restores back
    restore_backup(current_store, Settings(current_store), report["previous"])
    with Engine(current_store, embedder=FakeEmbedder(64)) as engine:
        assert [m.title for m in engine.memories.list()] == ["Current"]


def test_wrong_code_is_refused_and_nothing_changes(made_backup, current_store):
    path, _code, _ = made_backup
    before = store_bytes(current_store)
    with pytest.raises(WrongRecoveryCodeError) as info:
        restore_backup(current_store, Settings(current_store), path, code=RecoveryCode.generate())
    assert "does not open" in info.value.message and info.value.fix
    assert store_bytes(current_store) == before
    assert sorted(p.name for p in current_store.data_dir.iterdir() if p.name.startswith(".")) == []


def test_a_missing_code_is_asked_for(made_backup, current_store):
    path, _code, _ = made_backup
    with pytest.raises(RecoveryCodeNeeded) as info:
        restore_backup(current_store, Settings(current_store), path)
    assert "--code-file" in info.value.fix


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["database", "manifest", "end"])
def test_a_flipped_byte_is_refused_and_nothing_changes(made_backup, current_store, tmp_path, where):
    path, code, _ = made_backup
    damaged = tmp_path / "damaged.engram-backup"
    shutil.copy(path, damaged)
    if where == "database":  # the database member comes first; byte 10000 is inside its pages
        flip_byte(damaged, 10_000)
    elif where == "manifest":
        text = damaged.read_bytes()
        flip_byte(damaged, text.index(b'"observations"') + 3)
    else:
        flip_byte(damaged, damaged.stat().st_size - 10)
    before = store_bytes(current_store)
    with pytest.raises((archive.DamagedBackupError, StorageError)) as info:
        restore_backup(current_store, Settings(current_store), damaged, code=code)
    assert "damaged" in info.value.message or "changed" in info.value.message
    assert info.value.fix
    assert store_bytes(current_store) == before


def test_a_changed_manifest_with_valid_checksums_is_refused(made_backup, current_store, tmp_path):
    path, code, _ = made_backup
    forged = tmp_path / "forged.engram-backup"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(forged, "w") as out:
        manifest = json.loads(source.read("manifest.json"))
        manifest["created_at"] = "2020-01-01T00:00:00Z"
        out.writestr(source.getinfo("engram.db"), source.read("engram.db"))
        out.writestr("manifest.json", json.dumps(manifest))
    before = store_bytes(current_store)
    with pytest.raises(archive.DamagedBackupError) as info:
        restore_backup(current_store, Settings(current_store), forged, code=code)
    assert "changed after it was written" in info.value.message
    assert store_bytes(current_store) == before


@pytest.mark.parametrize("keep", [0.5, 0.99, 100])
def test_a_truncated_file_is_refused_and_nothing_changes(made_backup, current_store, tmp_path, keep):
    path, code, _ = made_backup
    cut = tmp_path / "cut.engram-backup"
    data = path.read_bytes()
    cut.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[:keep])
    before = store_bytes(current_store)
    with pytest.raises(archive.DamagedBackupError) as info:
        restore_backup(current_store, Settings(current_store), cut, code=code)
    assert "incomplete" in info.value.message or "damaged" in info.value.message
    assert store_bytes(current_store) == before


def test_a_backup_from_a_newer_engram_is_refused(current_store, tmp_path, fast_kdf):
    from core.store import migrations as schema

    other = Paths.at(tmp_path / "newer").ensure()

    @schema.migrations()
    def m999_future(db):
        db.conn.execute("CREATE TABLE future (x)")

    try:
        with Engine(other, embedder=FakeEmbedder(64)) as engine:
            fill(engine, n=1)
            code = RecoveryCode.generate()
            engine.backups.set_up_recovery(code)
            path = engine.backups.create().path
    finally:
        schema.migrations._migrations = [m for m in schema.migrations._migrations if m.name != "m999_future"]
    before = store_bytes(current_store)
    with pytest.raises(NewerBackupError) as info:
        restore_backup(current_store, Settings(current_store), path, code=code)
    assert "newer Engram" in info.value.message and "m999_future" in info.value.message
    assert "Update Engram" in info.value.fix
    assert store_bytes(current_store) == before


def test_a_newer_backup_format_is_refused(made_backup, current_store, tmp_path):
    path, code, _ = made_backup
    future = tmp_path / "future.engram-backup"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(future, "w") as out:
        manifest = json.loads(source.read("manifest.json"))
        manifest["format_version"] = 2
        out.writestr(source.getinfo("engram.db"), source.read("engram.db"))
        out.writestr("manifest.json", json.dumps(manifest))
    with pytest.raises(archive.DamagedBackupError) as info:
        restore_backup(current_store, Settings(current_store), future, code=code)
    assert "newer Engram" in info.value.message


@pytest.mark.parametrize("content", [b"", b"hello, not a backup", b"SQLite format 3\x00" + b"\x00" * 5000])
def test_a_file_that_is_not_a_backup_is_refused(current_store, tmp_path, content):
    path = tmp_path / "something.engram-backup"
    path.write_bytes(content)
    with pytest.raises(archive.DamagedBackupError) as info:
        restore_backup(current_store, Settings(current_store), path)
    assert "not an Engram backup" in info.value.message


def test_a_missing_file_is_reported(current_store, tmp_path):
    with pytest.raises(StorageError) as info:
        restore_backup(current_store, Settings(current_store), tmp_path / "nope.engram-backup")
    assert "no file" in info.value.message


def test_a_backup_without_recovery_code_restores_here_but_not_on_another_computer(engine, paths, tmp_path):
    fill(engine)
    info = engine.backups.create()
    assert info.key_kind == "database-key"
    engine.memories.add("semantic", {"name": "Later", "summary": "added after the backup"})
    engine.close()
    assert not inspect_backup(paths, info.path).needs_code
    restore_backup(paths, Settings(paths), info.path)
    with Engine(paths, embedder=FakeEmbedder(64)) as restored:
        assert restored.memories.count() == 17
    other = Paths.at(tmp_path / "other-computer")
    with pytest.raises(BackupKeyUnavailable) as refused:
        restore_backup(other, Settings(other), info.path)
    assert "no recovery code existed" in refused.value.message and refused.value.fix
    assert not other.db_path.exists()


def test_restore_from_the_command_line_is_refused_while_engram_runs(made_backup, current_store):
    path, code, _ = made_backup
    running = Engine(current_store, embedder=FakeEmbedder(64))
    try:
        before = store_bytes(current_store)
        with pytest.raises(DatabaseInUseError) as info:
            restore_backup(current_store, Settings(current_store), path, code=code)
        assert "Quit Engram" in info.value.fix
        assert store_bytes(current_store) == before
        assert [m.title for m in running.memories.list()] == ["Current"]
        assert running.backups.list() == []  # refused before the current store was backed up
    finally:
        running.close()


def test_restore_inside_the_running_app_swaps_the_open_database(made_backup, current_store):
    path, code, expected = made_backup
    engine = Engine(current_store, embedder=FakeEmbedder(64))
    events = []
    engine.events.subscribe("store_did_restore", lambda report: events.append(report))
    try:
        engine.memories.search("the store", limit=3)  # RAM vector index of the old file is loaded
        report = restore_backup(current_store, engine.settings, path, code=code, engine=engine)
        assert events == [report]
        assert snapshot_of(engine) == expected
        assert engine.memories.search("cello", lexical=False)
        engine.memories.add("semantic", {"name": "After", "summary": "written after the restore"})
        assert engine.store.db.integrity_check() == "ok"
        assert [b.kind for b in engine.backups.list()] == ["before-restore"]
    finally:
        engine.close()
    with Engine(current_store, embedder=FakeEmbedder(64)) as reopened:
        assert reopened.memories.count() == len(expected) + 1


def test_in_app_restore_pauses_capture_and_the_scheduler(made_backup, current_store, monkeypatch):
    """A job running when the restore begins is waited for; a job due during the swap runs after it, on the restored
    store; capture is stopped meanwhile; and both come back after."""
    import threading

    import core.backup.restore as restore_module
    from core.scheduling import JobSpec
    from tests.core.test_one_source_of_truth import FakeCapture

    path, code, expected = made_backup
    long_started, long_release, long_done = threading.Event(), threading.Event(), threading.Event()
    swapping, swapped, probe_ran = threading.Event(), threading.Event(), threading.Event()
    probe_runs: list[dict] = []

    def long_job(stop):  # a job busy elsewhere (the model, the screen) when the restore is asked for
        long_started.set()
        long_release.wait(30)
        long_done.set()
        return {}

    def probe(stop):
        probe_runs.append({"while_swapping": swapping.is_set(), "memories": engine.memories.count()})
        probe_ran.set()
        return {}

    engine = Engine(current_store, embedder=FakeEmbedder(64))
    try:
        engine._capture = FakeCapture()
        engine.settings.set("capture.enabled", True)
        for name, func in (("long", long_job), ("probe", probe)):
            engine.scheduler.add(JobSpec(name, func, 24 * 3600, "a job the test makes due", catch_up=False))
        engine.start()
        assert engine.capture.is_running
        engine.scheduler.trigger("probe")
        assert probe_ran.wait(10), "the harness is broken: a due job did not run"
        probe_runs.clear()
        probe_ran.clear()

        during: dict = {}
        real_put = restore_module._Swap.put

        def put_while_watching(swap, new_file):
            swapping.set()
            during.update(capturing=engine.capture.is_running, long_job_done=long_done.is_set())
            engine.scheduler.trigger("probe")  # due now, in the middle of the swap
            during["probe_ran"] = probe_ran.wait(0.5)
            try:
                real_put(swap, new_file)
            finally:
                swapping.clear()
                swapped.set()

        monkeypatch.setattr(restore_module._Swap, "put", put_while_watching)
        engine.scheduler.trigger("long")
        assert long_started.wait(10)
        about_to_pause = threading.Event()

        def progress(stage, fraction):
            if stage.startswith("Keeping the current database"):
                about_to_pause.set()

        outcome: dict = {}
        restoring = threading.Thread(target=lambda: outcome.update(report=restore_backup(
            current_store, engine.settings, path, code=code, engine=engine, progress=progress)))
        restoring.start()
        assert about_to_pause.wait(30)
        # The restore is checked and ready to swap, but waits for the running job.
        assert not swapped.wait(1.0) and not swapping.is_set()
        long_release.set()
        restoring.join(30)
        assert "report" in outcome

        assert during == {"capturing": False, "long_job_done": True, "probe_ran": False}
        assert probe_ran.wait(10), "the scheduler did not resume after the restore"
        assert probe_runs == [{"while_swapping": False, "memories": len(expected)}]  # once, on the restored store
        assert engine.capture.is_running and engine.capture.calls == ["start", "stop", "start"]
    finally:
        long_release.set()
        engine.close()


def test_in_app_restore_is_refused_while_another_process_has_the_database(made_backup, current_store):
    path, code, _ = made_backup
    engine = Engine(current_store, embedder=FakeEmbedder(64))
    other = Engine(current_store, embedder=FakeEmbedder(64))  # stands for 'engram' in a terminal
    try:
        with pytest.raises(DatabaseInUseError) as info:
            restore_backup(current_store, engine.settings, path, code=code, engine=engine)
        assert "terminal" in info.value.message
        assert [m.title for m in engine.memories.list()] == ["Current"]
        engine.memories.add("semantic", {"name": "Still", "summary": "working"})
    finally:
        other.close()
        engine.close()


def test_a_cancelled_restore_changes_nothing(made_backup, current_store):
    import threading

    path, code, _ = made_backup
    stop = threading.Event()
    stop.set()
    before = store_bytes(current_store)
    with pytest.raises(archive.CancelledError):
        restore_backup(current_store, Settings(current_store), path, code=code, stop=stop)
    assert store_bytes(current_store) == before
    assert [p.name for p in current_store.data_dir.iterdir() if p.name.startswith(".")] == []


def test_an_unreadable_current_database_is_kept_as_raw_files(made_backup, current_store):
    path, code, expected = made_backup
    current_store.key_file.write_text("11" * 32)  # the key was replaced: the store no longer opens
    old = store_bytes(current_store)
    report = restore_backup(current_store, Settings(current_store), path, code=code)
    kept = Path(report["previous"])
    assert kept.name.endswith("-unreadable-before-restore.db") and kept.read_bytes() == old


# -- engram recover -------------------------------------------------------------------


def test_recover_puts_a_lost_key_back(paths, fast_kdf):
    code = RecoveryCode.generate()
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        fill(engine, n=1)
        engine.backups.set_up_recovery(code)
    key = paths.key_file.read_text()
    paths.key_file.unlink()  # the keyring (here: the key file) is lost
    with pytest.raises(StorageError) as info:
        Engine(paths)
    assert "engram recover" in info.value.fix
    with pytest.raises(WrongRecoveryCodeError):
        recover_key(paths, RecoveryCode.generate())
    assert not paths.key_file.exists()
    report = recover_key(paths, code)
    assert report["status"] == "recovered" and paths.key_file.read_text() == key
    assert recover_key(paths, code)["status"] == "unchanged"
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        assert engine.memories.count() == 6


def test_recover_without_a_recovery_file_says_what_to_do(paths):
    with pytest.raises(RecoveryError) as info:
        recover_key(paths, RecoveryCode.generate())
    assert "engram restore" in info.value.fix


def test_recover_refuses_a_key_that_does_not_open_the_database(paths, fast_kdf, tmp_path):
    code = RecoveryCode.generate()
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        engine.backups.set_up_recovery(code)
    paths.db_path.unlink()
    paths.key_file.unlink()
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:  # a different database with a new key
        engine.memories.add("semantic", {"name": "x", "summary": "y"})
    with pytest.raises(RecoveryError) as info:
        recover_key(paths, code)
    assert "does not open the database" in info.value.message


def test_code_typos_are_caught_before_the_key_derivation(made_backup):
    _path, code, _ = made_backup
    typo = code.chars[:5] + ("0" if code.chars[5] != "0" else "1") + code.chars[6:]
    with pytest.raises(InvalidInputError) as info:
        RecoveryCode.parse(typo)
    assert "group 2" in info.value.message
