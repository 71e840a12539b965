"""The copies of the database taken before a schema upgrade, and when they go.

Before a migration changes the schema of a store that holds data, a verified
backup is made (``BackupService.before_migration``: ``*-before-migration``
in the backup folder; older releases left ``before-*.db`` copies in
``backups/``), so a failed upgrade can be undone.  Such a copy holds everything the store held that day, forgotten things
included, so it is kept only while it can matter: the first time the upgraded
schema opens cleanly is recorded in ``meta``, and once it has been opening
cleanly for ``KEEP_DAYS`` days the copies are deleted.  Forgetting deletes
them at once (they would still hold what was forgotten), and so does a secrets
re-check that masked something (``core.store.remask``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Sequence

from core.store.db import Database

log = logging.getLogger(__name__)

KEEP_DAYS = 7
CLEAN_SINCE_KEY = "backups.clean_since"  # {"schema": newest migration, "at": first clean open of it}
# engram-20260502-101500-before-migration.engram-backup, and an older release's
# before-m006_derived_indexes-20260502-101500.db (with a .tmp left by a crash)
COPY_PATTERNS = ("engram-*-before-migration.engram-backup", "before-*.db", "before-*.db.tmp")


class PreUpgradeCopies:
    """The pre-migration copies in the backup folders; see the module docstring."""

    def __init__(self, db: Database, folders: Sequence[Path], clock: Callable[[], float]):
        self.db = db
        self.folders = list(folders)
        self.clock = clock

    def copies(self) -> list[Path]:
        """The pre-migration copies that remain, oldest first."""
        found: set[Path] = set()
        for folder in self.folders:
            if folder is not None and folder.is_dir():
                for pattern in COPY_PATTERNS:
                    found.update(p for p in folder.glob(pattern) if p.is_file())
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def _clean_since(self) -> dict | None:
        raw = self.db.scalar("SELECT value FROM meta WHERE key = ?", [CLEAN_SINCE_KEY])
        try:
            value = json.loads(raw) if raw else None
        except ValueError:
            return None
        return value if isinstance(value, dict) and isinstance(value.get("at"), (int, float)) else None

    def removal_due(self) -> float | None:
        """When the remaining copies will be deleted (None: not known until the schema opens cleanly once)."""
        since = self._clean_since()
        return since["at"] + KEEP_DAYS * 86400 if since else None

    def after_clean_open(self, schema: str) -> list[Path]:
        """Call once the store opened with no migration pending; returns the copies deleted.

        The first clean open of ``schema`` is recorded; copies are deleted once
        that is ``KEEP_DAYS`` days ago.
        """
        copies = self.copies()
        if not copies:
            return []
        since = self._clean_since()
        now = self.clock()
        if since is None or since.get("schema") != schema:
            with self.db.transaction():
                self.db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                    [CLEAN_SINCE_KEY, json.dumps({"schema": schema, "at": now})],
                )
            return []
        if now - since["at"] < KEEP_DAYS * 86400:
            return []
        removed, kept = self.remove_all()
        if removed:
            log.info("schema %s has opened cleanly for %d days: removed %d pre-upgrade copies", schema, KEEP_DAYS, len(removed))
        for path, why in kept:
            log.warning("could not delete the pre-upgrade copy %s (%s); 'engram doctor' lists it", path, why)
        return removed

    def remove_all(self) -> tuple[list[Path], list[tuple[Path, str]]]:
        """Delete every pre-migration copy; returns the files removed and those that could not be, with why."""
        removed, kept = [], []
        for path in self.copies():
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                kept.append((path, exc.strerror or str(exc)))
                continue
            removed.append(path)
        return removed, kept
