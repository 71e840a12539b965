"""One running app per data directory, and the channel a second start talks to it through.

The first ``engram app`` takes an exclusive ``flock`` on ``app.lock`` in the
data directory and listens on a local socket whose name is derived from that
directory.  A second start finds the lock taken, sends its command over the
socket ("show", "quick-recall", "quit") and exits: it never opens the engine,
so it never starts a second capture.

The kernel drops the lock when its process dies, however it dies, so the
lock, not the socket file, decides who runs: a socket left by a killed
process is removed by the next instance that takes the lock.  The socket
lives in ``$XDG_RUNTIME_DIR`` or, where there is none, in
``/tmp/engram-<uid>``; either must be a directory owned by the user and
closed to everyone else (0700), so only the user's own processes can talk to
the app.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import socket
import stat
import tempfile
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from core.errors import StorageError

log = logging.getLogger(__name__)

LOCK_NAME = "app.lock"
COMMANDS = ("show", "quick-recall", "quit")


def _private_dir(path: Path) -> bool:
    """True when ``path`` is a real directory owned by this user and closed to others."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def channel_dir(environ: dict[str, str] | None = None) -> Path:
    """Where the socket goes: ``$XDG_RUNTIME_DIR`` when it is private, else ``/tmp/engram-<uid>``."""
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and _private_dir(Path(runtime)):
        return Path(runtime)
    fallback = Path(tempfile.gettempdir()) / f"engram-{os.getuid()}"
    try:
        fallback.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"Engram cannot create its private runtime directory {fallback}: {exc.strerror or exc}.",
            fix="Set XDG_RUNTIME_DIR to a directory only you can open (your desktop session normally does).",
        ) from exc
    if not _private_dir(fallback):
        raise StorageError(
            f"{fallback} is not a directory private to you, so Engram will not put its socket there.",
            fix=f"Remove {fallback} (another user may have created it), or set XDG_RUNTIME_DIR to a private directory.",
        )
    return fallback


def socket_path(data_dir: Path, environ: dict[str, str] | None = None) -> Path:
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    return channel_dir(environ) / f"engram-{digest}.sock"


class AlreadyRunning(StorageError):
    """Another Engram holds this data directory and did not take the command."""


class SingleInstance(QObject):
    """The lock and the channel for one data directory.

    ``claim()`` returns True for the first instance, which then ``listen()``s;
    a later instance calls ``send(command)``.  Commands that arrive before the app is
    ready are kept and handed over by ``deliver_to(handler)``.
    """

    def __init__(self, data_dir: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.lock_path = self.data_dir / LOCK_NAME
        self.socket_path = socket_path(self.data_dir)
        self._lock_fd: int | None = None
        self._server: QLocalServer | None = None
        self._pending: list[str] = []
        self._handler: Callable[[str], None] | None = None

    # -- the first instance ---------------------------------------------------------------

    def claim(self) -> bool:
        """Take the lock; False when another instance holds this data directory.  Needs no QApplication."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(
                f"Engram cannot open its lock file {self.lock_path}: {exc.strerror or exc}.",
                fix=f"Make {self.data_dir} writable by your user, or set ENGRAM_HOME to a writable directory.",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    def listen(self) -> None:
        """Open the channel for later starts (after ``claim()``, once the QApplication exists)."""
        # Holding the lock, nobody else can be listening: a socket file here is a dead instance's.
        QLocalServer.removeServer(str(self.socket_path))
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(str(self.socket_path)):
            # The app still runs; a later start then says it cannot reach it, with the fix.
            log.warning("cannot listen on %s: %s", self.socket_path, server.errorString())
            return
        server.newConnection.connect(self._accept)
        self._server = server

    def holder_pid(self) -> int | None:
        try:
            return int(self.lock_path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _accept(self) -> None:
        while self._server is not None and self._server.hasPendingConnections():
            connection = self._server.nextPendingConnection()
            connection.readyRead.connect(lambda c=connection: self._read(c))
            connection.disconnected.connect(connection.deleteLater)

    def _read(self, connection: QLocalSocket) -> None:
        if not connection.canReadLine():
            return
        command = bytes(connection.readLine()).decode("utf-8", "replace").strip()
        known = command in COMMANDS
        connection.write(b"ok\n" if known else b"unknown command\n")
        connection.flush()
        connection.disconnectFromServer()
        if known:
            if self._handler is None:
                self._pending.append(command)
            else:
                self._handler(command)

    def deliver_to(self, handler: Callable[[str], None]) -> None:
        """Hand every command, those already received first, to ``handler`` on the main thread."""
        self._handler = handler
        pending, self._pending = self._pending, []
        for command in pending:
            handler(command)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()  # also removes the socket file
            self._server = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- a later start --------------------------------------------------------------------

    def send(self, command: str, timeout: float = 10.0) -> None:
        """Give ``command`` to the running instance; raises ``AlreadyRunning`` when it does not answer.

        The running instance may have just taken the lock and not yet listen,
        so connecting is retried until ``timeout``.
        """
        if command not in COMMANDS:
            raise ValueError(command)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
                    channel.settimeout(max(0.1, deadline - time.monotonic()))
                    channel.connect(str(self.socket_path))
                    channel.sendall(command.encode() + b"\n")
                    reply = b""
                    while b"\n" not in reply:
                        chunk = channel.recv(64)
                        if not chunk:
                            break
                        reply += chunk
                if reply.startswith(b"ok"):
                    return
                break  # it answered, but not with yes
            except (FileNotFoundError, ConnectionRefusedError):
                pass  # not listening yet, or just gone
            except OSError as exc:  # a timeout, or a reset
                log.info("no answer from %s: %s", self.socket_path, exc)
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        pid = self.holder_pid()
        holder = f" (process {pid})" if pid else ""
        raise AlreadyRunning(
            f"Engram is already running for {self.data_dir}{holder}, but it did not answer.",
            fix="Wait a moment and try again; if it still does not answer, end that process and start Engram again.",
        )
