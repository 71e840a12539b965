"""``engram doctor``: check every part Engram depends on and say how to fix what is wrong."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime

from core.errors import EngramError
from core.paths import Paths


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str | None = None


def integrity(store, paths: Paths) -> Check:
    """Every page of the database read and checked: its checksum (SQLCipher's HMAC) and SQLite's structure."""
    problems = store.damage()
    if not problems:
        return Check("database integrity", "ok", "every page reads back intact")
    shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    return Check(
        "database integrity",
        "fail",
        f"the database is damaged ({len(problems)} problem(s): {shown})",
        f"Quit Engram, move {paths.db_path} aside (keep it) and put the newest copy from {paths.backups_dir} "
        "(or your own backup) in its place; the key stays the same. Without a copy, moving the file aside makes "
        "Engram start an empty store.",
    )


def data_directory_check(paths: Paths) -> Check:
    """Where the data is, whether Engram can save there, and whether other users can read it (its mode is the user's)."""
    where = paths.data_dir
    mode = where.stat().st_mode & 0o777
    if paths.data_dir_read_only():
        return Check(
            "data directory", "warn", f"{where} is read-only (mode {mode:04o}): Engram can search and read, but saves nothing",
            f"Make it writable again ('chmod u+w {where}', or 'chattr -i {where}' if it was made immutable) "
            "or set ENGRAM_HOME to a writable copy.",
        )
    if mode & 0o077:
        readers = " and ".join(who for who, bits in (("your group", 0o070), ("other users", 0o007)) if mode & bits)
        return Check(
            "data directory", "warn", f"{where} (mode {mode:04o}) can be opened by {readers}",
            f"Unless you mean to share it, make it private: chmod 700 {where} (Engram leaves the mode you set alone).",
        )
    return Check("data directory", "ok", f"{where} (mode {mode:04o}, private)")


def backups_check(backups) -> Check:
    """Pre-upgrade copies of the database that remain (they still hold anything forgotten since)."""
    copies = backups.copies()
    if not copies:
        return Check("pre-upgrade copies", "ok", "none")
    due = backups.removal_due()
    when = f"removed automatically after {datetime.fromtimestamp(due):%Y-%m-%d %H:%M}" if due else "removed automatically 7 days after the upgrade"
    listing = ", ".join(f"{p} ({p.stat().st_size / 1e6:.1f} MB)" for p in copies)
    return Check(
        "pre-upgrade copies", "warn",
        f"{len(copies)} cop{'y' if len(copies) == 1 else 'ies'} of the database from before a schema upgrade: {listing}; "
        f"{when}. They hold everything the store held before the upgrade (forgetting anything, or a secrets re-check that masks something, deletes them at once).",
        "Nothing to do if you may need to undo the upgrade; otherwise delete them now.",
    )


def secrets_check(status: dict) -> Check:
    """Whether text stored before the detector knew its current forms has been checked (and masked) since."""
    from core.secrets_cli import status_line

    if status["up_to_date"]:
        return Check("stored text checked for secrets", "ok", status_line(status))
    return Check(
        "stored text checked for secrets", "warn",
        status_line(status) + ": secrets in them may still be stored in clear, and found by search",
        "The app checks them in the background; 'engram secrets recheck' does it now.",
    )


def run_checks(paths: Paths) -> list[Check]:
    checks: list[Check] = []
    try:
        paths.ensure()
    except EngramError as exc:
        checks.append(Check("data directory", "fail", exc.message, exc.fix))
        return checks
    checks.append(data_directory_check(paths))
    free = shutil.disk_usage(paths.data_dir).free
    checks.append(
        Check(
            "free disk space",
            "ok" if free > 1e9 else "warn",
            f"{free / 1e9:.1f} GB free",
            None if free > 1e9 else "Free some disk space: captures and models need room to grow.",
        )
    )
    engine = None
    try:
        from core.engine import Engine

        engine = Engine(paths)
        with open(paths.db_path, "rb") as handle:
            encrypted = handle.read(16) != b"SQLite format 3\x00"
        versions = engine.store.versions()
        checks.append(
            Check(
                "database",
                "ok" if encrypted else "fail",
                f"{paths.db_path} ({'encrypted with SQLCipher ' + versions['sqlcipher'] if encrypted else 'NOT encrypted'})",
                None if encrypted else "Move the file away and start Engram again.",
            )
        )
        checks.append(Check("SQLite", "ok", f"SQLite {versions['sqlite']}, sqlite-vec {versions['sqlite_vec']}, FTS5"))
        checks.append(integrity(engine.store, paths))
        checks.append(backups_check(engine.store.pre_upgrade_copies))
        if checks[-2].status == "ok":  # a damaged file is reported above; counting its rows would only fail again
            checks.append(secrets_check(engine.store.secrets_recheck.status()))
        info = engine.key_info
        if info.storage == "keyring":
            checks.append(Check("key storage", "ok", f"OS keyring ({info.location})"))
        else:
            checks.append(Check("key storage", "warn", f"key file {info.location}: {info.warning}", "Install and unlock an OS keyring (gnome-keyring, KWallet), then run 'engram doctor' again."))
        checks.extend(backup_checks(engine.backups.status()))
        for role, status in engine.models.status().get("roles", {}).items():
            if status.get("path"):
                checks.append(Check(f"{role} model", "ok", f"{status.get('name')} at {status['path']}"))
            else:
                checks.append(Check(f"{role} model", "warn", f"{status.get('name')} is not installed", f"Run 'engram models pull {status.get('name')}' or 'make setup'."))
    except EngramError as exc:
        checks.append(Check("database", "fail", exc.message, exc.fix))
    finally:
        if engine is not None:
            engine.close()
    tesseract = shutil.which("tesseract")
    checks.append(
        Check("tesseract", "ok", tesseract)
        if tesseract
        else Check("tesseract", "warn", "not found: screen text cannot be read", "Install it: sudo apt install tesseract-ocr")
    )
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        checks.append(Check("display", "warn", "Wayland session: screen capture is not supported there yet", "Log in to an X11 session to capture the screen."))
    elif os.environ.get("DISPLAY"):
        checks.append(Check("display", "ok", f"X11 display {os.environ['DISPLAY']}"))
    else:
        checks.append(Check("display", "warn", "no display: the app and screen capture cannot run", "Use the CLI (engram --help), or run inside a desktop session."))
    return checks


def backup_checks(status: dict) -> list[Check]:
    """The last good backup and the recovery code, as doctor reports them."""
    out = []
    last = status.get("last")
    stale = [w for w in status["warnings"] if "backup" in w and "recovery" not in w]
    if last and not stale:
        out.append(Check("backups", "ok", f"last good backup {last['created_at'].replace('T', ' ')[:16]} UTC in {status['folder']}"))
    else:
        out.append(Check(
            "backups", "warn",
            (stale[0] if stale else "There is no backup yet.") + f" (backup folder: {status['folder']})",
            "Run 'engram backup' (the app backs up daily while it runs); keep the folder on another disk or a synced folder.",
        ))
    recovery = status.get("recovery") or {}
    if recovery.get("exists"):
        out.append(Check("recovery code", "ok", f"made {recovery['created_at'].replace('T', ' ')[:16]} UTC; backups open with it on any computer"))
    else:
        out.append(Check(
            "recovery code", "warn",
            recovery.get("problem") or "none: if this computer's keyring or key file is lost, every memory is lost with it, backups included",
            "Run 'engram recovery create' and keep the code away from this computer.",
        ))
    return out
