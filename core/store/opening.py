"""Opening the store: the first start, upgrades and every later start, safe when several processes start at once.

An autostarted app and a first ``engram`` command can start together on a new
data directory.  Whatever makes or changes the store -- generating the key,
creating the database, migrating it -- therefore runs under an exclusive
lock (``flock`` on ``engram.lock`` in the data directory, with the holder's pid
written into it for messages), and everything is looked at again once the
lock is held: a process that finds a key already made uses it.  A start that
finds the database, its key and no pending migration opens without the lock,
so everyday starts never wait for each other.

A read-only data directory (or database file) opens read-only: reading works,
every write is refused with a message that says how to make it writable.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from core.errors import EngramError, StorageError
from core.events import EventBus
from core.keystore import KeyInfo
from core.models.base import Embedder
from core.paths import Paths
from core.store.db import BUSY_TIMEOUT, Database, read_only_error
from core.store.migrations import apply_migrations, newest_applied, pending_migrations
from core.store.store import Store

log = logging.getLogger(__name__)

LOCK_NAME = "engram.lock"
LOCK_WAIT = 120.0  # seconds a start waits for another process creating or upgrading the store
_POLL = 0.02


class Keys(Protocol):
    def load(self) -> tuple[str | None, KeyInfo]: ...

    def create(self) -> tuple[str, KeyInfo]: ...


@dataclass
class OpenedStore:
    store: Store
    key_info: KeyInfo
    migrations_applied: list[str]


class StartLock:
    """``with StartLock(data_dir):`` holds the data directory's exclusive start lock.

    The lock is an ``flock`` on ``engram.lock``: the kernel releases it when
    its holder exits, even by a crash, so a stale file never blocks anyone.
    The file is never deleted (deleting a lock file lets two processes lock two
    different files).
    """

    def __init__(self, data_dir: Path, timeout: float = LOCK_WAIT):
        self.path = Path(data_dir) / LOCK_NAME
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> "StartLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(
                f"Engram cannot create its lock file {self.path}: {exc.strerror or exc}.",
                fix=f"Make {self.path.parent} writable by your user, or set ENGRAM_HOME to a writable directory.",
            ) from exc
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise self._timeout_error(holder) from None
                time.sleep(_POLL)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _timeout_error(self, holder: int | None) -> StorageError:
        from core.store.holders import describe

        who = describe(holder) if holder else "another process"
        return StorageError(
            f"{who[0].upper() + who[1:]} has been preparing the database in {self.path.parent} "
            f"(creating it or upgrading it) for over {self.timeout:g} s, so Engram did not start.",
            fix=f"Wait for it to finish and try again; if it hangs, end it{f' (kill {holder})' if holder else ''} "
            "and start again. Nothing has been lost.",
        )


def _read_holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        return int(text.split()[0]) if text else None
    except (OSError, ValueError, IndexError):
        return None


def _has_database(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _read_only(paths: Paths) -> bool:
    db = paths.db_path
    return paths.data_dir_read_only() or (_has_database(db) and not os.access(db, os.W_OK))


def _missing_key(paths: Paths) -> StorageError:
    return StorageError(
        f"The database {paths.db_path} exists but its key is missing "
        f"(looked in the OS keyring and in {paths.key_file}).",
        fix="Restore the key file or keyring entry from your backup. Engram has not changed the database.",
    )


def open_store(
    paths: Paths,
    keys: Keys,
    events: EventBus,
    embedder_provider: Callable[[], Embedder],
    clock: Callable[[], float] = time.time,
    *,
    busy_timeout: float = BUSY_TIMEOUT,
    lock_timeout: float = LOCK_WAIT,
) -> OpenedStore:
    """Open the store of ``paths``: create the key and database on first start, apply pending migrations.

    Raises ``CorruptDatabaseError`` for a file that cannot be an Engram
    database (before any key is tried), ``WrongKeyError`` when the key does not
    open it, and ``StorageError`` when the key is missing or the directory is
    unusable.
    """

    def build(db: Database, info: KeyInfo, applied: list[str]) -> OpenedStore:
        return OpenedStore(Store(db, events, embedder_provider, clock, backups_dir=paths.backups_dir), info, applied)

    if _read_only(paths):
        return _open_read_only(paths, keys, build, busy_timeout)
    opened = _open_without_lock(paths, keys, build, busy_timeout)
    if opened is None:
        with StartLock(paths.data_dir, lock_timeout):
            opened = _open_under_lock(paths, keys, build, busy_timeout)
    try:
        schema = newest_applied(opened.store.db)
        if schema and not opened.store.read_only:
            opened.store.backups.after_clean_open(schema)
    except BaseException:
        opened.store.close()
        raise
    return opened


def _open_without_lock(paths: Paths, keys: Keys, build, busy_timeout: float) -> OpenedStore | None:
    """The everyday start: database and key exist, nothing to migrate.  None sends the caller to the lock."""
    if not _has_database(paths.db_path):
        return None
    try:
        Database.check_file_shape(paths.db_path)
        key, info = keys.load()
        if key is None:
            return None
        db = Database.open(paths.db_path, key, create=False, busy_timeout=busy_timeout)
    except EngramError as exc:
        # Perhaps another process is creating the store right now; under the lock the answer is final.
        log.debug("opening without the start lock failed (%s); taking the lock", exc.message)
        return None
    try:
        if pending_migrations(db):
            db.close()
            return None
    except BaseException:
        db.close()
        raise
    return build(db, info, [])


def _open_under_lock(paths: Paths, keys: Keys, build, busy_timeout: float) -> OpenedStore:
    """With the start lock held: look at everything again, then create what is missing and migrate."""
    exists = _has_database(paths.db_path)
    if exists:
        Database.check_file_shape(paths.db_path)  # a damaged file is named as such, not as a key problem
    key, info = keys.load()
    if key is None:
        if exists:
            raise _missing_key(paths)
        key, info = keys.create()
    db = Database.open(paths.db_path, key, busy_timeout=busy_timeout)
    try:
        applied = apply_migrations(db, paths.backups_dir)
    except BaseException:
        db.close()
        raise
    return build(db, info, applied)


def _open_read_only(paths: Paths, keys: Keys, build, busy_timeout: float) -> OpenedStore:
    if not _has_database(paths.db_path):
        raise StorageError(
            f"Engram's data directory {paths.data_dir} is read-only and holds no database yet.",
            fix=f"Make {paths.data_dir} writable by your user, or set ENGRAM_HOME to a writable directory.",
        )
    Database.check_file_shape(paths.db_path)
    key, info = keys.load()
    if key is None:
        raise _missing_key(paths)
    db = Database.open_read_only(paths.db_path, key, busy_timeout=busy_timeout)
    try:
        pending = pending_migrations(db)
    except BaseException:
        db.close()
        raise
    if pending:
        db.close()
        error = read_only_error(paths.db_path)
        raise StorageError(
            f"The database {paths.db_path} needs an upgrade ({', '.join(pending)}) before this version of Engram "
            f"can read it, and its directory is read-only.",
            fix=error.fix,
        )
    log.info("the data directory %s is read-only: opened the store for reading", paths.data_dir)
    return build(db, info, [])
