"""Making, listing and thinning verified backups; reached as ``engine.backups``.

A backup is made in four steps, each of which leaves nothing behind if it fails:

1. a consistent snapshot into a hidden ``.partial`` file in the backup folder
   (``core.store.backup.export_snapshot``: one read transaction on its own
   connection, so Engram keeps running and writing meanwhile);
2. the snapshot is checked (opens with its key, ``integrity_check``,
   ``cipher_integrity_check``, counts and schema as read at the snapshot, a
   full-text and a vector query);
3. it is packed with its manifest into ``engram-<local time>-<kind>.engram-backup``
   through another hidden file, flushed to disk and renamed into place;
4. the hidden files are removed.

With a recovery code, a backup is keyed with the backup key the code wraps,
so it restores on any computer with the code; without one it is keyed with
this computer's database key and its manifest says so.

Scheduled backups run daily by default (``backup.interval_hours``), are
skipped when nothing changed since the last one, and are thinned to the
newest backup of each of the last 7 days, 4 weeks and 6 months
(``keep_indices``).  Backups made before a restore, an import or a migration
are made whatever the schedule; the newest ``KEEP_SAFETY`` of those are kept
on top of the thinning.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Callable, Sequence

from core.backup import archive
from core.backup.recovery import (
    RecoveryCode,
    RecoveryError,
    RecoveryFile,
    build_recovery_file,
    key_id,
    load_recovery_file,
    write_recovery_file,
)
from core.errors import EngramError, StorageError
from core.store.types import iso
from core.paths import Paths
from core.store import backup as store_backup

log = logging.getLogger(__name__)

KINDS = ("scheduled", "manual", "before-restore", "before-import", "before-migration")
NAME = re.compile(r"^engram-(\d{8})-(\d{6})(?:-(\d+))?-(" + "|".join(KINDS) + r")" + re.escape(archive.SUFFIX) + "$")
KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 6
KEEP_SAFETY = 3
STALE_AFTER_DAYS = 7
STALE_PARTIAL_SECONDS = 24 * 3600

Progress = Callable[[str, float], None]


@dataclass
class BackupInfo:
    """One backup file as listed: what its manifest says, or why it cannot be read."""

    path: Path
    created_at: float | None
    kind: str
    verified: bool
    bytes: int
    key_kind: str | None = None
    code_id: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    schema: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    engram_version: str | None = None
    problem: str | None = None

    @property
    def memories(self) -> int:
        return sum((self.counts.get("memories") or {}).values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "created_at": iso(self.created_at),
            "kind": self.kind,
            "verified": self.verified,
            "bytes": self.bytes,
            "key": self.key_kind,
            "memories": self.memories,
            "memories_by_type": dict(self.counts.get("memories") or {}),
            "observations": self.counts.get("observations", 0),
            "schema_version": self.schema[-1] if self.schema else None,
            "engram_version": self.engram_version,
            "problem": self.problem,
        }


def info_from_manifest(path: Path, manifest: dict[str, Any]) -> BackupInfo:
    key = manifest.get("key") or {}
    checked = manifest.get("verified") or {}
    match = NAME.match(path.name)
    return BackupInfo(
        path=path,
        created_at=float(manifest.get("created_ts") or 0) or None,
        kind=str(manifest.get("kind") or (match.group(4) if match else "manual")),
        verified=checked.get("integrity_check") == "ok" and checked.get("cipher_integrity_check") == "ok",
        bytes=path.stat().st_size,
        key_kind=key.get("kind"),
        code_id=key.get("code_id"),
        counts=manifest.get("counts") or {},
        schema=list(manifest.get("schema") or []),
        fingerprint=manifest.get("fingerprint"),
        engram_version=manifest.get("engram_version"),
    )


def describe(path: Path) -> BackupInfo:
    """A backup file as listed; a damaged one is listed with its problem instead of failing."""
    try:
        return info_from_manifest(path, archive.read_manifest(path))
    except EngramError as exc:
        match = NAME.match(path.name)
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        return BackupInfo(path, None, match.group(4) if match else "unknown", False, size, problem=exc.message)


# -- thinning -------------------------------------------------------------------------


def keep_indices(
    timestamps: Sequence[float],
    *,
    daily: int = KEEP_DAILY,
    weekly: int = KEEP_WEEKLY,
    monthly: int = KEEP_MONTHLY,
    tz: tzinfo | None = None,
) -> set[int]:
    """Which backups to keep: the newest one, and the newest of each of the last ``daily`` days,
    ``weekly`` ISO weeks and ``monthly`` months that have a backup (days in ``tz``, local by default).

    A pure function of the timestamps; the indices refer to ``timestamps``.
    """
    order = sorted(range(len(timestamps)), key=lambda i: (-timestamps[i], i))
    keep: set[int] = set(order[:1])

    def when(i: int) -> datetime:
        return datetime.fromtimestamp(timestamps[i], tz=tz) if tz else datetime.fromtimestamp(timestamps[i])

    periods: tuple[tuple[int, Callable[[datetime], tuple]], ...] = (
        (daily, lambda d: (d.year, d.month, d.day)),
        (weekly, lambda d: tuple(d.isocalendar())[:2]),
        (monthly, lambda d: (d.year, d.month)),
    )
    for count, period_of in periods:
        seen: set[tuple] = set()
        for i in order:
            if len(seen) >= count:
                break
            period = period_of(when(i))
            if period not in seen:
                seen.add(period)
                keep.add(i)
    return keep


# -- the service ----------------------------------------------------------------------


class BackupService:
    """Backups of one database.

    ``store`` is the engine's open store once there is one (``attach``: the
    snapshot begins while its write lock is held, and small reads use its
    connection); ``key_hex`` is the database key.  Works without a store too:
    before a migration, and a restore from the command line, back up the
    database file this way.
    """

    def __init__(
        self,
        paths: Paths,
        settings,
        key_hex: str,
        *,
        store=None,
        clock: Callable[[], float] = time.time,
        events=None,
    ):
        self.paths = paths
        self.settings = settings
        self.key_hex = key_hex
        self.store = None
        self.lock = None
        if store is not None:
            self.attach(store)
        self.clock = clock
        self.events = events
        self._list_cache: dict[Path, tuple[tuple, list[BackupInfo]]] = {}
        self._create_lock = threading.Lock()

    def attach(self, store) -> None:
        """From now on read through the engine's open ``store``."""
        self.store = store
        self.lock = store.write_lock

    # -- where ---------------------------------------------------------------------------

    def folder(self) -> Path:
        """The backup folder: the ``backup.folder`` setting, or ``backups/`` in the data directory."""
        chosen = (self.settings.get("backup.folder") or "").strip()
        return Path(chosen).expanduser() if chosen else self.paths.backups_dir

    def usable_folder(self, folder: Path, *, create: bool | None = None) -> Path:
        """``folder`` if it can hold backups, else ``StorageError``.

        Only the default folder (and one named for this one backup, ``--to``)
        is created: a chosen folder that is missing is a disk that is not
        connected, and creating it would put backups on the wrong disk.
        """
        if create is None:
            create = folder == self.paths.backups_dir
        if not folder.is_dir():
            if not create:
                raise StorageError(
                    f"The backup folder {folder} is not available.",
                    fix="Connect the disk it is on, or choose another folder in Backup & export (backup.folder).",
                )
            try:
                folder.mkdir(parents=folder == self.paths.backups_dir, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise StorageError(
                    f"The backup folder {folder} cannot be created: {exc.strerror or exc}.",
                    fix="Check the path, or choose another folder in Backup & export (backup.folder).",
                ) from exc
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StorageError(
                f"The backup folder {folder} is not writable.",
                fix="Make it writable by your user, or choose another folder (backup.folder).",
            )
        return folder

    # -- keys ----------------------------------------------------------------------------

    def recovery(self) -> RecoveryFile | None:
        return load_recovery_file(self.paths)

    def _backup_key(self) -> tuple[str, dict[str, Any], str | None]:
        """(key, manifest key block, warning) for a new backup."""
        try:
            recovery = self.recovery()
        except RecoveryError as exc:
            log.warning("recovery file unusable, backing up with the database key: %s", exc.message)
            recovery, warning = None, exc.message
        else:
            warning = None
        if recovery is not None:
            backup_key = recovery.backup_key_for(self.key_hex)
            if backup_key is not None:
                return backup_key, recovery.backup_key_block(), None
            warning = "The recovery file belongs to another database key, so this backup is keyed with the database key."
            log.warning(warning)
        return self.key_hex, {"kind": "database-key", "key_id": key_id(self.key_hex)}, warning

    def key_block(self) -> dict[str, Any]:
        return self._backup_key()[1]

    def set_up_recovery(self, code: RecoveryCode) -> RecoveryFile:
        """Make ``code`` this computer's recovery code, with a new backup key; replaces an earlier code.

        Backups made before keep opening with the code they were made with;
        from now on backups open with ``code``.  Runs Argon2id once (about 0.7 s).
        """
        made = build_recovery_file(code, self.key_hex)
        write_recovery_file(self.paths, made)
        return made

    def repair_recovery(self, code: RecoveryCode) -> RecoveryFile:
        """Re-wrap the keys of the existing recovery file for this computer's database key, checked with ``code``.

        For a recovery file that no longer matches the database key (the key
        was put back by hand, say): the code proves it is the user's.
        """
        current = self.recovery()
        if current is None:
            raise RecoveryError(
                "There is no recovery code on this computer.",
                fix="Create one with 'engram recovery create' (or in Backup & export).",
            )
        unlocked = current.unlock(code)
        made = build_recovery_file(
            code, self.key_hex, backup_key_hex=unlocked.backup_key_hex, kdf=current.kdf, kek=unlocked.kek,
            code_id=current.code_id, created_at=current.created_at,
        )
        write_recovery_file(self.paths, made)
        return made

    # -- making --------------------------------------------------------------------------

    def create(
        self,
        kind: str = "manual",
        *,
        folder: Path | None = None,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        on_snapshot: Callable[[dict], None] | None = None,
        max_pages: int | None = None,
    ) -> BackupInfo:
        """Make one verified backup now; returns it as listed."""
        if kind not in KINDS:
            raise ValueError(kind)
        folder = self.usable_folder(Path(folder), create=True) if folder else self.usable_folder(self.folder())
        started = time.monotonic()
        with self._create_lock:
            self._remove_stale_partials(folder)
            now = self.clock()
            dest = self._new_name(folder, kind, now)
            snapshot_file = folder / f".{dest.name}.db.partial"
            backup_key, key_block, warning = self._backup_key()

            def stage(name: str, low: float, high: float) -> Callable[[float], None] | None:
                if progress is None:
                    return None
                return lambda fraction: progress(name, low + (high - low) * fraction)

            try:
                snapshot = store_backup.export_snapshot(
                    self.paths.db_path, self.key_hex, snapshot_file, backup_key,
                    live_lock=self.lock, on_snapshot=on_snapshot, progress=stage("Copying", 0.0, 0.6),
                    stop=stop, max_pages=max_pages,
                )
                if progress is not None:
                    progress("Checking", 0.6)
                checks = store_backup.verify_copy(snapshot_file, backup_key, snapshot)
                checks.pop("facts")
                from core import __version__

                manifest = {
                    "format": archive.FORMAT,
                    "format_version": archive.FORMAT_VERSION,
                    "engram_version": __version__,
                    "kind": kind,
                    "created_at": iso(now),
                    "created_ts": now,
                    "host": socket.gethostname(),
                    "schema": snapshot["schema"],
                    "counts": snapshot["counts"],
                    "fingerprint": snapshot["fingerprint"],
                    "verified": {"at": iso(self.clock()), **checks},
                    "key": key_block,
                }
                if stop is not None and stop.is_set():
                    raise archive.CancelledError("The backup was cancelled; no file was kept.")
                final = archive.write_archive(dest, snapshot_file, manifest, backup_key,
                                              progress=stage("Writing", 0.7, 1.0), stop=stop)
            except store_backup.CopyCancelled as exc:
                raise archive.CancelledError(exc.message) from None
            finally:
                snapshot_file.unlink(missing_ok=True)
        self._list_cache.pop(folder, None)
        info = info_from_manifest(dest, final)
        log.info("backup %s written in %.1f s (%d bytes)", dest, time.monotonic() - started, info.bytes)
        if warning:
            info.problem = warning
        if self.events is not None:
            self.events.emit("backup_did_finish", backup=info.to_dict())
        return info

    def _new_name(self, folder: Path, kind: str, now: float) -> Path:
        stamp = datetime.fromtimestamp(now).strftime("%Y%m%d-%H%M%S")
        for n in range(1, 1000):
            suffix = "" if n == 1 else f"-{n}"
            candidate = folder / f"engram-{stamp}{suffix}-{kind}{archive.SUFFIX}"
            if not candidate.exists():
                return candidate
        raise StorageError(f"Too many backups named engram-{stamp} in {folder}.", fix="Remove some, then try again.")

    def _remove_stale_partials(self, folder: Path) -> None:
        """Hidden files left by a backup that was killed half-way (another process's running backup is younger)."""
        cutoff = time.time() - STALE_PARTIAL_SECONDS
        for leftover in folder.glob(".engram-*.partial"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except OSError:
                pass

    def safety_backup(self, kind: str, **kwargs: Any) -> BackupInfo | None:
        """A backup before a risky change (restore, import, migration); None when the store holds nothing.

        If the chosen folder is not usable (a disconnected disk), the backup
        goes to ``backups/`` in the data directory instead: the risky change
        must not go ahead without a copy, nor fail for want of that disk.
        """
        if not self._has_data():
            return None
        try:
            folder = self.usable_folder(self.folder())
        except StorageError as exc:
            log.warning("%s; backing up into %s instead", exc.message, self.paths.backups_dir)
            folder = self.paths.backups_dir
        return self.create(kind, folder=folder, **kwargs)

    def _read(self, reader: Callable[[Any], Any]) -> Any:
        """Run ``reader(connection)`` on the engine's connection, or on a short-lived one without an engine."""
        if self.store is not None:
            return self.store.read(reader)
        conn = store_backup.connect_file(self.paths.db_path, self.key_hex, read_only=False)
        try:
            return reader(conn)
        finally:
            conn.close()

    def _has_data(self) -> bool:
        if not self.paths.db_path.exists():
            return False
        counts = self._read(store_backup.counts)
        return bool(sum(counts["memories"].values()) or counts["observations"])

    def before_migration(self, pending: Sequence[str]) -> BackupInfo | None:
        return self.safety_backup("before-migration")

    # -- listing -------------------------------------------------------------------------

    def list(self, folder: Path | None = None) -> list[BackupInfo]:
        """Engram's backups in ``folder`` (the backup folder by default), newest first."""
        folder = Path(folder) if folder else self.folder()
        if not folder.is_dir():
            return []
        files = sorted(p for p in folder.iterdir() if p.name.endswith(archive.SUFFIX) and not p.name.startswith("."))
        try:
            signature = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
        except OSError:
            signature = None
        cached = self._list_cache.get(folder)
        if cached is not None and signature is not None and cached[0] == signature:
            return list(cached[1])
        infos = [describe(p) for p in files]
        infos.sort(key=lambda b: (b.created_at or 0, b.path.name), reverse=True)
        if signature is not None:
            self._list_cache[folder] = (signature, infos)
        return list(infos)

    def last_good(self, folder: Path | None = None) -> BackupInfo | None:
        for info in self.list(folder):
            if info.verified and info.problem is None:
                return info
        return None

    # -- thinning ------------------------------------------------------------------------

    def thin(self, folder: Path | None = None, *, tz: tzinfo | None = None) -> list[Path]:
        """Delete the backups the thinning rule does not keep; returns what was deleted.

        Only readable Engram backups are candidates: a damaged file or
        anything else in the folder is never touched.
        """
        folder = Path(folder) if folder else self.folder()
        backups = [b for b in self.list(folder) if b.problem is None and b.created_at is not None]
        keep = keep_indices([b.created_at for b in backups], tz=tz)
        safety = [i for i, b in enumerate(backups) if b.kind.startswith("before-")][:KEEP_SAFETY]
        keep.update(safety)
        removed = []
        for index, info in enumerate(backups):
            if index in keep:
                continue
            try:
                info.path.unlink()
                removed.append(info.path)
            except OSError as exc:
                log.warning("could not remove old backup %s: %s", info.path, exc)
        if removed:
            self._list_cache.pop(folder, None)
        return removed

    # -- the schedule --------------------------------------------------------------------

    def interval_seconds(self) -> float:
        return float(self.settings.get("backup.interval_hours")) * 3600

    def run_scheduled(self, stop: threading.Event | None = None) -> dict[str, Any]:
        """The scheduled job: back up when due and something changed, then thin.

        When the chosen folder is not usable (a disconnected disk), the whole
        run uses ``backups/`` in the data directory instead, and says so.
        """
        folder = self.folder()
        unavailable = None
        try:
            self.usable_folder(folder)
        except StorageError as exc:
            unavailable, folder = exc.message, self.paths.backups_dir
        report = self._scheduled_in(folder, stop)
        if unavailable:
            report["folder_unavailable"] = unavailable
        return report

    def _scheduled_in(self, folder: Path, stop: threading.Event | None) -> dict[str, Any]:
        last = self.last_good(folder)
        now = self.clock()
        if last is not None and last.created_at and now - last.created_at < self.interval_seconds() - 60:
            return {"skipped": "not due", "last": iso(last.created_at)}
        if last is not None and last.fingerprint == self._fingerprint() and self._same_key(last):
            removed = self.thin(folder)
            return {"skipped": "nothing changed", "last": iso(last.created_at), "removed": [p.name for p in removed]}
        started = time.monotonic()
        info = self.create("scheduled", folder=folder, stop=stop)
        removed = self.thin(folder)
        return {
            "backup": str(info.path),
            "bytes": info.bytes,
            "memories": info.memories,
            "seconds": round(time.monotonic() - started, 2),
            "removed": [p.name for p in removed],
        }

    def _fingerprint(self) -> str:
        return self._read(store_backup.change_fingerprint)

    def _same_key(self, info: BackupInfo) -> bool:
        block = self.key_block()
        return info.key_kind == block.get("kind") and info.code_id == block.get("code_id")

    # -- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the app page, the status bar and ``doctor`` show."""
        now = self.clock()
        folder = self.folder()
        backups = self.list(folder)
        last = next((b for b in backups if b.verified and b.problem is None), None)
        try:
            recovery = self.recovery()
            recovery_problem = None
        except RecoveryError as exc:
            recovery, recovery_problem = None, exc.message
        warnings = []
        if not folder.is_dir() and folder != self.paths.backups_dir:
            warnings.append(f"The backup folder {folder} is not available (a disconnected disk?); "
                            "scheduled backups go to backups/ in the data directory meanwhile.")
        if last is None:
            warnings.append("There is no backup yet.")
        elif now - (last.created_at or 0) > STALE_AFTER_DAYS * 86400:
            days = int((now - (last.created_at or 0)) // 86400)
            warnings.append(f"The last good backup is {days} days old.")
        if recovery is None:
            warnings.append(
                recovery_problem
                or "There is no recovery code: if this computer's keyring or key file is lost, every memory is lost "
                "with it, backups included. Create a recovery code in Backup & export (or 'engram recovery create')."
            )
        next_at = max(now, (last.created_at or now) + self.interval_seconds()) if last else now
        return {
            "folder": str(folder),
            "folder_is_default": folder == self.paths.backups_dir,
            "last": last.to_dict() if last else None,
            "last_ts": last.created_at if last else None,
            "next_ts": next_at,
            "next": iso(next_at),
            "count": len(backups),
            "interval_hours": self.settings.get("backup.interval_hours"),
            "recovery": {
                "exists": recovery is not None,
                "created_at": iso(recovery.created_at) if recovery else None,
                "problem": recovery_problem,
            },
            "warnings": warnings,
        }
