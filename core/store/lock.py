"""Who has the data directory: one advisory ``flock`` on ``engram.lock`` beside the database.

* Every open engine (the app, each ``engram`` command) holds it **shared** for as
  long as it is open, so any number of them work side by side.
* Creating the store (the key, the database) and upgrading its schema take it
  **exclusively**, so an autostarted app and a first command starting together
  cannot make two keys; a start that finds another process doing that waits.
* Replacing the database file (a restore) needs it exclusively too: refused
  while the app or another command has the store open.

The holder of the exclusive lock writes its pid into the file, so a start that
waits too long can name it.  The kernel drops the lock of a process that dies,
so a crash never leaves the directory locked, and the file is never deleted
(deleting a lock file lets two processes lock two different files).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

from core.errors import StorageError
from core.paths import Paths

SHARED_WAIT_SECONDS = 60.0
POLL_SECONDS = 0.02


class DatabaseInUseError(StorageError):
    """Another Engram process has the database open."""


class DataDirLock:
    """The data directory's lock; see the module docstring."""

    def __init__(self, paths: Paths):
        self.path: Path = paths.lock_file
        self._fd: int | None = None
        self.mode: str | None = None  # None, "shared" or "exclusive"

    # -- the file -------------------------------------------------------------------------

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StorageError(
                    f"Engram cannot create its lock file {self.path}: {exc.strerror or exc}.",
                    fix=f"Make {self.path.parent} writable by your user, or set ENGRAM_HOME to a writable directory.",
                ) from exc
        return self._fd

    def holder(self) -> int | None:
        """The pid of the process holding the lock exclusively, as written in the file (None if unknown)."""
        try:
            text = self.path.read_text(encoding="ascii", errors="replace").strip()
            return int(text.split()[0]) if text else None
        except (OSError, ValueError, IndexError):
            return None

    def _write_holder(self, pid: int | None) -> None:
        fd = self._fd
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            if pid is not None:
                os.pwrite(fd, f"{pid}\n".encode(), 0)

    # -- taking and letting go -------------------------------------------------------------

    def try_shared(self) -> bool:
        """Share the directory if nobody holds it alone (without waiting)."""
        fd = self._open()
        was_exclusive = self.mode == "exclusive"
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if was_exclusive:
            self._write_holder(None)
        self.mode = "shared"
        return True

    def try_exclusive(self) -> bool:
        """Hold the directory alone if nobody else has it (without waiting); a shared hold of this object converts.

        Converting is not atomic (the kernel lets go of the shared hold first): on
        failure a shared hold is taken back, waiting if it must.
        """
        fd = self._open()
        was_shared = self.mode == "shared"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if was_shared:
                fcntl.flock(fd, fcntl.LOCK_SH)
            return False
        self.mode = "exclusive"
        self._write_holder(os.getpid())
        return True

    def acquire_shared(self, timeout: float = SHARED_WAIT_SECONDS) -> "DataDirLock":
        """Share the directory; waits while a start, an upgrade or a restore holds it (up to ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while not self.try_shared():
            if time.monotonic() >= deadline:
                holder = self.holder()
                self.release()
                who = f"process {holder}" if holder else "another process"
                raise DatabaseInUseError(
                    f"{who[0].upper() + who[1:]} has held Engram's data directory {self.path.parent} alone "
                    f"(creating, upgrading or restoring the store) for over {timeout:.0f} s.",
                    fix="Wait for it to finish" + (f", or end it ('kill {holder}') if it hangs" if holder else "")
                    + ", then start Engram again. Nothing has been lost.",
                ) from None
            time.sleep(POLL_SECONDS)
        return self

    def to_shared(self) -> None:
        if self._fd is not None and self.mode == "exclusive":
            self._write_holder(None)
            fcntl.flock(self._fd, fcntl.LOCK_SH)
            self.mode = "shared"

    def release(self) -> None:
        if self._fd is not None:
            try:
                if self.mode == "exclusive":
                    self._write_holder(None)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
                self.mode = None

    @contextlib.contextmanager
    def exclusive(self, *, in_app: bool = False) -> Iterator[None]:
        """Hold the directory alone for the block (a restore), or raise ``DatabaseInUseError``.

        When this object was shared (the app's own engine), it is shared again
        afterwards; otherwise it is released.
        """
        was_shared = self.mode == "shared"
        if not self.try_exclusive():
            if in_app:
                raise DatabaseInUseError(
                    "Another Engram process (an 'engram' command in a terminal?) has the database open, "
                    "so it cannot be replaced now.",
                    fix="Let that command finish or stop it, then restore again. Nothing was changed.",
                )
            raise DatabaseInUseError(
                "Engram is running (the app, or another 'engram' command) and has the database open, "
                "so it cannot be replaced now.",
                fix="Quit Engram (tray menu → Quit) and let other engram commands finish, then run the restore "
                "again; or restore from the app: Backup & export → Restore…. Nothing was changed.",
            )
        try:
            yield
        finally:
            if was_shared:
                self.to_shared()
            else:
                self.release()

    def __del__(self) -> None:  # an engine that failed half-way through opening lets go
        try:
            self.release()
        except Exception:
            pass
