"""Who holds the database: the processes to name when a write or a start waited too long.

SQLite in WAL mode takes its write lock as a POSIX byte lock on the ``-shm``
file (byte 120); Linux lists such locks with their owner's pid in
``/proc/locks``, so the writer can be named exactly.  Elsewhere, or when the
lock is not visible, the processes that have the database open (psutil) are
the candidates.  Processes of other users cannot be inspected; then the
message says that it could not tell.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from core.errors import DatabaseBusyError

log = logging.getLogger(__name__)

WAL_WRITE_LOCK_BYTE = 120  # SQLite's WALINDEX_LOCK_OFFSET: the first lock byte of the -shm file is the writer's
_ENGRAM_MARKS = ("engram", "core.cli", "core.engine")


def describe(pid: int) -> str:
    """``another Engram (pid 4242, engram app)`` or ``process 4242 (vim notes.txt)``; only the pid when hidden."""
    import psutil

    try:
        args = psutil.Process(pid).cmdline()
    except (psutil.Error, OSError):
        return f"process {pid}"
    if not args:
        return f"process {pid}"
    shown = [Path(args[0]).name, *args[1:]]
    if Path(shown[0]).name.startswith("python") and len(shown) > 2 and shown[1] == "-m":
        shown = shown[2:]  # "python -m core.cli add" reads as "core.cli add"
    text = " ".join(" ".join(shown).split())  # a "python -c" script's newlines read as spaces
    if len(text) > 80:
        text = text[:77] + "..."
    if any(mark in " ".join(args).lower() for mark in _ENGRAM_MARKS):
        return f"another Engram (pid {pid}, {text})"
    return f"process {pid} ({text})"


def _wal_writers(db_path: Path) -> list[int]:
    """Pids holding SQLite's WAL write lock on ``db_path`` (Linux ``/proc/locks``); [] where that cannot be read."""
    shm = Path(str(db_path) + "-shm")
    try:
        inode = os.stat(shm).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids = []
    for line in lines:
        fields = line.split()
        if "->" in fields or len(fields) < 8:
            continue  # a waiter, not a holder
        # "1: POSIX  ADVISORY  WRITE 4242 fd:01:1234567 120 120"
        kind, access, pid, where, start, end = fields[1], fields[3], fields[4], fields[5], fields[6], fields[7]
        if kind != "POSIX" or access != "WRITE" or where.rsplit(":", 1)[-1] != str(inode):
            continue
        try:
            first, last = int(start), (int(end) if end != "EOF" else 1 << 62)
            holder = int(pid)
        except ValueError:
            continue
        if first <= WAL_WRITE_LOCK_BYTE <= last and holder > 0 and holder != os.getpid():
            pids.append(holder)
    return sorted(set(pids))


def processes_with_open(paths: list[Path]) -> list[int]:
    """Pids of other processes that have any of ``paths`` open."""
    import psutil

    wanted = {str(Path(p).resolve()) for p in paths}
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if any(f.path in wanted for f in proc.open_files()):
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return sorted(found)


def database_users(db_path: Path) -> tuple[list[int], bool]:
    """(pids, exact): the writer when it can be seen (exact), else every other process with the database open."""
    writers = _wal_writers(db_path)
    if writers:
        return writers, True
    try:
        side = [Path(str(db_path) + s) for s in ("", "-wal", "-shm")]
        return processes_with_open(side), False
    except Exception as exc:  # naming the holder is a courtesy: the error itself must still be raised
        log.info("could not list the processes using %s: %s", db_path, exc)
        return [], False


def busy_error(db_path: Path, waited: float | None) -> DatabaseBusyError:
    """The error for a write that waited ``waited`` seconds for the database lock and gave up."""
    pids, exact = database_users(db_path)
    how_long = f"for {waited:g} s" if waited else "too long"
    if pids and exact:
        who = " and ".join(describe(pid) for pid in pids)
        return DatabaseBusyError(
            f"{who[0].upper() + who[1:]} is writing to the database {db_path}; this change waited {how_long} "
            "and was not saved.",
            fix=f"Wait until it has finished (absorbing or consolidating can take a minute) and try again; "
            f"if it hangs, end it ('kill {pids[0]}') and try again. Nothing stored before is lost.",
        )
    if pids:
        who = ", ".join(describe(pid) for pid in pids)
        return DatabaseBusyError(
            f"The database {db_path} stayed locked {how_long}, so this change was not saved. "
            f"Also using it: {who}.",
            fix=f"Wait until {'it has' if len(pids) == 1 else 'they have'} finished and try again; "
            f"if one hangs, end it ('kill {pids[0]}'). Nothing stored before is lost.",
        )
    return DatabaseBusyError(
        f"The database {db_path} stayed locked {how_long}, so this change was not saved; "
        "the process holding it could not be identified (it may belong to another user).",
        fix="Close other Engram windows and commands, then try again. Nothing stored before is lost.",
    )
