"""Backups: consistent while Engram writes, verified, never half-written, scheduled, skipped and thinned."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core.backup import archive
from core.backup.backups import keep_indices
from core.backup.recovery import RecoveryCode
from core.engine import Engine
from core.errors import StorageError
from core.store import backup as store_backup
from tests.core.backup_fixtures import fast_kdf, fill  # noqa: F401

UTC = timezone.utc


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_backup_is_verified_and_its_manifest_says_what_it_holds(engine, paths):
    fill(engine)
    info = engine.backups.create()
    assert info.path.parent == paths.backups_dir and info.path.name.endswith("-manual.engram-backup")
    assert info.verified and info.problem is None
    assert os.stat(info.path).st_mode & 0o777 == 0o600
    with zipfile.ZipFile(info.path) as z:
        assert sorted(z.namelist()) == ["engram.db", "manifest.json"]
        manifest = json.loads(z.read("manifest.json"))
        head = z.read("engram.db")[:16]
    assert head != b"SQLite format 3\x00"  # encrypted inside the zip too
    assert manifest["counts"]["memories"] == engine.memories.counts()
    assert manifest["counts"]["observations"] == 1
    assert manifest["schema"][-1] == "m008_memory_uid"
    assert manifest["key"]["kind"] == "database-key"
    assert manifest["verified"] == {
        "at": manifest["verified"]["at"], "integrity_check": "ok", "cipher_integrity_check": "ok",
        "full_text_query": "ok", "vector_query": "ok",
    }
    assert manifest["database"]["bytes"] > 4096 and len(manifest["database"]["sha256"]) == 64
    assert visible(paths.backups_dir) == [info.path.name]  # no partial files left
    listed = engine.backups.list()
    assert [b.path for b in listed] == [info.path]
    assert listed[0].to_dict()["verified"] is True


def test_backup_holds_exactly_what_was_committed_when_it_began(engine, paths):
    fill(engine, n=3)
    stop = threading.Event()
    errors: list[Exception] = []

    def writer() -> None:
        i = 0
        try:
            while not stop.is_set():
                with engine.store.db.transaction():
                    engine.memories.add("semantic", {"name": f"w{i}", "summary": f"written during the backup {i}"}, embed=False)
                    engine.observations.add("screen", f"frame {i}")
                i += 1
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    at_snapshot: dict = {}

    def on_snapshot(facts: dict) -> None:
        # Called with the engine's lock held, as the backup's read transaction begins.
        at_snapshot["memories"] = engine.store.db.scalar("SELECT count(*) FROM memories")
        at_snapshot["max_id"] = engine.store.db.scalar("SELECT max(id) FROM memories")
        at_snapshot["observations"] = engine.store.db.scalar("SELECT count(*) FROM observations")
        at_snapshot["facts"] = facts

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while engine.memories.count() < 60:
            pass
        info = engine.backups.create(on_snapshot=on_snapshot)
        after = engine.memories.count()
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert after > at_snapshot["memories"], "the writer kept writing during the backup"
    assert info.memories == at_snapshot["memories"]
    assert info.counts["observations"] == at_snapshot["observations"]
    copy = paths.data_dir / "check.db"
    archive.extract_database(info.path, copy, archive.read_manifest(info.path))
    conn = store_backup.connect_file(copy, engine.backups.key_hex, read_only=True)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM memories ORDER BY id")]
        assert ids[-1] == at_snapshot["max_id"] and len(ids) == at_snapshot["memories"]
        assert conn.execute("SELECT count(*) FROM memory_fts").fetchone()[0] == len(ids)
        assert conn.execute("SELECT count(*) FROM memory_semantic").fetchone()[0] + 5 == len(ids)
    finally:
        conn.close()


def test_a_full_disk_during_the_copy_leaves_no_partial_file(engine, paths):
    fill(engine)
    before = visible(paths.backups_dir)
    with pytest.raises(StorageError) as info:
        engine.backups.create(max_pages=5)
    assert "full" in info.value.message and "no partial file" in info.value.message
    assert visible(paths.backups_dir) == before
    assert engine.memories.count() == 17  # the store is untouched and keeps working
    engine.memories.add("semantic", {"name": "after", "summary": "still writable"})


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_backup_disk_leaves_no_partial_file(engine, small_tmpfs):
    fill(engine)
    for i in range(60):  # well over 400 kB of database, vectors and indexes
        engine.memories.add("resource", {"title": f"doc {i}", "content_excerpt": os.urandom(3000).hex()})
    with pytest.raises(StorageError) as info:
        engine.backups.create(folder=small_tmpfs)
    assert "full" in info.value.message and info.value.fix
    assert visible(small_tmpfs) == []


def test_a_cancelled_backup_leaves_nothing(engine, paths):
    fill(engine)
    stop = threading.Event()
    stop.set()
    with pytest.raises(archive.CancelledError):
        engine.backups.create(stop=stop)
    assert visible(paths.backups_dir) == []


def test_unusable_backup_folder_is_reported_and_never_created(engine, tmp_path):
    mount_point = tmp_path / "media-usb"  # the disk is not connected: its folder is missing
    mount_point.mkdir()
    engine.settings.set("backup.folder", str(mount_point / "engram"))
    with pytest.raises(StorageError) as info:
        engine.backups.create()
    assert "not available" in info.value.message and "backup.folder" in info.value.fix
    assert not (mount_point / "engram").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as info:
        engine.backups.create(folder=blocker / "backups")  # --to names a folder to create
    assert "cannot be created" in info.value.message


def test_with_a_recovery_code_backups_are_keyed_with_the_backup_key(engine, fast_kdf):
    fill(engine)
    recovery = engine.backups.set_up_recovery(RecoveryCode.generate())
    info = engine.backups.create()
    manifest = archive.read_manifest(info.path)
    assert manifest["key"]["kind"] == "recovery-code" and manifest["key"]["code_id"] == recovery.code_id
    assert manifest["key"]["backup_key"] == recovery.backup_key
    backup_key = recovery.backup_key_for(engine.backups.key_hex)
    assert archive.mac_matches(manifest, backup_key)
    assert not archive.mac_matches(manifest, engine.backups.key_hex)


def test_pre_migration_copy_is_a_verified_backup(paths):
    from core.store import migrations as schema

    engine = Engine(paths)
    engine.memories.add("semantic", {"name": "Ada", "summary": "my sister"})
    engine.close()

    @schema.migrations()
    def m999_test_only(db):
        db.conn.execute("CREATE TABLE test_only (x)")

    try:
        engine = Engine(paths)
        assert engine.migrations_applied == ["m999_test_only"]
        backups = engine.backups.list()
        assert [b.kind for b in backups] == ["before-migration"]
        assert backups[0].verified and backups[0].memories == 1
        assert "m999_test_only" not in backups[0].schema
        engine.close()
    finally:
        schema.migrations._migrations = [m for m in schema.migrations._migrations if m.name != "m999_test_only"]


# -- thinning ---------------------------------------------------------------------------


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_thinning_keeps_7_daily_4_weekly_6_monthly():
    # One backup a day at 03:00 from 1 Jan to 30 Jun 2026, plus a second one on 30 June.
    days = [ts("2026-01-01T03:00") + d * 86400 for d in range(181)]
    stamps = days + [ts("2026-06-30T15:00")]
    kept = {datetime.fromtimestamp(stamps[i], UTC).strftime("%m-%d %H") for i in keep_indices(stamps, tz=UTC)}
    daily = {"06-24 03", "06-25 03", "06-26 03", "06-27 03", "06-28 03", "06-29 03", "06-30 15"}
    # ISO weeks: 30 June 2026 is a Tuesday; the weeks before end on Sundays 28, 21 and 14 June.
    weekly = {"06-30 15", "06-28 03", "06-21 03", "06-14 03"}
    monthly = {"06-30 15", "05-31 03", "04-30 03", "03-31 03", "02-28 03", "01-31 03"}
    assert kept == daily | weekly | monthly


def test_thinning_edge_cases():
    assert keep_indices([]) == set()
    assert keep_indices([5.0]) == {0}
    same_day = [ts("2026-03-03T01:00"), ts("2026-03-03T09:00"), ts("2026-03-03T05:00")]
    assert keep_indices(same_day, tz=UTC) == {1}
    # unsorted input: indices refer to the input order
    assert keep_indices([ts("2026-03-01T00:00"), ts("2026-03-05T00:00")], daily=1, weekly=0, monthly=0, tz=UTC) == {1}


def test_scheduled_backups_skip_when_nothing_changed_and_thin_with_the_fake_clock(clocked_engine, clock):
    engine = clocked_engine
    fill(engine, n=2)
    clock.now = ts("2026-01-01T03:00")
    first = engine.backups.run_scheduled()
    assert first["backup"].endswith("-scheduled.engram-backup")
    assert engine.backups.run_scheduled() == {"skipped": "not due", "last": "2026-01-01T03:00:00Z"}
    clock.now += 86400
    skipped = engine.backups.run_scheduled()
    assert skipped["skipped"] == "nothing changed"
    for day in range(1, 40):  # one change a day for 40 days
        clock.now = ts("2026-01-01T03:00") + day * 86400
        engine.memories.add("semantic", {"name": f"day {day}", "summary": f"learned on day {day}"})
        report = engine.backups.run_scheduled()
        assert "backup" in report, report
    names = sorted(b.path.name for b in engine.backups.list())
    stamps = [b.created_at for b in engine.backups.list()]
    assert len(names) == len(keep_indices(stamps)) == len(stamps)
    days_kept = sorted(datetime.fromtimestamp(s).strftime("%m-%d") for s in stamps)
    assert days_kept[-7:] == ["02-03", "02-04", "02-05", "02-06", "02-07", "02-08", "02-09"]
    assert "01-31" in days_kept  # the newest of January stays as its monthly backup
    assert "01-02" not in days_kept


def test_a_new_recovery_code_makes_the_next_scheduled_backup_even_without_changes(clocked_engine, clock, fast_kdf):
    engine = clocked_engine
    fill(engine, n=2)
    engine.backups.run_scheduled()
    clock.now += 2 * 86400
    assert engine.backups.run_scheduled()["skipped"] == "nothing changed"
    engine.backups.set_up_recovery(RecoveryCode.generate())
    report = engine.backups.run_scheduled()
    assert "backup" in report
    assert engine.backups.list()[0].key_kind == "recovery-code"


def test_thinning_never_touches_other_files_or_damaged_backups(clocked_engine, clock):
    engine = clocked_engine
    fill(engine, n=1)
    folder = engine.backups.folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("mine")
    (folder / "engram-20250101-000000-scheduled.engram-backup").write_bytes(b"PK\x03\x04 damaged")
    for day in range(12):
        clock.now = ts("2026-01-01T03:00") + day * 86400
        engine.memories.add("semantic", {"name": f"d{day}", "summary": "x"})
        engine.backups.create("scheduled")
    removed = engine.backups.thin(tz=None)
    # 12 January is a Monday: days 6-12 are the dailies, 4 January closes the week before.
    assert sorted(p.name[7:15] for p in removed) == ["20260101", "20260102", "20260103", "20260105"]
    names = visible(folder)
    assert "notes.txt" in names and "engram-20250101-000000-scheduled.engram-backup" in names
    damaged = [b for b in engine.backups.list() if b.problem]
    assert len(damaged) == 1 and "damaged" in damaged[0].problem


def test_the_newest_safety_backups_survive_thinning(clocked_engine, clock):
    engine = clocked_engine
    fill(engine, n=1)
    clock.now = ts("2026-01-01T03:00")
    engine.backups.create("before-import")
    for minute in range(1, 4):
        clock.now += 60
        engine.memories.add("semantic", {"name": f"m{minute}", "summary": "x"})
        engine.backups.create("scheduled")
    engine.backups.thin()
    kinds = [b.kind for b in engine.backups.list()]
    assert kinds == ["scheduled", "before-import"]


def test_status_warns_about_old_backups_and_a_missing_recovery_code(clocked_engine, clock, fast_kdf):
    engine = clocked_engine
    fill(engine, n=1)
    status = engine.backups.status()
    assert status["last"] is None and "no backup yet" in status["warnings"][0]
    assert any("losing" in w or "lost" in w for w in status["warnings"])
    engine.backups.create()
    clock.now += 8 * 86400
    status = engine.backups.status()
    assert "8 days old" in status["warnings"][0]
    engine.backups.set_up_recovery(RecoveryCode.generate())
    engine.backups.create()
    status = engine.backups.status()
    assert status["warnings"] == [] and status["recovery"]["exists"]
    assert status["next_ts"] == pytest.approx(clock.now + 24 * 3600)


def test_backup_job_is_registered_with_the_scheduler(engine):

    scheduler = engine.scheduler
    assert "backup" in scheduler.specs
    engine.memories.add("semantic", {"name": "Ada", "summary": "x"})
    record = scheduler.run("backup")
    assert record["status"] == "ok" and record["report"]["backup"].endswith(".engram-backup")


def test_an_unavailable_backup_folder_falls_back_to_the_data_directory(clocked_engine, tmp_path):
    engine = clocked_engine
    fill(engine, n=1)
    blocker = tmp_path / "unplugged-disk"
    blocker.write_text("a file where the folder should be")
    engine.settings.set("backup.folder", str(blocker / "engram"))
    report = engine.backups.run_scheduled()
    assert "not available" in report["folder_unavailable"]
    assert report["backup"].startswith(str(engine.paths.backups_dir))
    assert any("not available" in w for w in engine.backups.status()["warnings"])


def test_the_change_check_sees_every_kind_of_change_and_ignores_bookkeeping(engine):

    fill(engine, n=2)
    fingerprint = engine.backups._fingerprint
    ada = engine.memories.list("semantic")[0]
    obs = engine.observations.add("screen", "a frame of text", app="firefox")
    other = engine.memories.list("semantic")[1]
    changes = [
        lambda: engine.memories.touch([ada.id]),
        lambda: engine.memories.set_archived(ada.id, True),
        lambda: engine.memories.update(ada.id, {"summary": "changed"}),
        lambda: engine.memories.update(ada.id, {"importance": 0.9}),
        lambda: engine.observations.add("chat", "new message"),
        lambda: engine.observations.mark_absorbed([obs]),
        lambda: engine.observations.purge_text([obs]),
        lambda: engine.store.db.execute("INSERT INTO memory_links(parent_id, child_id, kind) VALUES (?, ?, 'digest')", [ada.id, other.id]),
        lambda: engine.memories.delete(other.id),
    ]
    seen = [fingerprint()]
    for change in changes:
        change()
        seen.append(fingerprint())
        assert seen[-1] != seen[-2], change
    engine.scheduler.run("embed")  # bookkeeping (a job run) is not a change; vectors computed are
    before = fingerprint()
    with engine.store.db.transaction():
        engine.store.db.execute("INSERT INTO job_runs(job, started_at, status) VALUES ('x', 0, 'ok')")
    assert fingerprint() == before
