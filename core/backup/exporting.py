"""Export memories as JSON (complete, importable), Markdown notes (Obsidian, Logseq) or CSV (spreadsheets).

JSON (``--out FILE``)::

    {"format": "engram-export", "format_version": 1, "engram_version": ..., "exported_at": ...,
     "schema_version": "m008_memory_uid", "filters": {...}, "vault_revealed": false,
     "counts": {"semantic": 12, ...},
     "memories": [{"uid", "type", "fields": {...}, "secret_masked"?, "created_at", "updated_at",
                   "importance", "access_count", "last_accessed_at", "pinned", "archived",
                   "sources": [{"kind", "ts", "app", "window_title", "url", "text", ...}],
                   "history": [{"action", "at", "actor", "reason", "old", "new"}],
                   "links": [{"kind", "child"}]}, ...]}

Times are ISO 8601 in UTC to the second.  Markdown (``--out DIR``) is one note
per memory type and one per day of episodic memories (``Episodic/2026-05-02.md``),
each with YAML front matter (type, dates, count, tags) and an ``index.md``.
CSV (``--out DIR``) is one file per type, UTF-8 with a byte-order mark so
spreadsheets read it right; a cell starting with ``= + - @`` gets a leading
apostrophe so a spreadsheet never runs it as a formula.

Knowledge-vault values, in the fields and in the history, are masked unless
``reveal_vault``.  Files are written readable by the user only, into a hidden
temporary file or folder that is renamed into place at the end: an export is
either complete or absent.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
import threading
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from core.backup.archive import CancelledError
from core.errors import InvalidInputError, StorageError
from core.store.memories import mask_secret
from core.store.types import MEMORY_TYPES, iso, to_timestamp, type_spec
from core.store import transfer

FORMAT = "engram-export"
FORMAT_VERSION = 1
FORMATS = ("json", "markdown", "csv")
MARKER = ".engram-export"
NOTE_NAMES = {
    "core": "Core",
    "semantic": "Semantic",
    "procedural": "Procedural",
    "resource": "Resources",
    "knowledge_vault": "Knowledge vault",
}
EPISODIC_FOLDER = "Episodic"
SOURCE_FIELDS = ("kind", "ts", "app", "window_title", "url", "text", "conversation", "role", "source_ref", "meta",
                 "text_purged")

Progress = Callable[[str, float], None]


# -- records ---------------------------------------------------------------------------


def _mask_history_value(value: Any) -> Any:
    if isinstance(value, dict) and value.get("secret_value"):
        value = dict(value, secret_value=mask_secret(str(value["secret_value"])))
    return value


def memory_records(
    engine,
    *,
    types: Sequence[str] | None = None,
    since: Any = None,
    until: Any = None,
    reveal_vault: bool = False,
    progress: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
):
    """Yield one export record per memory, in batches read through the stores' APIs."""
    type_names = [type_spec(t).name for t in types] if types else None
    ids = engine.store.transfer.memory_ids(types=type_names, since=to_timestamp(since, "since"),
                              until=to_timestamp(until, "until"))
    total = max(1, len(ids))
    done = 0
    for start in range(0, len(ids), transfer.BATCH):
        if stop is not None and stop.is_set():
            raise CancelledError("The export was cancelled; no file was written.")
        chunk = ids[start : start + transfer.BATCH]
        memories = engine.memories.get_many(chunk)
        uids = engine.store.transfer.uids(chunk)
        histories = engine.store.transfer.history(chunk)
        links = engine.store.transfer.links(chunk)
        child_ids = sorted({child for rows in links.values() for child, _kind in rows})
        child_uids = engine.store.transfer.uids(child_ids)
        source_ids = sorted({s for m in memories.values() for s in m.sources})
        observations = engine.observations.get_many(source_ids)
        for memory_id in chunk:
            memory = memories.get(memory_id)
            if memory is None:  # deleted meanwhile
                continue
            yield _record(memory, uids[memory_id], histories.get(memory_id, []),
                          [{"kind": kind, "child": child_uids[child]} for child, kind in links.get(memory_id, []) if child in child_uids],
                          [observations[s] for s in memory.sources if s in observations], reveal_vault)
            done += 1
        if progress is not None:
            progress(done / total)


def _record(memory, uid: str, history_rows: list[dict], links: list[dict], observations: list, reveal: bool) -> dict:
    data = memory.to_dict(reveal=reveal)
    fields = {name: data[name] for name in memory.spec.field_names}
    record: dict[str, Any] = {"uid": uid, "type": memory.type, "fields": fields}
    if memory.type == "knowledge_vault" and not reveal:
        record["secret_masked"] = True
    history = []
    for row in history_rows:
        entry = dict(row, at=iso(row["at"]))
        if not reveal and memory.type == "knowledge_vault":
            entry["old"], entry["new"] = _mask_history_value(entry["old"]), _mask_history_value(entry["new"])
        history.append(entry)
    sources = []
    for observation in observations:
        source = observation.to_dict()
        sources.append({name: source.get(name) for name in SOURCE_FIELDS})
    record.update(
        created_at=data["created_at"],
        updated_at=data["updated_at"],
        importance=memory.importance,
        access_count=memory.access_count,
        last_accessed_at=data["last_accessed_at"],
        pinned=memory.pinned,
        archived=memory.archived,
        sources=sources,
        history=history,
        links=links,
    )
    return record


# -- writing ---------------------------------------------------------------------------


def export_memories(
    engine,
    fmt: str,
    out: Path,
    *,
    types: Sequence[str] | None = None,
    since: Any = None,
    until: Any = None,
    reveal_vault: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Write an export of ``fmt`` to ``out``; returns a report (path, memories, counts)."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"Unknown export format {fmt!r}.", fix="Use json, markdown or csv.")
    out = Path(out).expanduser()
    if since is not None and until is not None and to_timestamp(since, "since") > to_timestamp(until, "until"):
        raise InvalidInputError("--since is after --until, so nothing would be exported.", fix="Swap the two dates.")
    if not out.parent.is_dir():
        raise InvalidInputError(f"The folder {out.parent} does not exist.", fix="Create it first, or choose another place.")
    records = memory_records(
        engine, types=types, since=since, until=until, reveal_vault=reveal_vault, stop=stop,
        progress=(lambda f: progress("Exporting", f)) if progress else None,
    )
    filters = {"types": [type_spec(t).name for t in types] if types else None, "since": since, "until": until}
    writer = {"json": _write_json, "markdown": _write_markdown, "csv": _write_csv}[fmt]
    try:
        counts = writer(engine, records, out, filters, reveal_vault)
    except OSError as exc:
        raise StorageError(
            f"The export to {out} could not be written: {exc.strerror or exc}.",
            fix="Check that the place is writable and has free space; nothing partial was left.",
        ) from exc
    if progress is not None:
        progress("Exporting", 1.0)
    return {
        "path": str(out),
        "format": fmt,
        "memories": sum(counts.values()),
        "counts": counts,
        "vault_masked": not reveal_vault and counts.get("knowledge_vault", 0) > 0,
    }


def _hidden_sibling(out: Path, suffix: str = "") -> Path:
    return out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial{suffix}")


def _write_json(engine, records, out: Path, filters: dict, reveal: bool) -> dict[str, int]:
    from core import __version__

    if out.is_dir():
        raise InvalidInputError(f"{out} is a folder; a JSON export is one file.", fix="Give a file name, e.g. memories.json.")
    schema = engine.store.schema_version()
    counts = {name: 0 for name in MEMORY_TYPES}
    partial = _hidden_sibling(out)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            head = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "engram_version": __version__,
                "exported_at": iso(engine.clock()),
                "schema_version": schema,
                "filters": filters,
                "vault_revealed": reveal,
            }
            handle.write("{\n")
            for key, value in head.items():
                handle.write(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
            handle.write(' "memories": [')
            first = True
            for record in records:
                handle.write(("\n  " if first else ",\n  ") + json.dumps(record, ensure_ascii=False, sort_keys=True))
                first = False
                counts[record["type"]] += 1
            handle.write("\n ],\n \"counts\": " + json.dumps(counts) + "\n}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return counts


def _prepare_folder(out: Path) -> Path:
    """A hidden folder to write into; refuses to replace a folder that is not an earlier export."""
    if out.exists():
        if not out.is_dir():
            raise InvalidInputError(f"{out} is a file; Markdown and CSV exports are folders.",
                                    fix="Give a folder name that does not exist yet.")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise InvalidInputError(f"The folder {out} is not empty and was not written by an Engram export.",
                                    fix="Choose a new or empty folder; Engram does not write among your other files.")
    work = _hidden_sibling(out)
    work.mkdir(mode=0o700)
    return work


def _finish_folder(work: Path, out: Path) -> None:
    (work / MARKER).write_text("Written by 'engram export'. A new export into this folder replaces it.\n")
    os.chmod(work / MARKER, 0o600)
    if out.exists():
        old = _hidden_sibling(out, ".old")
        os.replace(out, old)
        os.replace(work, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(work, out)


def _write_private(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
        handle.write(text)


# -- Markdown ----------------------------------------------------------------------------


def _local(text: str | None) -> datetime | None:
    """An exported UTC time as local time: notes are read by a person, in their own days and hours."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone()


def _day(text: str | None) -> str:
    when = _local(text)
    return when.strftime("%Y-%m-%d") if when else ""


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def _front_matter(entries: list[tuple[str, str]]) -> str:
    lines = ["---"] + [f"{key}: {value}" for key, value in entries] + ["---", ""]
    return "\n".join(lines)


def _yaml_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _time_of(value: str | None) -> str:
    when = _local(value)
    return when.strftime("%H:%M") if when else ""


def _stamp(value: str | None) -> str:
    when = _local(value)
    return when.strftime("%Y-%m-%d %H:%M") if when else ""


def _memory_markdown(record: dict) -> str:
    f = record["fields"]
    kind = record["type"]
    lines: list[str] = []
    if kind == "core":
        lines += [f"## {_one_line(f['label'])}", "", str(f["value"]).strip()]
    elif kind == "episodic":
        when = _time_of(f.get("occurred_at"))
        if f.get("occurred_until"):
            until = f["occurred_until"]
            when += "–" + (_time_of(until) if _day(until) == _day(f.get("occurred_at")) else _stamp(until))
        lines += [f"## {when} {_one_line(f['summary'])}"]
        who = " · ".join(_one_line(x) for x in (f.get("actor"), f.get("event_type")) if x)
        if who:
            lines += ["", f"*{who}*"]
        if f.get("details"):
            lines += ["", str(f["details"]).strip()]
    elif kind == "semantic":
        lines += [f"## {_one_line(f['name'])}", "", str(f["summary"]).strip()]
        if f.get("details"):
            lines += ["", str(f["details"]).strip()]
    elif kind == "procedural":
        lines += [f"## {_one_line(f['summary'])}", "", f"*{f.get('entry_type') or 'guide'}*", ""]
        lines += [f"{i}. {_one_line(step)}" for i, step in enumerate(f.get("steps") or [], 1)]
    elif kind == "resource":
        lines += [f"## {_one_line(f['title'])}", ""]
        facts = [f"*{f.get('resource_type') or 'document'}*"]
        if f.get("location"):
            facts.append(f"`{_one_line(f['location'])}`")
        lines += [" · ".join(facts)]
        if f.get("summary"):
            lines += ["", str(f["summary"]).strip()]
        if f.get("content_excerpt"):
            lines += [""] + ["> " + line for line in str(f["content_excerpt"]).strip().splitlines()]
    elif kind == "knowledge_vault":
        lines += [f"## {_one_line(f['caption'])}", "", f"- kind: {_one_line(f['entry_type'])}",
                  f"- value: `{f['secret_value']}`", f"- sensitivity: {f.get('sensitivity') or 'medium'}"]
        if f.get("source"):
            lines += [f"- source: {_one_line(f['source'])}"]
    meta = [f"importance {record['importance']:.2f}"]
    if record["pinned"]:
        meta.append("pinned")
    if record["archived"]:
        meta.append("archived")
    meta.append(f"created {_stamp(record['created_at'])}")
    if record["updated_at"] != record["created_at"]:
        meta.append(f"updated {_stamp(record['updated_at'])}")
    if record["sources"]:
        meta.append(f"{len(record['sources'])} source{'s' if len(record['sources']) != 1 else ''}")
    lines += ["", f"<small>{' · '.join(meta)}</small> ^{record['uid']}", ""]
    return "\n".join(lines)


def _note(kind: str, title: str, records: list[dict], extra: list[tuple[str, str]] = ()) -> str:
    created = min(r["created_at"] for r in records)
    updated = max(r["updated_at"] for r in records)
    head = _front_matter([
        ("type", kind),
        ("title", _yaml_text(title)),
        *extra,
        ("created", created),
        ("updated", updated),
        ("count", str(len(records))),
        ("tags", f"[engram, engram/{kind}]"),
    ])
    body = "\n".join(_memory_markdown(r) for r in records)
    return head + f"# {title}\n\n" + body


def _write_markdown(engine, records, out: Path, filters: dict, reveal: bool) -> dict[str, int]:
    counts = {name: 0 for name in MEMORY_TYPES}
    by_type: dict[str, list[dict]] = defaultdict(list)
    episodic_days: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        counts[record["type"]] += 1
        if record["type"] == "episodic":
            episodic_days[_day(record["fields"]["occurred_at"])].append(record)
        else:
            by_type[record["type"]].append(record)
    work = _prepare_folder(out)
    try:
        index = [f"- [[{NOTE_NAMES[t]}]] ({len(by_type[t])})" for t in MEMORY_TYPES if t in by_type]
        for type_name, items in by_type.items():
            items.sort(key=lambda r: (r["created_at"], r["uid"]))
            _write_private(work / f"{NOTE_NAMES[type_name]}.md", _note(type_name, NOTE_NAMES[type_name], items))
        days = []
        for day, items in sorted(episodic_days.items()):
            items.sort(key=lambda r: (r["fields"]["occurred_at"], r["uid"]))
            _write_private(work / EPISODIC_FOLDER / f"{day}.md", _note("episodic", day, items, [("date", day)]))
            days.append(f"  - [[{EPISODIC_FOLDER}/{day}|{day}]] ({len(items)})")
        if days:
            index.append(f"- Episodic, by day ({counts['episodic']})")
            index.extend(days)
        stamp = iso(engine.clock())
        head = _front_matter([("title", _yaml_text("Engram export")), ("exported", stamp),
                              ("count", str(sum(counts.values()))), ("tags", "[engram]")])
        vault_note = "" if reveal else "\nKnowledge-vault values are masked.\n"
        _write_private(work / "index.md", head + "# Engram export\n\n" + "\n".join(index) + "\n" + vault_note)
        _finish_folder(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return counts


# -- CSV --------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text  # a spreadsheet shows it as text instead of running it
    return text


def _write_csv(engine, records, out: Path, filters: dict, reveal: bool) -> dict[str, int]:
    counts = {name: 0 for name in MEMORY_TYPES}
    wanted = filters.get("types") or list(MEMORY_TYPES)
    buffers: dict[str, tuple[io.StringIO, Any]] = {}
    for name in wanted:
        spec = MEMORY_TYPES[name]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["uid", *spec.field_names, "created_at", "updated_at", "importance", "pinned", "archived",
                         "access_count", "last_accessed_at", "sources"])
        buffers[name] = (buffer, writer)
    for record in records:
        counts[record["type"]] += 1
        _buffer, writer = buffers[record["type"]]
        spec = MEMORY_TYPES[record["type"]]
        writer.writerow([
            record["uid"], *[_cell(record["fields"].get(n)) for n in spec.field_names], record["created_at"],
            record["updated_at"], f"{record['importance']:.2f}", _cell(record["pinned"]), _cell(record["archived"]),
            record["access_count"], record["last_accessed_at"] or "", len(record["sources"]),
        ])
    work = _prepare_folder(out)
    try:
        for name, (buffer, _writer) in buffers.items():
            _write_private(work / f"{name}.csv", buffer.getvalue(), encoding="utf-8-sig")
        _finish_folder(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return counts


def parse_time(value: str | None) -> float | None:
    """An exported ISO time back to a timestamp (UTC)."""
    if value in (None, ""):
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()
