"""The memory store: add, read, change, delete and search typed memories.

Every change writes the memory's row, its search index rows, its provenance
and a history row in one transaction, then publishes an event.  Knowledge-vault
secrets are masked in every output unless the caller asks to reveal them.
"""

from __future__ import annotations

import json
import logging
import time

import numpy as np
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from core.store.db import Database
from core.errors import EngramError, InvalidInputError, NotFoundError
from core.events import EventBus
from core.store.indexer import Indexer
from core.store.types import (
    MEMORY_TYPES,
    TypeSpec,
    iso,
    search_text,
    vector_text,
    storable_ids,
    to_timestamp,
    type_spec,
    validate_fields,
)
from core.secrets import mask as mask_secret
from core.store import protect
from core.store.search import MEMORY_INDEX, Hit, delete_vectors, hybrid_hits, store_vectors

log = logging.getLogger(__name__)


@dataclass
class Memory:
    id: int
    type: str
    fields: dict[str, Any]
    created_at: float
    updated_at: float
    importance: float = 0.5
    access_count: int = 0
    last_accessed_at: float | None = None
    pinned: bool = False
    archived: bool = False
    sources: list[int] = field(default_factory=list)

    @property
    def spec(self) -> TypeSpec:
        return MEMORY_TYPES[self.type]

    @property
    def title(self) -> str:
        return str(self.fields.get(self.spec.title_field) or "")

    @property
    def text(self) -> str:
        """What the memory says, for display and for the chat's context (vault secrets masked)."""
        return search_text(self.spec, self.fields)

    @property
    def time(self) -> float:
        if self.spec.time_field and self.fields.get(self.spec.time_field) is not None:
            return float(self.fields[self.spec.time_field])
        return self.created_at

    def to_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        out_fields = {}
        for name, value in self.fields.items():
            if self.spec.field(name).kind == "time":
                value = iso(value)
            if name == "secret_value" and not reveal:
                value = mask_secret(value)
            out_fields[name] = value
        return {
            "id": self.id,
            "type": self.type,
            **out_fields,
            "text": self.text,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "importance": self.importance,
            "access_count": self.access_count,
            "last_accessed_at": iso(self.last_accessed_at),
            "pinned": self.pinned,
            "archived": self.archived,
            "sources": list(self.sources),
        }


@dataclass
class SearchResult:
    memory: Memory
    score: float
    lexical: float
    semantic: float

    @property
    def id(self) -> int:
        return self.memory.id

    @property
    def type(self) -> str:
        return self.memory.type

    def to_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        data = self.memory.to_dict(reveal=reveal)
        data.update(score=round(self.score, 6), lexical=round(self.lexical, 6), semantic=round(self.semantic, 6))
        return data


def _history_value(spec: TypeSpec, fields: dict | None) -> str | None:
    if fields is None:
        return None
    return json.dumps(fields, ensure_ascii=False, sort_keys=True)


def without_repeats(results: list[SearchResult], limit: int) -> list[SearchResult]:
    """The best ``limit`` results, leaving out a memory drawn only from sources a better one already cites:
    it says nothing the reader cannot reach from that one, and takes the place of one that does."""
    kept: list[SearchResult] = []
    for result in results:
        sources = set(result.memory.sources)
        if sources and any(sources <= set(k.memory.sources) for k in kept):
            continue
        kept.append(result)
        if len(kept) == limit:
            break
    return kept


class MemoryStore:
    """Typed memories in the encrypted database; reached as ``engine.memories``."""

    def __init__(self, db: Database, events: EventBus, indexer: Indexer, clock: Callable[[], float] = time.time):
        self.db = db
        self.events = events
        self.indexer = indexer
        self.clock = clock

    # -- reading ---------------------------------------------------------------------

    def _row_to_memory(self, spec: TypeSpec, row: dict, archived: bool, sources: list[int]) -> Memory:
        fields = {name: row.get(name) for name in spec.field_names}
        if "steps" in fields:
            fields["steps"] = json.loads(fields["steps"] or "[]")
        return Memory(
            id=row["id"],
            type=spec.name,
            fields=fields,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            importance=row["importance"],
            access_count=row["access_count"],
            last_accessed_at=row["last_accessed_at"],
            pinned=bool(row["pinned"]),
            archived=bool(archived),
            sources=sources,
        )

    def get_many(self, ids: Sequence[int]) -> dict[int, Memory]:
        """Memories by id (missing ids are left out), in one query per type."""
        ids = storable_ids(ids)  # an id beyond SQLite's integers (2**63) names no memory
        if not ids:
            return {}
        out: dict[int, Memory] = {}
        marks = ",".join("?" * len(ids))
        with self.db.lock:
            registry = self.db.query(f"SELECT id, type, archived FROM memories WHERE id IN ({marks})", list(ids))
            by_type: dict[str, list[dict]] = {}
            for row in registry:
                by_type.setdefault(row["type"], []).append(row)
            sources: dict[int, list[int]] = {}
            for row in self.db.query(
                f"SELECT memory_id, observation_id FROM memory_sources WHERE memory_id IN ({marks}) ORDER BY observation_id",
                list(ids),
            ):
                sources.setdefault(row["memory_id"], []).append(row["observation_id"])
            for type_name, rows in by_type.items():
                spec = MEMORY_TYPES[type_name]
                archived = {r["id"]: r["archived"] for r in rows}
                id_marks = ",".join("?" * len(rows))
                for row in self.db.query(f"SELECT * FROM {spec.table} WHERE id IN ({id_marks})", list(archived)):
                    out[row["id"]] = self._row_to_memory(spec, row, archived[row["id"]], sources.get(row["id"], []))
        return out

    def vector_texts(self, ids: Sequence[int]) -> dict[int, str]:
        """What is embedded for each of these memories (``types.vector_text``); the indexer asks for it."""
        return {memory_id: vector_text(m.spec, m.fields) for memory_id, m in self.get_many(ids).items()}

    def get(self, memory_id: int) -> Memory:
        memory = self.get_many([int(memory_id)]).get(int(memory_id))
        if memory is None:
            raise NotFoundError(f"There is no memory with id {memory_id}.", fix="Find ids with 'engram search'.")
        return memory

    def list(
        self,
        type: str | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        include_archived: bool = False,
        newest_first: bool = True,
        since: Any = None,
        until: Any = None,
    ) -> list[Memory]:
        clauses, params = [], []
        if type:
            clauses.append("type = ?")
            params.append(type_spec(type).name)
        if not include_archived:
            clauses.append("archived = 0")
        if since is not None:
            clauses.append("ts >= ?")
            params.append(to_timestamp(since, "since"))
        if until is not None:
            clauses.append("ts <= ?")
            params.append(to_timestamp(until, "until"))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        order = "DESC" if newest_first else "ASC"
        ids = [
            r["id"]
            for r in self.db.query(
                f"SELECT id FROM memories {where} ORDER BY ts {order}, id {order} LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        ]
        found = self.get_many(ids)
        return [found[i] for i in ids if i in found]

    def count(self, type: str | None = None, *, include_archived: bool = True) -> int:
        clauses, params = [], []
        if type:
            clauses.append("type = ?")
            params.append(type_spec(type).name)
        if not include_archived:
            clauses.append("archived = 0")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return int(self.db.scalar(f"SELECT count(*) FROM memories {where}", params))

    def counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT type, count(*) AS n FROM memories GROUP BY type")
        out = {name: 0 for name in MEMORY_TYPES}
        out.update({r["type"]: r["n"] for r in rows})
        return out

    def history(self, memory_id: int) -> list[dict]:
        rows = self.db.query("SELECT * FROM memory_history WHERE memory_id = ? ORDER BY id", [int(memory_id)])
        for row in rows:
            for key in ("old_value", "new_value"):
                row[key] = json.loads(row[key]) if row[key] else None
        return rows

    def history_of_action(self, action: str) -> list[dict]:
        """Every history row of ``action`` (ADD, UPDATE, DELETE, ...), oldest first, values left as stored JSON."""
        return self.db.query("SELECT * FROM memory_history WHERE action = ? ORDER BY id", [action])

    def find_core(self, label: str) -> Memory | None:
        row = self.db.query_one("SELECT id FROM memory_core WHERE label = ?", [label])
        return self.get(row["id"]) if row else None

    def _first(self, sql: str, params: Sequence[Any]) -> Memory | None:
        row = self.db.query_one(sql, params)
        return self.get(row["id"]) if row else None

    def written_by_user(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` the user wrote or edited (an ADD or UPDATE by the user in their history)."""
        ids = sorted({int(i) for i in ids})
        out: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(r["memory_id"] for r in self.db.query(
                f"SELECT DISTINCT memory_id FROM memory_history WHERE actor = 'user' AND action IN ('ADD', 'UPDATE') "
                f"AND memory_id IN ({marks})", chunk))
        return out

    def user_owned(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` the user wrote, edited or pinned: absorb and consolidation never rewrite those."""
        ids = sorted({int(i) for i in ids})
        owned = self.written_by_user(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for spec in MEMORY_TYPES.values():
                owned.update(r["id"] for r in self.db.query(
                    f"SELECT id FROM {spec.table} WHERE pinned = 1 AND id IN ({marks})", chunk))
        return owned

    def is_user_owned(self, memory_id: int) -> bool:
        return bool(self.user_owned([memory_id]))

    def find_vault_entry(self, value: str | None = None, *, kind: str | None = None, caption: str | None = None) -> Memory | None:
        """The vault entry holding exactly ``value`` (whitespace-insensitive), or else the one of ``kind`` captioned ``caption``."""
        if value:
            compact = "".join(str(value).split())
            found = self._first(
                "SELECT id FROM memory_knowledge_vault WHERE secret_value = ? OR replace(secret_value, ' ', '') = ? LIMIT 1",
                [" ".join(str(value).split()), compact],
            )
            if found:
                return found
        if kind and caption:
            return self._first(
                "SELECT id FROM memory_knowledge_vault WHERE entry_type = ? AND caption = ? COLLATE NOCASE "
                "ORDER BY updated_at DESC LIMIT 1",
                [kind, caption],
            )
        return None

    def find_resource(self, *, location: str | None, title: str) -> Memory | None:
        """The resource at ``location`` (or, without one, titled ``title``), ignoring case."""
        if location:
            return self._first("SELECT id FROM memory_resource WHERE location = ? COLLATE NOCASE LIMIT 1", [location])
        return self._first(
            "SELECT id FROM memory_resource WHERE location IS NULL AND title = ? COLLATE NOCASE LIMIT 1", [title]
        )

    def find_semantic(self, name: str, *, ignore_case: bool = False) -> Memory | None:
        """A semantic memory named ``name``."""
        where = "lower(name) = lower(?)" if ignore_case else "name = ?"
        return self._first(f"SELECT id FROM memory_semantic WHERE {where} LIMIT 1", [name])

    def find_activity(self, details: str, *, ending_after: float, starting_before: float) -> Memory | None:
        """The latest activity span for ``details`` that ends after ``ending_after`` and starts before ``starting_before``."""
        return self._first(
            "SELECT id FROM memory_episodic WHERE event_type = 'activity' AND details = ? AND occurred_until >= ? "
            "AND occurred_at <= ? ORDER BY occurred_until DESC LIMIT 1",
            [details, ending_after, starting_before],
        )

    def changed_since(self, type: str, since: float) -> set[int]:
        """Ids of memories of ``type`` whose fields changed at or after ``since``."""
        table = type_spec(type).table
        return {r["id"] for r in self.db.query(f"SELECT id FROM {table} WHERE updated_at >= ?", [since])}

    def episodes(self, *, event_types: Sequence[str] = (), excluding: Sequence[str] = (), limit: int | None = None,
                 newest_first: bool = False) -> list[dict]:
        """Episodic rows (id, occurred_at, updated_at, summary, details, actor, event_type), by time.

        ``event_types`` keeps only those types, ``excluding`` drops them (rows without a type count as '').
        """
        clauses, params = [], []
        if event_types:
            clauses.append(f"e.event_type IN ({','.join('?' * len(event_types))})")
            params.extend(event_types)
        if excluding:
            clauses.append(f"coalesce(e.event_type, '') NOT IN ({','.join('?' * len(excluding))})")
            params.extend(excluding)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        order = "DESC" if newest_first else "ASC"
        tail = " LIMIT ?" if limit is not None else ""
        return self.db.query(
            "SELECT e.id, e.occurred_at, e.updated_at, e.summary, e.details, e.actor, e.event_type "
            f"FROM memory_episodic e {where} ORDER BY e.occurred_at {order}, e.id {order}{tail}",
            [*params, *([limit] if limit is not None else [])],
        )

    def decay_state(self, type: str) -> list[dict]:
        """For every live, unpinned memory of ``type``: id, importance, access_count, and used_at (last use or change)."""
        table = type_spec(type).table
        return self.db.query(
            f"SELECT t.id, t.importance, t.access_count, coalesce(t.last_accessed_at, t.updated_at) AS used_at "
            f"FROM {table} t JOIN memories m ON m.id = t.id WHERE m.archived = 0 AND t.pinned = 0"
        )

    def sources_of(self, memory_ids: Sequence[int], *, limit: int | None = None) -> list[int]:
        """The union of the source observations of ``memory_ids`` (the newest ``limit`` if given)."""
        ordered = self._linked("observation_id", "memory_id", memory_ids)
        return ordered[-limit:] if limit else ordered

    def citing(self, observation_ids: Sequence[int]) -> list[int]:
        """The ids of the memories that cite any of ``observation_ids`` (archived ones included), ascending."""
        return self._linked("memory_id", "observation_id", observation_ids)

    def _linked(self, wanted: str, given: str, ids: Sequence[int]) -> list[int]:
        """The distinct ``wanted`` column of the ``memory_sources`` rows whose ``given`` column is in ``ids``."""
        out: set[int] = set()
        values = [int(i) for i in ids]
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(r[wanted] for r in self.db.query(
                f"SELECT DISTINCT {wanted} FROM memory_sources WHERE {given} IN ({marks})", chunk))
        return sorted(out)

    def unit_vectors(self, type: str) -> tuple[np.ndarray, np.ndarray]:
        """Ids and L2-normalised vectors of the live memories of ``type`` that have one."""
        rows = self.db.query(
            "SELECT v.id, v.embedding FROM memory_vectors v JOIN memories m ON m.id = v.id "
            "WHERE m.type = ? AND m.archived = 0 ORDER BY v.id",
            [type_spec(type).name],
        )
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.array([r["id"] for r in rows], dtype=np.int64)
        vectors = np.vstack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return ids, vectors / np.maximum(norms, 1e-9)

    def times_of(self, ids: np.ndarray) -> np.ndarray:
        """The time of each memory in ``ids`` (an event's start), in the same order; 0 for a missing id."""
        wanted = [int(i) for i in ids]
        found: dict[int, float] = {}
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            marks = ",".join("?" * len(chunk))
            found.update((r["id"], float(r["ts"])) for r in self.db.query(f"SELECT id, ts FROM memories WHERE id IN ({marks})", chunk))
        return np.array([found.get(i, 0.0) for i in wanted], dtype=np.float64)

    # -- writing ---------------------------------------------------------------------

    def _check_sources(self, sources: Iterable[int]) -> list[int]:
        ids = sorted({int(s) for s in sources})
        if ids:
            marks = ",".join("?" * len(ids))
            found = {r["id"] for r in self.db.query(f"SELECT id FROM observations WHERE id IN ({marks})", ids)}
            missing = set(ids) - found
            if missing:
                raise InvalidInputError(
                    f"Source observation(s) {', '.join(map(str, sorted(missing)))} do not exist.",
                    fix="Link memories only to stored observations.",
                )
        return ids

    def _check_core(self, fields: dict, exclude_id: int | None = None) -> None:
        label = fields.get("label")
        limit = fields.get("char_limit") or 2000
        value = fields.get("value") or ""
        if len(value) > limit:
            raise InvalidInputError(
                f"The core memory {label!r} is {len(value)} characters; its limit is {limit}.",
                fix="Rewrite it more compactly, or raise its char_limit.",
            )
        if label is not None:
            row = self.db.query_one("SELECT id FROM memory_core WHERE label = ?", [label])
            if row and row["id"] != exclude_id:
                raise InvalidInputError(
                    f"A core memory labelled {label!r} already exists (id {row['id']}).",
                    fix="Update that memory instead of adding another with the same label.",
                )

    def add(
        self,
        type: str,
        data: dict[str, Any],
        *,
        sources: Iterable[int] = (),
        actor: str = "user",
        reason: str | None = None,
        embed: bool = True,
    ) -> Memory:
        """Store a new memory of ``type``; returns it with its id."""
        spec = type_spec(type)
        values = validate_fields(spec, data)
        importance = values.pop("importance", 0.5)
        pinned = values.pop("pinned", 0)
        if spec.name == "core":
            self._check_core(values)
        source_ids = self._check_sources(sources)
        text = search_text(spec, values)
        vector = self._vector_before_writing(vector_text(spec, values), embed)
        now = self.clock()
        ts = values.get(spec.time_field) if spec.time_field else None
        ts = now if ts is None else ts
        stored = dict(values)
        if "steps" in stored:
            stored["steps"] = json.dumps(stored["steps"], ensure_ascii=False)
        with self.db.transaction():
            cursor = self.db.execute("INSERT INTO memories(type, ts, search_text) VALUES (?, ?, ?)", [spec.name, ts, text])
            memory_id = int(cursor.lastrowid)
            columns = ["id", "created_at", "updated_at", "importance", "pinned", *stored]
            marks = ",".join("?" * len(columns))
            self.db.execute(
                f"INSERT INTO {spec.table}({','.join(columns)}) VALUES ({marks})",
                [memory_id, now, now, importance, pinned, *stored.values()],
            )
            self.db.execute("INSERT INTO memory_fts(rowid, search_text) VALUES (?, ?)", [memory_id, text])
            if vector is not None:
                store_vectors(self.db, MEMORY_INDEX, [(memory_id, spec.name, ts)], vector[0], vector[1])
            for source in source_ids:
                self.db.execute("INSERT INTO memory_sources(memory_id, observation_id) VALUES (?, ?)", [memory_id, source])
            self._record(memory_id, spec.name, "ADD", None, values, actor, reason, now)
            if embed and vector is None:
                self._embed_after_commit(memory_id)
        memory = self.get(memory_id)
        self.db.after_commit(lambda: self.events.emit("memory_did_add", memory=memory))
        return memory

    def add_from_user(self, type: str, data: dict[str, Any], *, reason: str | None = None, what: str = "engram add"):
        """Add a memory the user wrote: secrets in its text are masked there and kept in the vault.

        Returns ``(memory, vault entries)``; see ``core.store.protect``.
        """
        return protect.add_from_user(self, type, data, reason=reason, what=what)

    def update_from_user(self, memory_id: int, changes: dict[str, Any], *, reason: str | None = None,
                         what: str = "edited in the app"):
        """Change a memory as the user asked (secrets in the new text go to the vault); returns ``(memory, vault entries)``."""
        return protect.update_from_user(self, memory_id, changes, reason=reason, what=what)

    def update(
        self,
        memory_id: int,
        changes: dict[str, Any],
        *,
        sources: Iterable[int] = (),
        actor: str = "user",
        reason: str | None = None,
        action: str = "UPDATE",
    ) -> Memory:
        """Change fields of a memory (and add provenance); a no-op change writes nothing."""
        old = self.get(memory_id)
        spec = old.spec
        values = validate_fields(spec, changes, partial=True)
        importance = values.pop("importance", None)
        pinned = values.pop("pinned", None)
        merged = dict(old.fields)
        merged.update(values)
        if spec.name == "core":
            self._check_core(merged, exclude_id=old.id)
        source_ids = self._check_sources(sources)
        new_sources = [s for s in source_ids if s not in old.sources]
        field_changed = merged != old.fields
        if not field_changed and not new_sources and importance in (None, old.importance) and pinned in (None, int(old.pinned)):
            return old
        text = search_text(spec, merged)
        vector = self._vector_before_writing(vector_text(spec, merged), field_changed)
        now = self.clock()
        ts = merged.get(spec.time_field) if spec.time_field else old.created_at
        stored = dict(values)
        if "steps" in stored:
            stored["steps"] = json.dumps(stored["steps"], ensure_ascii=False)
        if importance is not None:
            stored["importance"] = importance
        if pinned is not None:
            stored["pinned"] = pinned
        stored["updated_at"] = now
        with self.db.transaction():
            assignments = ", ".join(f"{k} = ?" for k in stored)
            self.db.execute(f"UPDATE {spec.table} SET {assignments} WHERE id = ?", [*stored.values(), old.id])
            if field_changed:
                self.db.execute("UPDATE memories SET search_text = ?, ts = ?, embedded_with = NULL WHERE id = ?", [text, ts, old.id])
                self.db.execute("DELETE FROM memory_fts WHERE rowid = ?", [old.id])
                self.db.execute("INSERT INTO memory_fts(rowid, search_text) VALUES (?, ?)", [old.id, text])
                if vector is not None:
                    store_vectors(self.db, MEMORY_INDEX, [(old.id, spec.name, ts)], vector[0], vector[1])
                else:
                    self._drop_vector(old.id)
                    self._embed_after_commit(old.id)
            for source in new_sources:
                self.db.execute("INSERT INTO memory_sources(memory_id, observation_id) VALUES (?, ?)", [old.id, source])
            new_fields = dict(merged)
            if importance is not None:
                new_fields["importance"] = importance
            if pinned is not None:
                new_fields["pinned"] = bool(pinned)
            old_fields = dict(old.fields, importance=old.importance, pinned=old.pinned)
            self._record(old.id, spec.name, action, old_fields, new_fields, actor, reason, now)
        memory = self.get(old.id)
        self.db.after_commit(lambda: self.events.emit("memory_did_update", memory=memory, old=old))
        return memory

    def delete(self, memory_id: int, *, actor: str = "user", reason: str | None = None, keep_text: bool = True) -> Memory:
        """Delete a memory with its index rows and provenance; the history keeps what it said unless ``keep_text`` is off.

        This is the deletion a merge or a reconcile makes.  A user's delete
        forgets: ``store.forgetting.forget_memory`` (a tombstone in the history,
        the indexes rewritten, the WAL emptied).
        """
        old = self.get(memory_id)
        with self.db.transaction():
            self._drop_vector(old.id)
            self.db.execute("DELETE FROM memory_fts WHERE rowid = ?", [old.id])
            self.db.execute("DELETE FROM memories WHERE id = ?", [old.id])  # cascades to type row and sources
            self._record(old.id, old.type, "DELETE", dict(old.fields) if keep_text else None, None, actor, reason, self.clock())
        self.db.after_commit(lambda: self.events.emit("memory_did_delete", memory=old))
        return old

    def merge_into(self, survivor_id: int, absorbed_id: int, changes: dict[str, Any], *, actor: str, reason: str) -> Memory:
        """Fold memory ``absorbed_id`` into ``survivor_id`` in one transaction.

        The survivor takes ``changes``, the absorbed memory's sources, use counts
        and links (as parent and as child); the absorbed memory is deleted.  The
        history of both says what happened.
        """
        survivor, absorbed = self.get(survivor_id), self.get(absorbed_id)
        with self.db.transaction():
            merged = self.update(survivor.id, changes, sources=absorbed.sources, actor=actor, reason=reason, action="MERGE")
            if merged.updated_at == survivor.updated_at:
                # An exact duplicate with the same sources changes nothing, but the merge still belongs in the history.
                self.note(survivor.id, "MERGE", actor=actor, reason=reason)
            if absorbed.access_count or absorbed.last_accessed_at is not None:
                self.db.execute(
                    f"UPDATE {survivor.spec.table} SET access_count = access_count + ?, "
                    f"last_accessed_at = max(coalesce(last_accessed_at, ?), ?) WHERE id = ?",
                    [absorbed.access_count, absorbed.last_accessed_at, absorbed.last_accessed_at, survivor.id],
                )
            self.db.execute(
                "INSERT OR IGNORE INTO memory_links(parent_id, child_id, kind) "
                "SELECT parent_id, ?, kind FROM memory_links WHERE child_id = ? AND parent_id != ?",
                [survivor.id, absorbed.id, survivor.id],
            )
            self.db.execute(
                "INSERT OR IGNORE INTO memory_links(parent_id, child_id, kind) "
                "SELECT ?, child_id, kind FROM memory_links WHERE parent_id = ? AND child_id != ?",
                [survivor.id, absorbed.id, survivor.id],
            )
            self.delete(absorbed.id, actor=actor, reason=f"merged into #{survivor.id}")
        return self.get(survivor.id)

    def set_archived(self, memory_id: int, archived: bool, *, actor: str = "user", reason: str | None = None) -> Memory:
        old = self.get(memory_id)
        if old.archived == archived:
            return old
        with self.db.transaction():
            self.db.execute("UPDATE memories SET archived = ? WHERE id = ?", [1 if archived else 0, old.id])
            self._record(old.id, old.type, "ARCHIVE" if archived else "RESTORE", None, None, actor, reason, self.clock())
        memory = self.get(old.id)
        if archived:
            self.db.after_commit(lambda: self.events.emit("memory_did_archive", memory=memory))
        else:
            self.db.after_commit(lambda: self.events.emit("memory_did_update", memory=memory, old=old))
        return memory

    def note(self, memory_id: int, action: str, *, actor: str = "user", reason: str | None = None) -> None:
        """Record an event in a memory's history that changed none of its fields (e.g. merging an exact copy)."""
        memory = self.get(memory_id)
        with self.db.transaction():
            self._record(memory.id, memory.type, action, None, None, actor, reason, self.clock())

    def touch(self, memory_ids: Iterable[int]) -> None:
        """Record that memories were used (recall reinforces them)."""
        ids = sorted({int(i) for i in memory_ids})
        if not ids:
            return
        now = self.clock()
        with self.db.transaction():
            for spec in MEMORY_TYPES.values():
                marks = ",".join("?" * len(ids))
                self.db.execute(
                    f"UPDATE {spec.table} SET access_count = access_count + 1, last_accessed_at = ? WHERE id IN ({marks})",
                    [now, *ids],
                )

    def _vector_before_writing(self, text: str, wanted: bool):
        """The text's vector, computed before the write transaction opens; None inside someone else's.

        Embedding takes a model call: done while a transaction holds the write
        lock it would make every reader (quick recall, search) wait for the
        model.  Inside an open transaction the row is left pending and embedded
        once that transaction commits (``_embed_after_commit``).
        """
        if not wanted or self.db.in_transaction():
            return None
        return self.indexer.embed_texts([text])

    def _embed_after_commit(self, memory_id: int) -> None:
        def embed() -> None:
            try:
                self.indexer.index_rows(MEMORY_INDEX, [memory_id])
            except EngramError as exc:  # the scheduler's embed job computes it later
                log.info("memory %s is embedded later: %s", memory_id, exc.message)

        self.db.after_commit(embed)

    def _drop_vector(self, memory_id: int) -> None:
        delete_vectors(self.db, MEMORY_INDEX, [memory_id])

    def _record(self, memory_id, type_name, action, old, new, actor, reason, at) -> None:
        spec = MEMORY_TYPES[type_name]
        self.db.execute(
            "INSERT INTO memory_history(memory_id, memory_type, action, old_value, new_value, at, actor, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [memory_id, type_name, action, _history_value(spec, old), _history_value(spec, new), at, actor, reason],
        )

    # -- searching -------------------------------------------------------------------

    def search(
        self,
        query: str,
        types: Sequence[str] | str | None = None,
        since: Any = None,
        until: Any = None,
        limit: int = 10,
        *,
        include_archived: bool = False,
        semantic: bool = True,
        lexical: bool = True,
        for_reader: bool = True,
    ) -> list[SearchResult]:
        """Hybrid search: FTS5 BM25 fused with sqlite-vec nearest neighbours.

        ``for_reader`` (results someone reads, or an answer's evidence): keyword matches keep their cosine, and a
        memory citing only sources a better result already cites is left out (its place goes to one that adds a
        source).  Absorbing looks for every similar memory (to merge or correct it) and the Memories page lists
        every match: both pass False.
        """
        if isinstance(types, str):
            types = [types]
        type_names = [type_spec(t).name for t in types] if types else None
        since_ts = to_timestamp(since, "since")
        until_ts = to_timestamp(until, "until")
        if limit <= 0:
            raise InvalidInputError("limit must be at least 1.", fix="For example --limit 10.")
        hits = hybrid_hits(
            self.db, MEMORY_INDEX, query, self.indexer.embed_query,
            categories=type_names, since=since_ts, until=until_ts, limit=limit * 3, lexical=lexical, semantic=semantic,
            extra_clauses=() if include_archived else ("b.archived = 0",),
            keep=None if include_archived else self._not_archived, fill_semantic=for_reader,
        )
        results = self._results(hits)
        return without_repeats(results, limit) if for_reader else results

    def _not_archived(self, ids: Sequence[int]) -> set[int]:
        marks = ",".join("?" * len(ids))
        return {r["id"] for r in self.db.query(f"SELECT id FROM memories WHERE archived = 0 AND id IN ({marks})", list(ids))}

    def _results(self, hits: list[Hit]) -> list[SearchResult]:
        found = self.get_many([h.id for h in hits])
        return [SearchResult(found[h.id], h.score, h.lexical, h.semantic) for h in hits if h.id in found]
