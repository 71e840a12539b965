"""Engram's log file: ``logs/engram.log``, rotated, readable only by the user.

Logs never contain memory text or secrets -- only what happened and why --
because they sit outside the encrypted database.
"""

from __future__ import annotations

import logging
import logging.handlers
import os

from core.paths import Paths

MAX_BYTES = 2_000_000
BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


def log_file(paths: Paths):
    return paths.logs_dir / "engram.log"


def start_file_logging(paths: Paths, level: int = logging.INFO) -> logging.Handler:
    """Attach the rotating log file to the root logger once per file; returns the handler."""
    path = log_file(paths)
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and handler.baseFilename == str(path):
            return handler
    paths.logs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level)
    if root.level > level or root.level == logging.NOTSET:
        # The file wants more detail than the console shows: keep the console where it was.
        for existing in root.handlers:
            if existing.level == logging.NOTSET:
                existing.setLevel(root.level or logging.WARNING)
        root.setLevel(level)
    root.addHandler(handler)
    return handler


def stop_file_logging(handler: logging.Handler) -> None:
    logging.getLogger().removeHandler(handler)
    handler.close()
