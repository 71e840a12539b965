"""Import Engram's JSON export: what is already here is skipped, so importing twice adds nothing.

The whole file is checked before anything is written; one bad record refuses
the file with the problems listed.  A memory is already here when a memory
has its ``uid``, or the same type and the same content (every field, the vault
value included).  Skipped as well, with a note: knowledge-vault records whose
value was masked in the export (importing the mask would overwrite nothing but
store a useless secret), and a core memory whose label is already used by
different text here (the user's current words win).  Secrets in clear (an
export written by an older Engram, or by hand) are masked in the fields, the
history and the sources, and not kept: whose words they were is not known.

New memories go through ``MemoryStore.add`` (validation, search index,
provenance); their source observations through ``ObservationStore.add_many``
(deduplicated by content, marked absorbed so they are not turned into
memories a second time); then ``core.store.transfer`` sets the uid, the
original times, counters, archived flag and history.  A backup is made first
when anything will be added.  Writes go in batches of ``BATCH`` memories, one
transaction each: a cancelled import keeps whole batches, and importing the
file again adds the rest.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.backup.archive import CancelledError
from core.backup.exporting import FORMAT, FORMAT_VERSION, parse_time
from core.errors import EngramError, InvalidInputError
from core.store.types import MEMORY_TYPES, search_text, type_spec, validate_fields
from core.store.observations import KINDS, content_hash
from core.store.protect import protect_fields
from core.store.remask import masked_value
from core.secrets import shield_observation
from core.store import transfer

BATCH = 200
ACTIONS = ("ADD", "UPDATE", "DELETE", "ARCHIVE", "RESTORE", "MERGE")
UID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-]{7,63}$")
MAX_PROBLEMS_SHOWN = 8

Progress = Callable[[str, float], None]


@dataclass
class Incoming:
    """One checked record of the file."""

    index: int
    uid: str | None
    type: str
    fields: dict[str, Any]
    importance: float
    pinned: bool
    created_at: float | None
    updated_at: float | None
    access_count: int
    last_accessed_at: float | None
    archived: bool
    masked: bool
    sources: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)


def read_export(path: Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"There is no file {path}.", fix="Check the path of the JSON export.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"Engram cannot read {path}: {exc}.",
                                fix="Give a JSON file written by 'engram export --format json'.") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"{path} is not valid JSON ({exc}).",
                                fix="Give the file written by 'engram export --format json', unchanged.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInputError(f"{path} is not an Engram JSON export.",
                                fix="Export with 'engram export --format json' and import that file. "
                                "(Chat histories are imported with 'engram ingest'.)")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InvalidInputError(f"{path} was written by a newer Engram (export format {version}).",
                                fix="Update Engram, then import again.")
    if not isinstance(data.get("memories"), list):
        raise InvalidInputError(f"{path} has no list of memories.", fix="Give an unchanged export file.")
    return data


def _time(value: Any, what: str) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return parse_time(str(value))
    except ValueError:
        raise InvalidInputError(f"{what} {value!r} is not an ISO date and time.", fix="Use the file as exported.") from None


def _check(index: int, raw: Any) -> Incoming:
    if not isinstance(raw, dict):
        raise InvalidInputError("is not an object", fix=None)
    spec = type_spec(str(raw.get("type")))
    uid = raw.get("uid")
    if uid is not None and (not isinstance(uid, str) or not UID.match(uid)):
        raise InvalidInputError(f"has an invalid uid {uid!r}", fix=None)
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        raise InvalidInputError("has no fields object", fix=None)
    values = validate_fields(spec, {**fields, "importance": raw.get("importance", 0.5), "pinned": bool(raw.get("pinned"))})
    importance = values.pop("importance")
    pinned = bool(values.pop("pinned"))
    values, _found = protect_fields(spec.name, values)  # an export from an older Engram may hold secrets in clear
    access_count = raw.get("access_count", 0)
    if isinstance(access_count, bool) or not isinstance(access_count, int) or access_count < 0:
        raise InvalidInputError(f"has an invalid access_count {access_count!r}", fix=None)
    sources = raw.get("sources") or []
    history = raw.get("history") or []
    links = raw.get("links") or []
    if not all(isinstance(x, list) for x in (sources, history, links)):
        raise InvalidInputError("has sources, history or links that are not lists", fix=None)
    checked_sources = []
    for source in sources:
        if not isinstance(source, dict) or source.get("kind") not in KINDS or not isinstance(source.get("text", ""), str):
            raise InvalidInputError("has a source that is not an observation (kind screen, chat or import, with text)", fix=None)
        checked_sources.append(dict(source, ts=_time(source.get("ts"), "source time")))
    checked_history = []
    for row in history:
        if not isinstance(row, dict) or row.get("action") not in ACTIONS:
            raise InvalidInputError(f"has a history entry with an unknown action ({row!r:.60})", fix=None)
        at = _time(row.get("at"), "history time")
        if at is None or not all(v is None or isinstance(v, dict) for v in (row.get("old"), row.get("new"))):
            raise InvalidInputError("has a history entry without a time, or with values that are not objects", fix=None)
        checked_history.append(dict(row, at=at, old=masked_value(row.get("old")), new=masked_value(row.get("new")),
                                    reason=masked_value(row.get("reason"))))
    for link in links:
        if not isinstance(link, dict) or not isinstance(link.get("kind"), str) or not isinstance(link.get("child"), str):
            raise InvalidInputError("has a link that is not {kind, child}", fix=None)
    return Incoming(
        index=index,
        uid=uid,
        type=spec.name,
        fields=values,
        importance=importance,
        pinned=pinned,
        created_at=_time(raw.get("created_at"), "created_at"),
        updated_at=_time(raw.get("updated_at"), "updated_at"),
        access_count=access_count,
        last_accessed_at=_time(raw.get("last_accessed_at"), "last_accessed_at"),
        archived=bool(raw.get("archived")),
        masked=spec.name == "knowledge_vault" and bool(raw.get("secret_masked")),
        sources=checked_sources,
        history=checked_history,
        links=links,
    )


def check_records(path: Path, data: dict[str, Any]) -> list[Incoming]:
    """Every record checked; raises one ``InvalidInputError`` naming the bad ones (nothing is written)."""
    checked, problems = [], []
    for index, raw in enumerate(data["memories"]):
        try:
            checked.append(_check(index, raw))
        except EngramError as exc:
            uid = raw.get("uid") if isinstance(raw, dict) else None
            problems.append(f"memory {index + 1}{f' ({uid})' if uid else ''}: {exc.message.rstrip('.')}")
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN]) + (f"; and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else "")
        raise InvalidInputError(
            f"{path.name} has {len(problems)} record{'s' if len(problems) != 1 else ''} Engram cannot import, "
            f"so nothing was imported: {shown}.",
            fix="Fix or remove those records (or export again), then import.",
        )
    return checked


def _same_content(engine, candidates: list[int], item: Incoming) -> int | None:
    for memory_id, memory in engine.memories.get_many(candidates).items():
        if memory.type == item.type and memory.fields == item.fields:
            return memory_id
    return None


def import_memories(engine, path: Path, *, progress: Progress | None = None,
                    stop: threading.Event | None = None) -> dict[str, Any]:
    """Import the JSON export at ``path``; returns a report (added, skipped and why, the backup made first)."""
    path = Path(path).expanduser()
    data = read_export(path)
    items = check_records(path, data)
    by_uid, by_text = engine.store.transfer.identity_index()
    skipped = {"same uid": 0, "same content": 0, "vault value masked": 0, "core label taken": 0}
    notes: list[str] = []
    to_add: list[Incoming] = []
    uid_map: dict[str, int] = {}
    seen_in_file: set[str] = set()
    for item in items:
        if item.uid and (item.uid in by_uid or item.uid in seen_in_file):
            skipped["same uid"] += 1
            if item.uid in by_uid:
                uid_map[item.uid] = by_uid[item.uid]
            continue
        spec = MEMORY_TYPES[item.type]
        candidates = by_text.get(transfer.text_key(item.type, search_text(spec, item.fields)), [])
        match = _same_content(engine, candidates, item) if candidates else None
        if match is not None:
            skipped["same content"] += 1
            if item.uid:
                uid_map[item.uid] = match
            continue
        if item.masked:
            skipped["vault value masked"] += 1
            notes.append(f"vault entry {item.fields.get('caption')!r} skipped: its value is masked in this export "
                         "(export with --reveal-vault to carry vault values)")
            continue
        if item.type == "core":
            existing = engine.memories.find_core(item.fields["label"])
            if existing is not None:
                skipped["core label taken"] += 1
                notes.append(f"core memory {item.fields['label']!r} kept as it is here; the file's text differs")
                continue
        if item.uid:
            seen_in_file.add(item.uid)
        to_add.append(item)
    backup = engine.backups.safety_backup("before-import") if to_add else None
    added = 0
    total = max(1, len(to_add))
    for start in range(0, len(to_add), BATCH):
        if stop is not None and stop.is_set():
            raise CancelledError(
                f"The import was cancelled after {added} of {len(to_add)} new memories.",
                fix="Import the same file again to add the rest (what is here already is skipped).",
            )
        with engine.store.atomic():
            for item in to_add[start : start + BATCH]:
                memory_id = _add_one(engine, item, path)
                if item.uid:
                    uid_map[item.uid] = memory_id
                added += 1
        if progress is not None:
            progress("Importing", added / total)
    linked = _link(engine, items, uid_map, by_uid)
    report = {
        "file": str(path),
        "added": added,
        "skipped": sum(skipped.values()),
        "skipped_by_reason": skipped,
        "links": linked,
        "backup": str(backup.path) if backup else None,
        "notes": notes,
        "pending_vectors": added,
    }
    if added:
        engine.events.emit("store_did_import", report=report)
    return report


def _add_one(engine, item: Incoming, path: Path) -> int:
    source_ids: list[int] = []
    purged: list[int] = []
    if item.sources:
        rows = []
        for source in item.sources:
            # Masked like any text that comes in; whose words they were is not known, so no value is kept.
            row = shield_observation({
                "kind": source["kind"], "text": source.get("text") or "", "ts": source["ts"],
                "app": source.get("app"), "window_title": source.get("window_title"), "url": source.get("url"),
                "conversation": source.get("conversation"), "role": source.get("role"),
                "source_ref": source.get("source_ref"), "meta": source.get("meta") or None,
            }, keep_values=False)
            row["dedupe_key"] = "engram-import:" + content_hash(
                row["kind"], row["ts"], row["text"], row["app"], row["window_title"],
                row["conversation"], row["role"], row["source_ref"])
            rows.append(row)
        source_ids = engine.observations.add_many(rows)
        engine.observations.mark_absorbed(source_ids)
        purged = [i for i, s in zip(source_ids, item.sources) if s.get("text_purged")]
        if purged:
            engine.store.transfer.mark_text_purged(purged)
    memory = engine.memories.add(
        item.type, {**item.fields, "importance": item.importance, "pinned": item.pinned}, sources=source_ids,
        actor="import", reason=f"imported from {path.name}", embed=False,
    )
    uid = item.uid or engine.store.transfer.uid_of(memory.id)
    engine.store.transfer.set_identity(memory.id, item.type, uid=uid,
        created_at=item.created_at if item.created_at is not None else memory.created_at,
        updated_at=item.updated_at if item.updated_at is not None else memory.updated_at,
        access_count=item.access_count, last_accessed_at=item.last_accessed_at, archived=item.archived,
    )
    if item.history:
        engine.store.transfer.replace_history(memory.id, item.type, item.history)
    return memory.id


def _link(engine, items: list[Incoming], uid_map: dict[str, int], by_uid: dict[str, int]) -> int:
    """Links between imported memories, or to memories already here (a digest and what it stands for)."""
    pairs = []
    for item in items:
        if not item.links or item.uid not in uid_map:
            continue
        for link in item.links:
            child = uid_map.get(link["child"], by_uid.get(link["child"]))
            if child is not None and child != uid_map[item.uid]:
                pairs.append((uid_map[item.uid], child, link["kind"]))
    if pairs:
        with engine.store.atomic():
            for parent, child, kind in pairs:
                engine.store.transfer.add_link(parent, child, kind)
    return len(pairs)
