"""The copies of the database taken before a schema upgrade, and when they go.

``apply_migrations`` copies the database into ``backups/`` before it changes
the schema of a store that holds data, so a failed upgrade can be undone by
hand.  Such a copy holds everything the store held that day, forgotten things
included, so it is kept only while it can matter: the first time the upgraded
schema opens cleanly is recorded in ``meta``, and once it has been opening
cleanly for ``KEEP_DAYS`` days the copies are deleted.  Forgetting deletes
them at once (they would still hold what was forgotten).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

from core.store.db import Database

log = logging.getLogger(__name__)

KEEP_DAYS = 7
CLEAN_SINCE_KEY = "backups.clean_since"  # {"schema": newest migration, "at": first clean open of it}
COPY_PATTERN = "before-*"  # before-m006_derived_indexes-20260502-101500.db (and a .tmp left by a crash)


class Backups:
    """The pre-migration copies in ``backups_dir``; see the module docstring."""

    def __init__(self, db: Database, backups_dir: Path | None, clock: Callable[[], float]):
        self.db = db
        self.dir = backups_dir
        self.clock = clock

    def copies(self) -> list[Path]:
        """The pre-migration copies that remain, oldest first."""
        if self.dir is None or not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.glob(COPY_PATTERN) if p.is_file())

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
