"""Who has the data directory open: every engine shares ``engram.lock``; a restore takes it alone.

An advisory ``flock`` on a small file beside the database.  Engines (the app,
each ``engram`` command) hold it shared for as long as they are open, so any
number of them work side by side.  Replacing the database file needs it
exclusively: a restore from the command line refuses while the app or another
command is open, and the app's own restore refuses while a command is.  The
operating system drops the lock of a process that dies, so a crash never
leaves the directory locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from typing import Iterator

from core.errors import StorageError
from core.paths import Paths

SHARED_WAIT_SECONDS = 60.0


class DatabaseInUseError(StorageError):
    """Another Engram process has the database open."""


class DataDirLock:
    def __init__(self, paths: Paths):
        self.path = paths.lock_file
        self._fd: int | None = None
        self.mode: str | None = None

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def acquire_shared(self, timeout: float = SHARED_WAIT_SECONDS) -> "DataDirLock":
        """Share the directory; waits while a restore holds it (up to ``timeout`` seconds)."""
        fd = self._open()
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                self.mode = "shared"
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.release()
                    raise DatabaseInUseError(
                        f"A restore has held Engram's data directory {self.path.parent} for over {timeout:.0f} s.",
                        fix="Wait for the restore to finish (or end it), then start Engram again.",
                    ) from None
                time.sleep(0.1)

    def try_exclusive(self) -> bool:
        """Hold the directory alone if nobody else has it; a shared hold of this object is converted."""
        fd = self._open()
        was_shared = self.mode == "shared"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if was_shared:
                # Converting is not atomic: the shared hold may be gone; take it back.
                fcntl.flock(fd, fcntl.LOCK_SH)
            return False
        self.mode = "exclusive"
        return True

    def to_shared(self) -> None:
        if self._fd is not None and self.mode == "exclusive":
            fcntl.flock(self._fd, fcntl.LOCK_SH)
            self.mode = "shared"

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
                self.mode = None

    @contextlib.contextmanager
    def exclusive(self, *, in_app: bool = False) -> Iterator[None]:
        """Hold the directory alone for the block, or raise ``DatabaseInUseError``.

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
