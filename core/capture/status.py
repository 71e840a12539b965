"""The running app's capture status, published for other processes (``engram capture status``).

One small JSON file in the data directory (0600): the owner's pid, when it was
written, and ``CaptureService.status()`` (states and counters, never screen
text).  The app rewrites it on every capture event (at most once a second) and
every ten seconds; a file older than ``STALE_SECONDS`` or from a process that
is gone means no app is capturing.
"""

from __future__ import annotations

import json
import os
import time

from core.paths import Paths, write_private

STALE_SECONDS = 30.0


def _path(paths: Paths):
    return paths.data_dir / "capture-status.json"


def publish_capture_status(paths: Paths, status: dict, *, running: bool = True) -> None:
    data = {"pid": os.getpid(), "written_at": time.time(), "running": running, "status": status}
    write_private(_path(paths), json.dumps(data, default=str).encode())


def clear_capture_status(paths: Paths) -> None:
    try:
        _path(paths).unlink()
    except OSError:
        pass


def read_capture_status(paths: Paths) -> dict | None:
    """The status another live Engram process published, with ``where`` and ``pid``; None when there is none."""
    import psutil

    try:
        data = json.loads(_path(paths).read_text())
        pid, written_at, status = int(data["pid"]), float(data["written_at"]), dict(data["status"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid() or time.time() - written_at > STALE_SECONDS or not psutil.pid_exists(pid):
        return None
    status.update(where="app", pid=pid, published_at=written_at)
    return status
