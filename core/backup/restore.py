"""Putting a backup in place of the current database, on this computer or a new one.

Everything that can fail happens before the current database is touched:

1. the manifest is read (a truncated or damaged file, a newer backup format,
   or a schema this Engram does not know are refused here);
2. the backup key is found: this computer's own (a backup of this database,
   with or without a recovery code), or unwrapped with the recovery code
   (a wrong code is refused here), and the manifest's HMAC is checked with it;
3. the database is copied out of the backup into the data directory (its
   SHA-256 and zip CRC checked) and verified: it opens, passes
   ``cipher_integrity_check``, holds the counts and schema of its manifest,
   and answers a full-text and a vector query.  ``integrity_check`` ran when
   the backup was made, and the SHA-256 proves these are the same bytes, so it
   runs again only for a backup whose manifest does not record it;
4. it is re-keyed to this computer's database key (a new key is made where
   there is none: a new computer, a lost keyring).

Only then, holding the data directory alone (``core.store.lock``: the app and
other commands are refused, or, in the app, capture and jobs are paused), the
current database is kept as a verified ``before-restore`` backup and the new
file is renamed into its place.  With a recovery code, this computer gets a
recovery file for the same code, so backups made from now on open with it too.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from core.backup import archive
from core.backup.backups import BackupInfo, BackupService, info_from_manifest
from core.store.lock import DataDirLock
from core.backup.recovery import (
    KdfParams,
    RecoveryCode,
    RecoveryError,
    WrongRecoveryCodeError,
    build_recovery_file,
    derive_kek,
    key_id,
    load_recovery_file,
    unseal,
    write_recovery_file,
)
from core.errors import EngramError, StorageError
from core.keystore import KeyStore
from core.store.types import iso
from core.paths import Paths
from core.store import backup as store_backup

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]


class NewerBackupError(EngramError):
    """The backup was made by a newer Engram."""


class RecoveryCodeNeeded(EngramError):
    """The backup opens only with its recovery code, and none was given."""


class BackupKeyUnavailable(EngramError):
    """The backup is keyed with another computer's database key and has no recovery code."""


@dataclass
class BackupToRestore:
    """A backup file read and checked for shape, before its key is known."""

    path: Path
    manifest: dict[str, Any]
    info: BackupInfo
    needs_code: bool

    def to_dict(self) -> dict[str, Any]:
        data = self.info.to_dict()
        data["needs_code"] = self.needs_code
        data["host"] = self.manifest.get("host")
        return data


def _local_key(paths: Paths) -> str | None:
    return KeyStore(paths).load()[0]


def inspect_backup(paths: Paths, path: Path | str) -> BackupToRestore:
    """Read a backup's manifest and say whether restoring it needs the recovery code.

    Refuses a damaged file and a backup from a newer Engram.
    """
    from core.store.migrations import known_migrations

    path = Path(path).expanduser()
    manifest = archive.read_manifest(path)
    known = set(known_migrations())
    unknown = [name for name in manifest.get("schema") or [] if name not in known]
    if unknown:
        raise NewerBackupError(
            f"The backup {path.name} was made by a newer Engram ({manifest.get('engram_version') or 'unknown version'}): "
            f"its database has changes this Engram does not know ({', '.join(unknown)}).",
            fix="Update Engram on this computer, then restore again. Nothing was changed.",
        )
    return BackupToRestore(path, manifest, info_from_manifest(path, manifest), _needs_code(paths, manifest))


def _needs_code(paths: Paths, manifest: dict[str, Any]) -> bool:
    key = manifest.get("key") or {}
    if key.get("kind") != "recovery-code":
        return False
    local = _local_key(paths)
    if local is None:
        return True
    try:
        recovery = load_recovery_file(paths)
    except RecoveryError:
        return True
    return not (recovery is not None and recovery.code_id == key.get("code_id") and recovery.backup_key_for(local))


@dataclass
class _Key:
    hex: str
    kek: bytes | None = None  # when unwrapped with the code, to carry the code to this computer


def _backup_key(paths: Paths, backup: BackupToRestore, code: RecoveryCode | None) -> _Key:
    manifest, name = backup.manifest, backup.path.name
    block = manifest.get("key") or {}
    kind = block.get("kind")
    if kind == "database-key":
        local = _local_key(paths)
        if local is not None and key_id(local) == block.get("key_id"):
            return _Key(local)
        raise BackupKeyUnavailable(
            f"The backup {name} is locked with the database key of the computer that made it "
            f"({manifest.get('host') or 'unknown'}): no recovery code existed then, and this computer's key is different.",
            fix="Restore it on that computer, or put that computer's key back here first (its keyring entry or "
            "engram.key file). Then create a recovery code there, so future backups open anywhere.",
        )
    if kind != "recovery-code":
        raise archive.DamagedBackupError(
            f"The backup {name} does not say how it is locked (key kind {kind!r}).",
            fix="Use another backup; this one was changed or damaged.",
        )
    if not backup.needs_code:
        local = _local_key(paths)
        recovery = load_recovery_file(paths)
        return _Key(recovery.backup_key_for(local))
    if code is None:
        raise RecoveryCodeNeeded(
            f"The backup {name} opens with the recovery code that was current when it was made "
            f"({(iso(block.get('code_created_at')) or 'date unknown')[:10]}).",
            fix="Give the code when asked, or with --code-file FILE.",
        )
    kdf = KdfParams.from_json(block.get("kdf"), f"The manifest of {name}")
    kek = derive_kek(code, kdf)
    secret = unseal(kek, block.get("backup_key"), "backup-key", {"code_id": block.get("code_id"), "kdf": kdf.to_json()})
    if secret is None:
        raise WrongRecoveryCodeError(
            f"That recovery code does not open the backup {name}. Nothing was changed.",
            fix="Type the code again from your written copy. If you made a new code since, this backup needs the "
            f"code from {(iso(block.get('code_created_at')) or 'its time')[:10]}.",
        )
    return _Key(secret.hex(), kek)


def _remove(path: Path | None) -> None:
    if path is None:
        return
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            Path(str(path) + suffix).unlink()
        except FileNotFoundError:
            pass


def _check_free_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise StorageError(
            f"Restoring needs about {needed / 1e6:.0f} MB free in {directory}; there are {free / 1e6:.0f} MB.",
            fix="Free some disk space, then restore again. Nothing was changed.",
        )


class _Swap:
    """Replace the database file atomically, keeping the old one reachable until the new one opens."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        stamp = secrets.token_hex(4)
        self.kept = db_path.with_name(f".engram-replaced-{stamp}.db")
        self.had_old = db_path.exists()

    def put(self, new_file: Path) -> None:
        if self.had_old:
            try:
                os.link(self.db_path, self.kept)
            except OSError:
                shutil.copy2(self.db_path, self.kept)
            for suffix in ("-wal", "-shm"):
                side = Path(str(self.db_path) + suffix)
                if side.exists():
                    os.replace(side, Path(str(self.kept) + suffix))
        os.replace(new_file, self.db_path)
        archive.fsync_dir(self.db_path.parent)

    def undo(self) -> None:
        if self.had_old and self.kept.exists():
            for suffix in ("-wal", "-shm"):
                try:
                    Path(str(self.db_path) + suffix).unlink()
                except FileNotFoundError:
                    pass
                kept_side = Path(str(self.kept) + suffix)
                if kept_side.exists():
                    os.replace(kept_side, Path(str(self.db_path) + suffix))
            os.replace(self.kept, self.db_path)

    def done(self) -> None:
        _remove(self.kept)


def _keep_unreadable(paths: Paths, folder: Path, now: float) -> Path | None:
    """A current database that cannot be opened (lost key, damage) is kept as raw files, never deleted."""
    if not paths.db_path.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    dest = folder / f"engram-{stamp}-unreadable-before-restore.db"
    shutil.copy2(paths.db_path, dest)
    for suffix in ("-wal", "-shm"):
        side = Path(str(paths.db_path) + suffix)
        if side.exists():
            shutil.copy2(side, Path(str(dest) + suffix))
    return dest


def restore_backup(
    paths: Paths,
    settings,
    source: Path | str,
    *,
    code: RecoveryCode | None = None,
    engine=None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Restore the backup at ``source`` in place of the current database; returns a report.

    ``engine`` is the running engine when the app restores (its capture and
    jobs are paused and its connection reopened on the new file); without
    one, no other Engram process may have the database open.
    """
    paths.ensure()
    backup = inspect_backup(paths, source)
    key = _backup_key(paths, backup, code)
    if not archive.mac_matches(backup.manifest, key.hex):
        raise archive.DamagedBackupError(
            f"The manifest of the backup {backup.path.name} was changed after it was written. Nothing was changed.",
            fix="Use another backup.",
        )
    size = int(backup.manifest["database"]["bytes"])
    _check_free_space(paths.data_dir, 2 * size + 50_000_000)

    def stage(name: str, low: float, high: float) -> Callable[[float], None] | None:
        if progress is None:
            return None
        return lambda fraction: progress(name, low + (high - low) * fraction)

    token = secrets.token_hex(4)
    extracted = paths.data_dir / f".engram-restore-{token}.db"
    rekeyed = paths.data_dir / f".engram-restore-{token}-rekeyed.db"
    store = KeyStore(paths)
    local_key = store.load()[0]
    new_key = local_key is None
    target_key = local_key or secrets.token_hex(32)
    expected = {"counts": backup.manifest.get("counts"), "schema": backup.manifest.get("schema")}
    try:
        archive.extract_database(backup.path, extracted, backup.manifest, progress=stage("Reading the backup", 0.0, 0.3),
                                 stop=stop)
        if progress is not None:
            progress("Checking the backup", 0.3)
        # The SHA-256 just checked proves these are the bytes that passed integrity_check when the
        # backup was made; that slow check runs again only for a backup that does not record it.
        checked_then = (backup.manifest.get("verified") or {}).get("integrity_check") == "ok"
        store_backup.verify_copy(extracted, key.hex, expected, integrity=not checked_then)
        if key.hex == target_key:
            ready = extracted
        else:
            store_backup.copy_with_key(extracted, key.hex, rekeyed, target_key,
                                       progress=stage("Re-keying for this computer", 0.4, 0.75), stop=stop)
            _remove(extracted)
            ready = rekeyed
        check = store_backup.connect_file(ready, target_key, read_only=True)
        try:
            if store_backup.counts(check) != expected["counts"]:
                raise store_backup.CopyCheckFailed("The re-keyed copy lost rows.", fix="This is a bug in Engram.")
        finally:
            check.close()
        if stop is not None and stop.is_set():
            raise archive.CancelledError("The restore was cancelled; nothing was changed.")
        if progress is not None:
            progress("Keeping the current database as a backup", 0.8)
        report = _put_in_place(paths, settings, ready, target_key, new_key, local_key, engine, clock,
                               progress=stage("Keeping the current database as a backup", 0.8, 0.97))
    except store_backup.CopyCancelled as exc:
        raise archive.CancelledError(exc.message.replace("backup", "restore")) from None
    finally:
        _remove(extracted)
        _remove(rekeyed)
    report["recovery_file"] = _carry_recovery_code(paths, backup, key, code, target_key)
    report.update(
        restored=str(backup.path),
        made_at=backup.info.to_dict()["created_at"],
        memories=backup.info.memories,
        observations=backup.info.counts.get("observations", 0),
        key_created=new_key,
    )
    if progress is not None:
        progress("Done", 1.0)
    if engine is not None:
        engine.events.emit("store_did_restore", report=report)
    log.info("restored %s (%d memories)", backup.path, backup.info.memories)
    return report


def _put_in_place(paths, settings, ready: Path, target_key: str, new_key: bool, local_key: str | None, engine, clock,
                  *, progress) -> dict[str, Any]:
    report: dict[str, Any] = {"previous": None}
    if engine is None:
        lock = DataDirLock(paths)
        with lock.exclusive():
            report["previous"] = _keep_current(paths, settings, local_key, clock, progress)
            if new_key:
                KeyStore(paths).store(target_key)
            swap = _Swap(paths.db_path)
            swap.put(ready)
            swap.done()
        return report
    with engine.paused_background(), engine.data_lock.exclusive(in_app=True):
        previous = engine.backups.safety_backup(
            "before-restore", progress=(lambda _s, f: progress(f)) if progress else None
        )
        report["previous"] = str(previous.path) if previous else None
        swap = _Swap(paths.db_path)
        try:
            with engine.store.reopened(target_key):
                swap.put(ready)
        except BaseException:
            swap.undo()
            with engine.store.reopened(target_key):
                pass
            raise
        swap.done()
        _forget_caches(engine)
        # A backup from an older Engram is brought up to date here, as an engine does when it opens
        # (no extra backup: the backup file just restored is that copy).
        report["migrated"] = engine.store.migrate()
    return report


def _keep_current(paths: Paths, settings, local_key: str | None, clock, progress) -> str | None:
    """Keep the current database as a verified backup (or raw files, if it cannot be opened)."""
    if not paths.db_path.exists() or paths.db_path.stat().st_size == 0:
        return None
    service = BackupService(paths, settings, local_key or "00" * 32, clock=clock)
    if local_key is not None:
        try:
            made = service.safety_backup("before-restore", progress=(lambda _s, f: progress(f)) if progress else None)
            return str(made.path) if made else None
        except (StorageError, RecoveryError) as exc:
            if isinstance(exc, StorageError) and "full" in exc.message:
                raise
            log.warning("the current database cannot be backed up (%s); keeping its files as they are", exc.message)
    try:
        folder = service.usable_folder(service.folder())
    except StorageError:
        folder = paths.backups_dir
    kept = _keep_unreadable(paths, folder, clock())
    return str(kept) if kept else None


def _forget_caches(engine) -> None:
    """What the engine remembered of the old file: RAM vector indexes, the prepared embedder."""
    engine.store.forget_caches()


def _carry_recovery_code(paths: Paths, backup: BackupToRestore, key: _Key, code: RecoveryCode | None,
                         target_key: str) -> str:
    """After a restore with the code, make sure this computer's recovery file opens with that code and this key."""
    try:
        current = load_recovery_file(paths)
    except RecoveryError:
        current = None
    if current is not None and current.backup_key_for(target_key):
        return "kept"
    if key.kek is None or code is None:
        return "none" if current is None else "stale"
    block = backup.manifest["key"]
    if current is not None:
        stale = paths.recovery_file.with_name(f"engram.recovery.replaced-{int(time.time())}")
        os.replace(paths.recovery_file, stale)
    made = build_recovery_file(
        code,
        target_key,
        backup_key_hex=key.hex,
        kdf=KdfParams.from_json(block["kdf"], "the backup's manifest"),
        kek=key.kek,
        code_id=block["code_id"],
        created_at=float(block.get("code_created_at") or time.time()),
    )
    write_recovery_file(paths, made)
    return "written"


def recover_key(paths: Paths, code: RecoveryCode) -> dict[str, Any]:
    """``engram recover``: put the database key back into this computer's keyring (or key file) with the code.

    The key comes out of the recovery file beside the database and must open
    the database before it is stored; a key already in place that opens it is
    left alone.
    """
    recovery = load_recovery_file(paths)
    if recovery is None:
        raise RecoveryError(
            f"There is no recovery file ({paths.recovery_file.name}) in {paths.data_dir}, so there is no key to recover here.",
            fix="If you have a backup made with a recovery code, restore it: engram restore FILE.",
        )
    unlocked = recovery.unlock(code)
    recovered = unlocked.database_key_hex
    if paths.db_path.exists():
        try:
            conn = store_backup.connect_file(paths.db_path, recovered, read_only=False)
        except StorageError as exc:
            raise RecoveryError(
                f"The key in the recovery file does not open the database {paths.db_path}: "
                "the database was replaced after the code was made.",
                fix="Restore a backup instead (engram restore FILE); this database needs the key it was made with.",
            ) from exc
        conn.close()
    store = KeyStore(paths)
    present, info = store.load()
    if present == recovered:
        return {"status": "unchanged", "storage": info.storage, "location": info.location}
    info = store.store(recovered)
    log.info("database key recovered into %s", info.storage)
    return {"status": "recovered", "storage": info.storage, "location": info.location, "replaced_wrong_key": present is not None}
