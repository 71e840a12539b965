"""Stored text checked again for secrets, whenever the detector has learnt a new form.

Every road in masks secrets (``core.secrets``) before anything is stored, but
text stored earlier -- by Engram 0.1.0, before the detector existed, or
before it learnt a form (``DETECTOR_VERSION``) -- may still hold one.  The
re-check reads everything stored as text, by id, and masks what the detector
finds now:

- observations: text, window title, URL, conversation name and meta title,
  as ``shield_observation`` does on the way in.  A value in the user's own
  words (the caller's ``keeps_values`` decides: the user's messages, the
  screen only with ``privacy.vault_from_screen``) goes to the knowledge vault
  with its label as caption; anyone else's is only masked;
- memories: every text and list field (``protect_fields``); a value in a
  memory the user wrote or edited goes to the vault;
- a memory's history (old and new values, the reason), the chat log of
  Engram's answers and the absorb rejections: masked only.  (A vault entry's
  own value stays in its history: that is where the vault keeps old values.)

A changed row gets new full-text entries, loses its vector (the embed job
makes it again), and its turn and its neighbours' in recall's context index
are rewritten.  Rows are read and checked in chunks outside any transaction;
each chunk's changes are then written in one short transaction with how far
the pass got (``PROGRESS_KEY``), so the app and capture keep writing
meanwhile and an interrupted pass continues where it stopped.  Once every
table is done, the full-text indexes that changed are rewritten (their old
segments still hold the tokens), the WAL is emptied, the pre-upgrade copies
are deleted if anything was masked (they hold the clear text), and the
detector's version is recorded (``CHECKED_KEY``).  A new store is recorded as
checked when it is created: everything in it passes the current detector.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from core.events import EventBus
from core.secrets import DETECTOR_VERSION, LABEL_KEYED_KINDS, SECRETS_KEY, carried_secrets, mask_text, shield_observation
from core.store.context_index import refresh_in_context_index
from core.store.db import Database
from core.store.forgetting import MEMORY_FTS, OBSERVATION_FTS, RECALL_FTS, empty_wal, rewrite_indexes
from core.store.memories import MemoryStore
from core.store.observations import COLUMNS, Observation
from core.store.protect import keep_in_vault, protect_fields, vault_fields
from core.store.search import MEMORY_INDEX, OBSERVATION_INDEX, delete_vectors
from core.store.types import MEMORY_TYPES, search_text
from core.store.upgrade_copies import PreUpgradeCopies

log = logging.getLogger(__name__)

CHECKED_KEY = "secrets.checked_with"  # the detector version every stored text has passed
PROGRESS_KEY = "secrets.recheck"  # {"version", "done": {table: last id}, "masked": {table: rows}, "kept": values}
CHUNK_ROWS = 250
ACTOR = "secrets-recheck"
OBSERVATIONS, MEMORIES = "observations", "memories"
# Tables masked in place, column by column: (plain text columns, JSON columns).
PLAIN_TABLES = {
    "memory_history": (("reason",), ("old_value", "new_value")),
    "assistant_chat": (("conversation", "question", "answer"), ("citations",)),
    "absorb_rejections": (("reason",), ("candidate",)),
}
TABLES = (OBSERVATIONS, MEMORIES, *PLAIN_TABLES)

KeepsValues = Callable[[Observation], bool]


@dataclass
class RecheckReport:
    """What a re-check did; ``masked`` and ``kept_in_vault`` count the whole pass, interrupted runs included."""

    detector_version: int = field(default_factory=lambda: DETECTOR_VERSION)
    complete: bool = False
    rows_checked: int = 0  # by this run
    masked: dict[str, int] = field(default_factory=dict)  # rows changed, by table
    kept_in_vault: int = 0
    indexes_rewritten: list[str] = field(default_factory=list)
    wal_emptied: bool | None = None
    backups_removed: list[str] = field(default_factory=list)
    backups_kept: list[dict[str, str]] = field(default_factory=list)  # {"path", "why"}: could not be deleted
    seconds: float = 0.0

    @property
    def rows_masked(self) -> int:
        return sum(self.masked.values())

    def to_dict(self) -> dict[str, Any]:
        return dict(asdict(self), rows_masked=self.rows_masked)


@dataclass
class _Fix:
    """One row's new values, and the secrets to keep in the vault from it."""

    row: dict
    changes: dict[str, Any]
    secrets: list[dict[str, str]] = field(default_factory=list)


def masked_value(value: Any) -> Any:
    """``value`` (a string, or a decoded JSON value) with every secret masked; a vault entry's own value stays."""
    if isinstance(value, str):
        return mask_text(value).text
    if isinstance(value, list):
        return [masked_value(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k == "secret_value" else masked_value(v) for k, v in value.items()}
    return value


def _masked_json(raw: str | None) -> str | None:
    if not raw:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return mask_text(raw).text
    masked = masked_value(value)
    return raw if masked == value else json.dumps(masked, ensure_ascii=False)


class SecretsRecheck:
    """``store.secrets_recheck``: see the module docstring."""

    def __init__(self, db: Database, memories: MemoryStore, copies: PreUpgradeCopies, events: EventBus):
        self.db = db
        self.memories = memories
        self.copies = copies
        self.events = events

    # -- state ----------------------------------------------------------------------------

    def checked_with(self) -> int | None:
        """The detector version the whole store was last checked with (None: never, a store from 0.1.0)."""
        value = self.db.scalar("SELECT value FROM meta WHERE key = ?", [CHECKED_KEY])
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def needed(self) -> bool:
        checked = self.checked_with()
        return checked is None or checked < DETECTOR_VERSION

    def mark_checked(self) -> None:
        """Record that every stored text passed the current detector (a new store, or the end of a pass)."""
        with self.db.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [CHECKED_KEY, str(DETECTOR_VERSION)])
            self.db.execute("DELETE FROM meta WHERE key = ?", [PROGRESS_KEY])

    def _progress(self) -> dict:
        """Where the pass with the current detector got to (a pass with an older detector starts again)."""
        fresh = {"version": DETECTOR_VERSION, "done": {t: 0 for t in TABLES}, "masked": {t: 0 for t in TABLES}, "kept": 0}
        raw = self.db.scalar("SELECT value FROM meta WHERE key = ?", [PROGRESS_KEY])
        try:
            saved = json.loads(raw) if raw else None
        except ValueError:
            saved = None
        if not isinstance(saved, dict) or saved.get("version") != DETECTOR_VERSION:
            return fresh
        for key in ("done", "masked"):
            if isinstance(saved.get(key), dict):
                fresh[key].update({t: int(n) for t, n in saved[key].items() if t in TABLES and isinstance(n, int)})
        fresh["kept"] = int(saved.get("kept") or 0)
        return fresh

    def _save(self, progress: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [PROGRESS_KEY, json.dumps(progress)])

    def rows_left(self) -> int:
        """How many stored rows the current detector has still to check (0 when the store is up to date)."""
        if not self.needed():
            return 0
        done = self._progress()["done"]
        return sum(int(self.db.scalar(f"SELECT count(*) FROM {table} WHERE id > ?", [done[table]])) for table in TABLES)

    def status(self) -> dict[str, Any]:
        return {"detector_version": DETECTOR_VERSION, "checked_with": self.checked_with(), "up_to_date": not self.needed(),
                "rows_left": self.rows_left()}

    # -- the pass -------------------------------------------------------------------------

    def run(self, keeps_values: KeepsValues, *, stop: threading.Event | None = None,
            progress: Callable[[int, int], None] | None = None, chunk_rows: int = CHUNK_ROWS) -> RecheckReport:
        """Check and mask every stored text not yet checked with the current detector; see the module docstring.

        ``keeps_values(observation)`` says whether the secrets found in an
        observation may go to the vault.  ``progress(done, total)`` is called
        after each chunk is written.  Stops between chunks when ``stop`` is set
        (the report says ``complete=False``; the next run continues).
        """
        started = time.perf_counter()
        report = RecheckReport()
        if self.db.read_only or not self.needed():
            report.complete = not self.needed()
            return report
        state = self._progress()
        total = self.rows_left()
        for table in TABLES:
            while True:
                if stop is not None and stop.is_set():
                    return self._partial(report, state, started)
                rows = self._read(table, state["done"][table], chunk_rows)
                if not rows:
                    break
                fixes = [fix for fix in (self._fix(table, row) for row in rows) if fix is not None]
                with self.db.transaction():
                    kept = self._write(table, fixes, keeps_values)
                    state["done"][table] = int(rows[-1]["id"])
                    state["masked"][table] += len(fixes)
                    state["kept"] += kept
                    self._save(state)
                report.rows_checked += len(rows)
                if progress is not None:
                    progress(report.rows_checked, max(total, report.rows_checked))
        self._finish(report, state)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _partial(self, report: RecheckReport, state: dict, started: float) -> RecheckReport:
        report.masked, report.kept_in_vault = dict(state["masked"]), state["kept"]
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _read(self, table: str, after: int, limit: int) -> list[dict]:
        if table == OBSERVATIONS:
            return self.db.query(f"SELECT {', '.join(COLUMNS)} FROM observations WHERE id > ? ORDER BY id LIMIT ?",
                                 [after, limit])
        if table == MEMORIES:
            rows = self.db.query("SELECT id FROM memories WHERE id > ? ORDER BY id LIMIT ?", [after, limit])
            ids = [r["id"] for r in rows]
            found = self.memories.get_many(ids)
            # A memory deleted meanwhile still moves the pass on.
            return [{"id": i, "memory": found.get(i)} for i in ids]
        text, data = PLAIN_TABLES[table]
        return self.db.query(f"SELECT id, {', '.join(text + data)} FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                             [after, limit])

    def _reread(self, table: str, row_id: int) -> dict | None:
        rows = self._read(table, row_id - 1, 1)
        return rows[0] if rows and rows[0]["id"] == row_id else None

    def _fix(self, table: str, row: dict) -> _Fix | None:
        if table == OBSERVATIONS:
            return self._fix_observation(row)
        if table == MEMORIES:
            memory = row["memory"]
            if memory is None:
                return None
            fields, secrets = protect_fields(memory.type, memory.fields)
            changes = {k: v for k, v in fields.items() if v != memory.fields.get(k)}
            return _Fix(row, changes, [s.carried() for s in secrets]) if changes else None
        text, data = PLAIN_TABLES[table]
        changes = {c: mask_text(row[c]).text for c in text if row[c]}
        changes.update({c: _masked_json(row[c]) for c in data})
        changes = {c: v for c, v in changes.items() if v != row[c]}
        return _Fix(row, changes) if changes else None

    def _turn_before(self, row: dict) -> str | None:
        """The text of the chat turn before ``row`` in its conversation: a reply that is only a value is labelled there."""
        if row["kind"] != "chat" or row["conversation"] is None or not row["text"]:
            return None
        return self.db.scalar(
            "SELECT text FROM observations WHERE conversation = ? AND kind = 'chat' AND (ts < ? OR (ts = ? AND id < ?))"
            " ORDER BY ts DESC, id DESC LIMIT 1",
            [row["conversation"], row["ts"], row["ts"], row["id"]],
        )

    def _fix_observation(self, row: dict) -> _Fix | None:
        observation = Observation.from_row(row)
        before = dict(observation.meta)
        shielded = shield_observation(
            {"text": row["text"], "window_title": row["window_title"], "url": row["url"],
             "conversation": row["conversation"], "meta": before},
            keep_values=True, previous=self._turn_before(row),
        )
        meta = dict(shielded.get("meta") or {})
        carried = carried_secrets(before)
        found = [c for c in carried_secrets(meta) if c not in carried]
        # Values already waiting in meta stay for the absorber; the ones found now go to the vault here, or nowhere.
        if SECRETS_KEY in before:
            meta[SECRETS_KEY] = before[SECRETS_KEY]
        else:
            meta.pop(SECRETS_KEY, None)
        changes = {k: shielded[k] for k in ("text", "window_title", "url", "conversation") if shielded[k] != row[k]}
        if meta != before:
            changes["meta"] = json.dumps(meta, ensure_ascii=False) if meta else None
        return _Fix(row, changes, found) if changes else None

    def _write(self, table: str, fixes: list[_Fix], keeps_values: KeepsValues) -> int:
        """Inside the chunk's transaction: write each fix (made again if its row changed meanwhile); returns values kept."""
        current = []
        for fix in fixes:
            row = self._reread(table, fix.row["id"])
            if row is None:
                continue  # forgotten meanwhile
            if row != fix.row:
                fix = self._fix(table, row)  # written meanwhile: check what is there now
                if fix is None:
                    continue
            current.append(fix)
        if table == OBSERVATIONS:
            return self._write_observations(current, keeps_values)
        if table == MEMORIES:
            return self._write_memories(current)
        for fix in current:
            sets = ", ".join(f"{c} = ?" for c in fix.changes)
            self.db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*fix.changes.values(), fix.row["id"]])
        return 0

    def _write_observations(self, fixes: list[_Fix], keeps_values: KeepsValues) -> int:
        kept, unembedded, turns = 0, [], []
        for fix in fixes:
            row, changes = fix.row, fix.changes
            sets = ", ".join(f"{c} = ?" for c in changes)
            self.db.execute(f"UPDATE observations SET {sets} WHERE id = ?", [*changes.values(), row["id"]])
            new = dict(row, **changes)
            if not row["text_purged"] and ("text" in changes or "window_title" in changes):
                self.db.execute("DELETE FROM observation_fts WHERE rowid = ?", [row["id"]])
                self.db.execute("INSERT INTO observation_fts(rowid, text, app, window_title) VALUES (?, ?, ?, ?)",
                                [row["id"], new["text"], new["app"] or "", new["window_title"] or ""])
            if not row["text_purged"] and "text" in changes:
                unembedded.append(row["id"])
            if new["conversation"] is not None and ("text" in changes or "conversation" in changes):
                turns.append(row["id"])
            observation = Observation.from_row(row)
            if fix.secrets and keeps_values(observation):
                if observation.kind == "screen":
                    source = f"screen: {row['app'] or ''} {new['window_title'] or ''}".strip()
                else:
                    source = f"{observation.kind}: {new['conversation'] or 'conversation'}"
                for secret in fix.secrets:
                    kept += self._keep(secret, said_at=observation.ts, source=source, sources=[row["id"]],
                                       reason=f"{secret['label']} found in observation #{row['id']} by the secrets re-check")
        if unembedded:
            marks = ",".join("?" * len(unembedded))
            self.db.execute(f"UPDATE observations SET embedded_with = NULL WHERE id IN ({marks})", unembedded)
            delete_vectors(self.db, OBSERVATION_INDEX, unembedded)
        if turns:
            refresh_in_context_index(self.db, turns)
        return kept

    def _write_memories(self, fixes: list[_Fix]) -> int:
        kept = 0
        users = self.memories.written_by_user([fix.row["id"] for fix in fixes if fix.secrets])
        for fix in fixes:
            memory = fix.row["memory"]
            spec = memory.spec
            stored = {k: json.dumps(v, ensure_ascii=False) if k == "steps" else v for k, v in fix.changes.items()}
            sets = ", ".join(f"{c} = ?" for c in stored)
            self.db.execute(f"UPDATE {spec.table} SET {sets} WHERE id = ?", [*stored.values(), memory.id])
            text = search_text(spec, dict(memory.fields, **fix.changes))
            self.db.execute("UPDATE memories SET search_text = ?, embedded_with = NULL WHERE id = ?", [text, memory.id])
            self.db.execute("DELETE FROM memory_fts WHERE rowid = ?", [memory.id])
            self.db.execute("INSERT INTO memory_fts(rowid, search_text) VALUES (?, ?)", [memory.id, text])
            if memory.id in users:
                source = f"secrets re-check ({spec.label.lower()} memory #{memory.id})"
                for secret in {(s["kind"], s["label"], s["value"]): s for s in fix.secrets}.values():
                    kept += self._keep(secret, said_at=memory.updated_at, source=source, sources=[],
                                       reason=f"{secret['label']} written in memory #{memory.id}")
        delete_vectors(self.db, MEMORY_INDEX, [fix.row["id"] for fix in fixes])
        return kept

    def _keep(self, secret: dict[str, str], *, said_at: float, source: str, sources: list[int], reason: str) -> int:
        """Keep a value in the vault; returns 1 when it was not kept already.

        A password, PIN or code whose label has an entry changed after the
        value was said does not replace that newer value: it is kept as the
        label's earlier value.
        """
        kind, label, value = secret["kind"], secret["label"], secret["value"]
        fields = vault_fields(kind, label, value, source)
        if kind in LABEL_KEYED_KINDS and self.memories.find_vault_entry(value) is None:
            current = self.memories.find_vault_entry(kind=kind, caption=label)
            if current is not None and current.updated_at > said_at:
                fields["caption"] = f"{label} (earlier)"[:300]
        _entry, action = keep_in_vault(self.memories, fields, sources=sources, actor=ACTOR, reason=reason, embed=False)
        return 0 if action == "seen" else 1

    def _finish(self, report: RecheckReport, state: dict) -> None:
        """All tables done: rewrite the changed indexes, empty the WAL, drop the pre-upgrade copies, record the version."""
        masked = state["masked"]
        report.masked, report.kept_in_vault = dict(masked), state["kept"]
        if any(masked.values()):
            fts = [OBSERVATION_FTS, RECALL_FTS] if masked[OBSERVATIONS] else []
            fts += [MEMORY_FTS] if masked[MEMORIES] else []
            for table in fts:  # one transaction each: each rewrites a whole index
                with self.db.transaction():
                    rewrite_indexes(self.db, [table], [])
            with self.db.transaction():
                rewrite_indexes(self.db, [], [OBSERVATIONS, "memory_core"])
            report.indexes_rewritten = fts
            report.wal_emptied = empty_wal(self.db)
            removed, kept = self.copies.remove_all()
            report.backups_removed = [str(p) for p in removed]
            report.backups_kept = [{"path": str(p), "why": why} for p, why in kept]
        self.mark_checked()
        report.complete = True
        if report.rows_masked:
            log.info("secrets re-check (detector %d): masked %d rows, kept %d values in the vault",
                     DETECTOR_VERSION, report.rows_masked, report.kept_in_vault)
            summary = report.to_dict()
            self.db.after_commit(lambda: self.events.emit("secrets_did_recheck", report=summary))
