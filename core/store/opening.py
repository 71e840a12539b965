"""Opening the store: the first start, upgrades and every later start, safe when several processes start at once.

An autostarted app and a first ``engram`` command can start together on a new
data directory.  Whatever makes or changes the store -- generating the key,
creating the database, migrating it -- therefore runs while this process holds
the data directory alone (``core.store.lock``), and everything is looked at
again once it does: a process that finds a key already made uses it.  A start
that finds the database, its key and no pending migration only shares the
directory, so everyday starts never wait for each other; an open store keeps
sharing it until it closes (a restore needs it alone).

A read-only data directory (or database file) opens read-only: reading works,
every write is refused with a message that says how to make it writable.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from core.errors import StorageError
from core.events import EventBus
from core.keystore import KeyInfo
from core.models.base import Embedder
from core.paths import Paths
from core.store.db import BUSY_TIMEOUT, Database, read_only_error
from core.store.lock import POLL_SECONDS, DataDirLock, DatabaseInUseError
from core.store.migrations import apply_migrations, newest_applied, pending_migrations
from core.store.store import Store

log = logging.getLogger(__name__)

LOCK_WAIT = 120.0  # seconds a start waits for another process creating or upgrading the store
SHARED_ONLY_PATIENCE = 5.0  # seconds others may keep the store open while this start needs it alone


class Keys(Protocol):
    def load(self) -> tuple[str | None, KeyInfo]: ...

    def create(self) -> tuple[str, KeyInfo]: ...


@dataclass
class OpenedStore:
    store: Store
    key_hex: str
    key_info: KeyInfo
    migrations_applied: list[str]
    lock: DataDirLock | None  # held shared while the store is open (None for a read-only directory)


BeforeMigration = Callable[[str, Sequence[str]], Any]  # (key, pending migrations) -> a backup, before an upgrade


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
        fix="If you made a recovery code, run 'engram recover'; otherwise restore the key file or keyring "
        "entry from your backup. Engram has not changed the database.",
    )


def open_store(
    paths: Paths,
    keys: Keys,
    events: EventBus,
    embedder_provider: Callable[[], Embedder],
    clock: Callable[[], float] = time.time,
    *,
    before_migration: BeforeMigration | None = None,
    copy_folders: Sequence[Path] = (),
    busy_timeout: float = BUSY_TIMEOUT,
    lock_timeout: float = LOCK_WAIT,
) -> OpenedStore:
    """Open the store of ``paths``: create the key and database on first start, apply pending migrations.

    ``before_migration(key, pending)`` runs before a store that holds data is
    upgraded (a verified backup, kept in one of ``copy_folders`` until the new
    schema has opened cleanly for a week; see ``core.store.upgrade_copies``).  The returned ``lock`` is held shared until
    the caller releases it, after closing the store.

    Raises ``CorruptDatabaseError`` for a file that cannot be an Engram
    database (before any key is tried), ``WrongKeyError`` when the key does not
    open it, and ``StorageError`` when the key is missing or the directory is
    unusable.
    """

    def build(db: Database, key: str, info: KeyInfo, applied: list[str], lock: DataDirLock | None) -> OpenedStore:
        store = Store(db, events, embedder_provider, clock, copy_folders=copy_folders or [paths.backups_dir])
        return OpenedStore(store, key, info, applied, lock)

    if _read_only(paths):
        return _open_read_only(paths, keys, build, busy_timeout)
    lock = DataDirLock(paths)
    deadline = time.monotonic() + lock_timeout
    shared_only_since: float | None = None
    try:
        while True:
            if lock.try_shared():
                # Nobody is creating or upgrading the store now: what is found here is final.
                opened = _open_as_it_is(paths, keys, build, busy_timeout, lock)
                if opened is not None:
                    break
                lock.release()
            if lock.try_exclusive():
                opened = _open_under_lock(paths, keys, build, busy_timeout, lock, before_migration)
                lock.to_shared()
                break
            now = time.monotonic()
            if lock.try_shared():
                lock.release()
                # Others share the directory and nobody prepares the store.  Starts racing this one share
                # it for a moment; an Engram of another version that keeps it open would make this one wait
                # for ever, so after a while say so.
                shared_only_since = shared_only_since or now
                if now - shared_only_since > SHARED_ONLY_PATIENCE:
                    raise DatabaseInUseError(
                        f"Another Engram has the store in {paths.data_dir} open, and this Engram needs it alone "
                        "to create or upgrade it.",
                        fix="Quit the other Engram (the app, or an 'engram' command), then start this one again. "
                        "Nothing has been changed.",
                    )
            else:
                shared_only_since = None
            if now >= deadline:
                raise _timeout_error(paths, lock, lock_timeout)
            time.sleep(POLL_SECONDS)
    except BaseException:
        lock.release()
        raise
    try:
        schema = newest_applied(opened.store.db)
        if schema and not opened.store.read_only:
            opened.store.pre_upgrade_copies.after_clean_open(schema)
    except BaseException:
        opened.store.close()
        lock.release()
        raise
    return opened


def _timeout_error(paths: Paths, lock: DataDirLock, waited: float) -> StorageError:
    from core.store.holders import describe

    holder = lock.holder()
    who = describe(holder) if holder else "another process"
    return StorageError(
        f"{who[0].upper() + who[1:]} has been preparing the database in {paths.data_dir} "
        f"(creating it or upgrading it) for over {waited:g} s, so Engram did not start.",
        fix=f"Wait for it to finish and try again; if it hangs, end it{f' (kill {holder})' if holder else ''} "
        "and start again. Nothing has been lost.",
    )


def _open_as_it_is(paths: Paths, keys: Keys, build, busy_timeout: float, lock: DataDirLock) -> OpenedStore | None:
    """The everyday start (the directory shared): database and key exist, nothing to migrate.

    None when something must be created or upgraded (the caller takes the
    directory alone); errors found here are final.
    """
    if not _has_database(paths.db_path):
        return None
    Database.check_file_shape(paths.db_path)  # a damaged file is named as such, not as a key problem
    key, info = keys.load()
    if key is None:
        return None  # looked at again holding the directory alone, where a missing key is final
    db = Database.open(paths.db_path, key, create=False, busy_timeout=busy_timeout)
    try:
        if pending_migrations(db):
            db.close()
            return None
    except BaseException:
        db.close()
        raise
    return build(db, key, info, [], lock)


def _open_under_lock(paths: Paths, keys: Keys, build, busy_timeout: float, lock: DataDirLock,
                     before_migration: BeforeMigration | None) -> OpenedStore:
    """Holding the directory alone: look at everything again, then create what is missing and migrate."""
    exists = _has_database(paths.db_path)
    if exists:
        Database.check_file_shape(paths.db_path)
    key, info = keys.load()
    if key is None:
        if exists:
            raise _missing_key(paths)
        key, info = keys.create()
    db = Database.open(paths.db_path, key, busy_timeout=busy_timeout)
    try:
        applied = apply_migrations(db, lambda pending: before_migration(key, pending) if before_migration else None)
        opened = build(db, key, info, applied, lock)
        if not exists:
            opened.store.secrets_recheck.mark_checked()  # nothing in a new store escaped the current detector
    except BaseException:
        db.close()
        raise
    return opened


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
    return build(db, key, info, [], None)
