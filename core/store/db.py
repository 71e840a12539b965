"""The encrypted database connection.

One SQLCipher 4 connection per engine, with sqlite-vec loaded, WAL journaling
and foreign keys on.  The connection is shared by the engine's threads and
guarded by a re-entrant lock: ``with db.transaction():`` holds it for a whole
write, so two threads never interleave statements of different transactions.
The key is passed as raw hex, so no key derivation runs at open.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from core.errors import CorruptDatabaseError, ReadOnlyStoreError, StorageError, WrongKeyError

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
PAGE_SIZE = 4096
BUSY_TIMEOUT = 30.0  # seconds a write waits for another process's lock before giving up


def _driver():
    import sqlcipher3

    return sqlcipher3


def _disk_error(exc: Exception, path: Path, waited: float | None = None) -> StorageError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        from core.store.holders import busy_error

        return busy_error(path, waited)
    if "full" in text:
        return StorageError(
            f"The disk holding {path} is full; nothing was written.",
            fix="Free some disk space, then try again. Everything stored before is intact.",
        )
    if "readonly" in text or "read-only" in text:
        return StorageError(
            f"The database {path} is read-only; nothing was written.",
            fix=f"Make {path.parent} and its files writable by your user (or set ENGRAM_HOME to a writable place).",
        )
    return StorageError(f"The database {path} could not be written: {exc}.", fix="Run 'engram doctor' for details.")


def _storage_error(exc: Exception, path: Path) -> StorageError | None:
    """The ``EngramError`` for a driver error a user can act on, or None for a programming error."""
    text = str(exc).lower()
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return CorruptDatabaseError(
            f"The database {path} is damaged: part of it cannot be read ({exc}). Nothing was changed.",
            fix="Run 'engram doctor' to check it. Then quit Engram, move the damaged file aside (keep it) and put the "
            f"newest copy from {path.parent / 'backups'} (or your own backup) in its place, with the same key.",
        )
    if isinstance(exc, _driver().OperationalError) and ("full" in text or "readonly" in text or "read-only" in text):
        return _disk_error(exc, path)
    return None


def raise_storage_error(exc: Exception, path: Path) -> None:
    """Raise the ``StorageError`` for ``exc`` if it is one (damaged file, full disk); otherwise return.

    For code that tolerates a failed query (a malformed search expression) but
    must never hide a damaged database behind an empty result.
    """
    if isinstance(exc, _driver().DatabaseError):
        mapped = _storage_error(exc, path)
        if mapped is not None:
            raise mapped from exc


def read_only_error(path: Path) -> ReadOnlyStoreError:
    where = path.parent
    return ReadOnlyStoreError(
        f"Engram's data directory {where} is read-only, so nothing can be saved (searching and reading still work).",
        fix=f"Make it writable again ('chmod u+w {where}', or 'chattr -i {where}' if it was made immutable, or "
        "remount the disk read-write), or set ENGRAM_HOME to a writable copy of it.",
    )


class Database:
    """A SQLCipher connection with sqlite-vec, and a lock for thread safety."""

    def __init__(self, conn, path: Path, *, read_only: bool = False, busy_timeout: float = BUSY_TIMEOUT):
        self.conn = conn
        self.path = path
        self.read_only = read_only  # opened from a read-only directory: every write is refused up front
        self.busy_timeout = busy_timeout
        self.lock = threading.RLock()
        self._depth = 0
        self._sqlite_utils = None
        self._after_commit: list = []
        self._savepoint_marks: list[int] = []
        self._owner: int | None = None  # the thread inside the open transaction

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, key_hex: str, *, create: bool = True, busy_timeout: float = BUSY_TIMEOUT) -> "Database":
        """Open (or create) the encrypted database at ``path`` with ``key_hex``.

        Raises ``WrongKeyError`` when the key does not open an existing file,
        ``CorruptDatabaseError`` when the file cannot be an Engram database, and
        ``StorageError`` when the directory is not usable.
        """
        driver = _driver()
        path = Path(path)
        existed = path.exists() and path.stat().st_size > 0
        if existed:
            cls.check_file_shape(path)
        elif not create:
            raise StorageError(f"There is no database at {path}.", fix="Start Engram once to create it.")
        if not os.access(path.parent, os.W_OK):
            raise StorageError(
                f"Engram cannot write to its data directory {path.parent}.",
                fix=f"Make {path.parent} writable by your user, or set ENGRAM_HOME to a writable directory.",
            )
        try:
            conn = driver.connect(str(path), check_same_thread=False, isolation_level=None, timeout=busy_timeout)
        except driver.Error as exc:
            raise StorageError(f"The database {path} cannot be opened: {exc}.", fix="Run 'engram doctor'.") from exc
        try:
            conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")
            conn.execute("PRAGMA cipher_memory_security = OFF")
            conn.execute("PRAGMA cipher_log_level = NONE")  # a damaged page is reported as a CorruptDatabaseError, not C log lines
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except driver.DatabaseError as exc:
                raise WrongKeyError(
                    f"The database {path} cannot be opened with the key Engram has: the key is wrong "
                    "(for example the keyring entry or key file was replaced) or the file is damaged.",
                    fix="Restore the original key (keyring entry 'engram' or the engram.key file) or restore "
                    f"the database from a copy in {path.parent / 'backups'}. Engram has not changed the file.",
                ) from exc
            if not existed or os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)  # new, or left readable by others (a copy made under another umask)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # Deleted rows and freed pages are overwritten with zeros, so forgotten text leaves no trace
            # in the file (SQLCipher turns this on by default; said here so it never depends on that).
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -32000")
            cls._load_vec(conn)
        except BaseException:
            conn.close()
            raise
        db = cls(conn, path, busy_timeout=busy_timeout)
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                os.chmod(side, 0o600)
        return db

    @classmethod
    def open_read_only(cls, path: Path, key_hex: str, *, busy_timeout: float = BUSY_TIMEOUT) -> "Database":
        """Open the database of a read-only directory for reading; every write is refused with a clear error.

        SQLite needs to create ``-wal`` and ``-shm`` files beside a WAL database
        to read it normally, which a read-only directory forbids.  When another
        process left them there (it is running, or it crashed), ``mode=ro``
        reads through them and sees its latest commits; otherwise nothing can be
        pending in a WAL and ``immutable=1`` reads the file alone, without locks.
        """
        driver = _driver()
        path = Path(path)
        cls.check_file_shape(path)
        wal, shm = Path(str(path) + "-wal"), Path(str(path) + "-shm")
        modes = ["mode=ro", "immutable=1"] if wal.exists() and shm.exists() else ["immutable=1"]
        last: Exception | None = None
        for mode in modes:
            try:
                conn = driver.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, check_same_thread=False,
                                      isolation_level=None, timeout=busy_timeout)
            except driver.Error as exc:
                last = exc
                continue
            try:
                conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")
                conn.execute("PRAGMA cipher_memory_security = OFF")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except driver.DatabaseError as exc:
                conn.close()
                last = exc
                if "not a database" in str(exc).lower():
                    raise WrongKeyError(
                        f"The database {path} cannot be opened with the key Engram has: the key is wrong "
                        "or the file is damaged.",
                        fix="Restore the original key (keyring entry 'engram' or the engram.key file). "
                        "Engram has not changed the file.",
                    ) from exc
                continue
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
                conn.execute("PRAGMA temp_store = MEMORY")
                conn.execute("PRAGMA cache_size = -32000")
                cls._load_vec(conn)
            except BaseException:
                conn.close()
                raise
            if mode == "immutable=1" and wal.exists() and wal.stat().st_size:
                log.warning("%s holds changes that cannot be read without writing; they are left out", wal)
            return cls(conn, path, read_only=True, busy_timeout=busy_timeout)
        raise StorageError(
            f"The database {path} cannot be opened for reading: {last}.",
            fix=f"Make {path.parent} writable again so Engram can open it normally, then try again.",
        )

    @staticmethod
    def check_file_shape(path: Path) -> None:
        with open(path, "rb") as handle:
            head = handle.read(16)
        size = path.stat().st_size
        if head == SQLITE_HEADER:
            raise CorruptDatabaseError(
                f"{path} is an unencrypted SQLite file, not an Engram database.",
                fix="Move that file away (Engram never stores memories unencrypted) and start Engram again.",
            )
        if size < PAGE_SIZE or size % 512:
            raise CorruptDatabaseError(
                f"The database {path} is damaged: it is {size} bytes, which no Engram database can be.",
                fix=f"Move it aside and restore a copy from {path.parent / 'backups'}; "
                "Engram will create a fresh database if you start without one.",
            )

    @staticmethod
    def _load_vec(conn) -> None:
        import sqlite_vec

        conn.enable_load_extension(True)
        try:
            sqlite_vec.load(conn)
        finally:
            conn.enable_load_extension(False)

    # -- access ----------------------------------------------------------------------

    @property
    def utils(self):
        """A sqlite-utils view of the same connection (for migrations and introspection)."""
        if self._sqlite_utils is None:
            import sqlite_utils

            self._sqlite_utils = sqlite_utils.Database(self.conn)
        return self._sqlite_utils

    @contextlib.contextmanager
    def _reported(self) -> Iterator[None]:
        """Turn a damaged file, a full disk or a read-only file into the ``StorageError`` that says so."""
        try:
            yield
        except _driver().DatabaseError as exc:
            text = str(exc).lower()
            if self.read_only and "readonly" in text:
                raise read_only_error(self.path) from exc
            if isinstance(exc, _driver().OperationalError) and ("locked" in text or "busy" in text):
                raise _disk_error(exc, self.path, self.busy_timeout) from exc
            mapped = _storage_error(exc, self.path)
            if mapped is None:
                raise
            raise mapped from exc

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        with self.lock, self._reported():
            return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict = ()) -> list[dict]:
        with self.lock, self._reported():
            cursor = self.conn.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def query_one(self, sql: str, params: Sequence[Any] | dict = ()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        with self.lock, self._reported():
            row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Database"]:
        """Hold the lock for a whole write; nested calls become savepoints."""
        driver = _driver()
        if self.read_only:
            raise read_only_error(self.path)
        with self.lock:
            self._depth += 1
            name = f"sp{self._depth}"
            try:
                if self._depth == 1:
                    self.conn.execute("BEGIN IMMEDIATE")
                    self._owner = threading.get_ident()
                else:
                    self.conn.execute(f"SAVEPOINT {name}")
            except driver.OperationalError as exc:
                self._depth -= 1
                raise _disk_error(exc, self.path, self.busy_timeout) from exc
            self._savepoint_marks.append(len(self._after_commit))
            try:
                yield self
            except BaseException:
                # SQLite rolls the whole transaction back by itself after some errors
                # (a full disk, an I/O error); then there is nothing left to undo.
                if self.conn.in_transaction:
                    if self._depth == 1:
                        self.conn.execute("ROLLBACK")
                    else:
                        self.conn.execute(f"ROLLBACK TO {name}")
                        self.conn.execute(f"RELEASE {name}")
                del self._after_commit[self._savepoint_marks.pop() :]
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                raise
            try:
                if self._depth == 1:
                    self.conn.execute("COMMIT")
                else:
                    self.conn.execute(f"RELEASE {name}")
            except driver.OperationalError as exc:
                if self._depth == 1:
                    with contextlib.suppress(Exception):
                        self.conn.execute("ROLLBACK")
                del self._after_commit[self._savepoint_marks.pop() :]
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                raise _disk_error(exc, self.path) from exc
            self._savepoint_marks.pop()
            self._depth -= 1
            ready = []
            if self._depth == 0:
                self._owner = None
                ready, self._after_commit = self._after_commit, []
        for callback in ready:
            callback()

    def in_transaction(self) -> bool:
        """True when the calling thread is inside ``transaction()`` (so it holds the write lock)."""
        return self._depth > 0 and self._owner == threading.get_ident()

    def after_commit(self, callback) -> None:
        """Run ``callback`` once the current transaction commits (now if there is none); never if it rolls back.

        Events are published this way, so no listener hears of a change that a
        rollback later undid.
        """
        with self.lock:
            if self._depth:
                self._after_commit.append(callback)
                return
        callback()

    def versions(self) -> dict[str, str]:
        with self.lock:
            sqlite_version, vec_version = self.conn.execute("SELECT sqlite_version(), vec_version()").fetchone()
            cipher = self.conn.execute("PRAGMA cipher_version").fetchone()
        return {"sqlite": sqlite_version, "sqlcipher": cipher[0] if cipher else "none", "sqlite_vec": vec_version}

    def integrity_check(self) -> str:
        return str(self.scalar("PRAGMA integrity_check"))

    def damage(self) -> list[str]:
        """Problems found in the file: pages whose checksum fails, then SQLite's structural check; [] when sound.

        Reads every page once (a few seconds for a large store); ``engram doctor`` runs it.
        """
        with self.lock:
            problems = [str(r[0]) for r in self.conn.execute("PRAGMA cipher_integrity_check").fetchall()]
            try:
                rows = [str(r[0]) for r in self.conn.execute("PRAGMA quick_check").fetchall()]
            except _driver().DatabaseError as exc:
                rows = [str(exc)]
        problems += [line for row in rows if row != "ok" for line in row.splitlines() if not line.startswith("***")]
        return problems

    def backup_to(self, dest: Path) -> Path:
        """A consistent encrypted copy of the database (same key) at ``dest``."""
        with self.lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            tmp = dest.with_name(dest.name + ".tmp")
            shutil.copyfile(self.path, tmp)
            os.chmod(tmp, 0o600)
            os.replace(tmp, dest)
        return dest

    @contextlib.contextmanager
    def reopened(self, key_hex: str) -> Iterator[None]:
        """Close the connection for the block, then open the file at ``self.path`` again with ``key_hex``.

        A restore replaces the file inside the block; everything holding this
        object works on the new file afterwards.  Other threads wait on the
        lock meanwhile.  Refused inside a transaction.
        """
        with self.lock:
            if self._depth:
                raise StorageError("The database cannot be replaced inside a transaction.", fix="This is a bug in Engram.")
            self.conn.close()
            try:
                yield
            finally:
                fresh = Database.open(self.path, key_hex, create=False)
                self.conn = fresh.conn
                self._sqlite_utils = None

    def close(self) -> None:
        with self.lock:
            try:
                if not self.read_only:
                    self.conn.execute("PRAGMA optimize")
            except Exception:  # closing must not fail because the disk is full
                log.debug("optimize at close failed", exc_info=True)
            self.conn.close()


def timestamped_backup_name(prefix: str) -> str:
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.db"
