"""Observations: the raw inputs memories are made from.

An observation is one screen frame's text, one chat message or one imported
item, with its time and context.  Observations are searchable like memories,
are the queue of work for absorbing (``absorbed_at IS NULL``), and are what
every memory's provenance points to.  Thumbnails live in their own table,
inside the encrypted database, so scanning observations never reads images.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from core.store.db import Database
from core.errors import InvalidInputError, NotFoundError
from core.events import EventBus
from core.secrets import SECRETS_KEY, SHIELDED, redact_meta, shield_observation
from core.store.context_index import forget_in_context_index
from core.store.indexer import Indexer
from core.store.search import OBSERVATION_INDEX, Hit, delete_vectors, hybrid_hits, store_vectors
from core.store.types import MAX_FIELD_CHARS, check_text, iso, storable_ids, stored_timestamp, to_timestamp

KINDS = ("screen", "chat", "import")
MAX_OBSERVATION_CHARS = 200_000
MAX_THUMBNAIL_BYTES = 512 * 1024
COLUMNS = (
    "id", "kind", "ts", "app", "window_title", "url", "text", "monitor", "changed_fraction", "ocr_ms",
    "conversation", "role", "source_ref", "meta", "absorbed_at", "batch_id", "text_purged",
)


@dataclass
class Observation:
    id: int
    kind: str
    ts: float
    text: str = ""
    app: str | None = None
    window_title: str | None = None
    url: str | None = None
    monitor: int | None = None
    changed_fraction: float | None = None
    ocr_ms: float | None = None
    conversation: str | None = None
    role: str | None = None
    source_ref: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, repr=False)  # may carry secret values for the vault
    absorbed_at: float | None = None
    batch_id: int | None = None
    text_purged: bool = False

    @classmethod
    def from_row(cls, row: dict) -> "Observation":
        data = {k: row.get(k) for k in COLUMNS}
        data["meta"] = json.loads(data["meta"]) if data.get("meta") else {}
        data["text_purged"] = bool(data.get("text_purged"))
        data["text"] = data.get("text") or ""
        data["ts"] = stored_timestamp(data["ts"])  # one poisoned row must not break absorb or recall
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in COLUMNS}
        out["meta"] = redact_meta(self.meta)
        out["ts"] = iso(self.ts)
        out["absorbed_at"] = iso(self.absorbed_at)
        return out


@dataclass
class ObservationHit:
    observation: Observation
    score: float
    lexical: float
    semantic: float

    def to_dict(self) -> dict[str, Any]:
        data = self.observation.to_dict()
        data.update(type="observation", score=round(self.score, 6))
        return data


def content_hash(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, ensure_ascii=False, sort_keys=True, default=str).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


class ObservationStore:
    """Raw observations; reached as ``engine.observations``."""

    def __init__(self, db: Database, events: EventBus, indexer: Indexer, clock: Callable[[], float] = time.time):
        self.db = db
        self.events = events
        self.indexer = indexer
        self.clock = clock

    def add(
        self,
        kind: str,
        text: str,
        *,
        ts: Any = None,
        app: str | None = None,
        window_title: str | None = None,
        url: str | None = None,
        monitor: int | None = None,
        changed_fraction: float | None = None,
        ocr_ms: float | None = None,
        thumbnail: bytes | None = None,
        conversation: str | None = None,
        role: str | None = None,
        source_ref: str | None = None,
        meta: dict | None = None,
        dedupe_key: str | None = None,
        embed: bool = False,
        shielded: bool = False,
    ) -> int:
        """Store one observation; returns its id.

        ``dedupe_key`` makes the add idempotent: a second add with the same key
        returns the first observation's id and stores nothing (imports use it).
        Vectors are computed later in the background unless ``embed`` is set.
        Secrets are masked here unless ``shielded`` says the caller did it
        (``core.secrets.shield_observation``, which also decides about vault values).
        """
        return self.add_many(
            [
                dict(
                    kind=kind, text=text, ts=ts, app=app, window_title=window_title, url=url, monitor=monitor,
                    changed_fraction=changed_fraction, ocr_ms=ocr_ms, thumbnail=thumbnail, conversation=conversation,
                    role=role, source_ref=source_ref, meta=meta, dedupe_key=dedupe_key, shielded=shielded,
                )
            ],
            embed=embed,
        )[0]

    def _validated(self, item: dict) -> dict:
        kind = item.get("kind")
        if kind not in KINDS:
            raise InvalidInputError(f"Unknown observation kind {kind!r}.", fix="Use screen, chat or import.")
        text = item.get("text") or ""
        if not isinstance(text, str):
            raise InvalidInputError("Observation text must be a string.", fix="Pass text, not binary data.")
        if len(text) > MAX_OBSERVATION_CHARS:
            raise InvalidInputError(
                f"An observation of {len(text):,} characters is too large (at most {MAX_OBSERVATION_CHARS:,}).",
                fix="Split the input into smaller pieces.",
            )
        text = check_text(text.replace("\x00", ""), "observation text")
        thumbnail = item.get("thumbnail")
        if thumbnail is not None and len(thumbnail) > MAX_THUMBNAIL_BYTES:
            raise InvalidInputError("A thumbnail must be under 512 KB.", fix="Store a smaller image.")
        # Every road masks secrets before it gets here (and decides whether their values may reach the
        # vault); this catches a road that forgot, dropping the values.
        out = dict(item, text=text) if item.get(SHIELDED) else shield_observation(dict(item, text=text), keep_values=False)
        out["ts"] = to_timestamp(item.get("ts"), "observation time") if item.get("ts") is not None else self.clock()
        for key in ("app", "window_title", "url", "conversation", "role", "source_ref"):
            value = out.get(key)
            if value is not None:
                value = check_text(str(value).replace("\x00", ""), f"observation {key}")
                if len(value) > MAX_FIELD_CHARS:
                    raise InvalidInputError(f"Observation {key} is too long.", fix="Shorten it.")
                out[key] = value
        return out

    def add_many(self, items: Sequence[dict], *, embed: bool = False) -> list[int]:
        """Store several observations in one transaction; returns their ids in order."""
        rows = [self._validated(item) for item in items]
        vectors = self.indexer.embed_texts([r["text"] for r in rows]) if embed and rows else None
        ids: list[int] = []
        added: list[tuple[int, str]] = []
        with self.db.transaction():
            for index, row in enumerate(rows):
                digest = content_hash(row["dedupe_key"]) if row.get("dedupe_key") else None
                if digest:
                    existing = self.db.scalar("SELECT id FROM observations WHERE content_hash = ?", [digest])
                    if existing:
                        ids.append(int(existing))
                        continue
                cursor = self.db.execute(
                    "INSERT INTO observations(kind, ts, app, window_title, url, text, monitor, changed_fraction, ocr_ms, "
                    "conversation, role, source_ref, meta, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        row["kind"], row["ts"], row.get("app"), row.get("window_title"), row.get("url"), row["text"],
                        row.get("monitor"), row.get("changed_fraction"), row.get("ocr_ms"), row.get("conversation"),
                        row.get("role"), row.get("source_ref"),
                        json.dumps(row["meta"], ensure_ascii=False) if row.get("meta") else None, digest,
                    ],
                )
                obs_id = int(cursor.lastrowid)
                self.db.execute(
                    "INSERT INTO observation_fts(rowid, text, app, window_title) VALUES (?, ?, ?, ?)",
                    [obs_id, row["text"], row.get("app") or "", row.get("window_title") or ""],
                )
                if row.get("thumbnail"):
                    self.db.execute(
                        "INSERT INTO observation_thumbnails(observation_id, ts, webp) VALUES (?, ?, ?)",
                        [obs_id, row["ts"], row["thumbnail"]],
                    )
                if vectors is not None:
                    store_vectors(self.db, OBSERVATION_INDEX, [(obs_id, row["kind"], row["ts"])], vectors[0][index : index + 1], vectors[1])
                ids.append(obs_id)
                added.append((obs_id, row["kind"]))
        def publish() -> None:
            for obs_id, kind in added:
                self.events.emit("observation_did_add", observation_id=obs_id, kind=kind)

        self.db.after_commit(publish)
        return ids

    def get(self, observation_id: int) -> Observation:
        row = self.get_many([observation_id]).get(int(observation_id))
        if row is None:
            raise NotFoundError(f"There is no observation with id {observation_id}.", fix="It may have been forgotten.")
        return row

    def get_many(self, ids: Sequence[int]) -> dict[int, Observation]:
        ids = storable_ids(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.query(f"SELECT {', '.join(COLUMNS)} FROM observations WHERE id IN ({marks})", ids)
        return {r["id"]: Observation.from_row(r) for r in rows}

    def thumbnail(self, observation_id: int) -> bytes | None:
        return self.db.scalar("SELECT webp FROM observation_thumbnails WHERE observation_id = ?", [int(observation_id)])

    def count(self, kind: str | None = None, *, unabsorbed: bool = False) -> int:
        clauses, params = [], []
        if kind:
            clauses.append("kind = ?")
            params.append(kind)
        if unabsorbed:
            clauses.append("absorbed_at IS NULL")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return int(self.db.scalar(f"SELECT count(*) FROM observations {where}", params))

    def list_between(self, start: Any, end: Any, kinds: Iterable[str] | None = None, *, limit: int = 10_000) -> list[Observation]:
        start_ts, end_ts = to_timestamp(start, "start"), to_timestamp(end, "end")
        clauses, params = ["ts >= ?", "ts < ?"], [start_ts, end_ts]
        kinds = list(kinds or [])
        if kinds:
            clauses.append("kind IN (" + ",".join("?" * len(kinds)) + ")")
            params.extend(kinds)
        rows = self.db.query(
            f"SELECT {', '.join(COLUMNS)} FROM observations WHERE {' AND '.join(clauses)} ORDER BY ts, id LIMIT ?",
            [*params, limit],
        )
        return [Observation.from_row(r) for r in rows]

    def unabsorbed(self, *, limit: int = 1000) -> list[Observation]:
        rows = self.db.query(
            f"SELECT {', '.join(COLUMNS)} FROM observations WHERE absorbed_at IS NULL ORDER BY ts, id LIMIT ?", [limit]
        )
        return [Observation.from_row(r) for r in rows]

    def screen_texts_to_purge(self, older_than: float, *, limit: int = 500) -> list[int]:
        """Ids of absorbed screen observations older than ``older_than`` whose text is still kept."""
        return [r["id"] for r in self.db.query(
            "SELECT id FROM observations WHERE kind = 'screen' AND text_purged = 0 AND absorbed_at IS NOT NULL AND ts < ? "
            "ORDER BY id LIMIT ?", [older_than, limit])]

    def source_refs(self, *, conversation: str | None = None, absorbed: bool | None = None) -> dict[int, str | None]:
        """Observations' source references (imports keep the original message id there), by id."""
        clauses, params = [], []
        if conversation is not None:
            clauses.append("conversation = ?")
            params.append(conversation)
        if absorbed is not None:
            clauses.append("absorbed_at IS NOT NULL" if absorbed else "absorbed_at IS NULL")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return {r["id"]: r["source_ref"] for r in self.db.query(f"SELECT id, source_ref FROM observations {where}", params)}

    def mark_absorbed(self, ids: Iterable[int], batch_id: int | None = None) -> None:
        """Mark observations absorbed; call inside the transaction that stores their memories."""
        ids = [int(i) for i in ids]
        if not ids:
            return
        now = self.clock()
        with self.db.transaction():
            marks = ",".join("?" * len(ids))
            self.db.execute(f"UPDATE observations SET absorbed_at = ?, batch_id = ? WHERE id IN ({marks})", [now, batch_id, *ids])

    def drop_carried_secrets(self, ids: Iterable[int]) -> int:
        """Remove the clear secret values from the meta of observations (once the vault has them)."""
        ids = [int(i) for i in ids]
        dropped = 0
        with self.db.transaction():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.db.query(
                    f"SELECT id, meta FROM observations WHERE id IN ({marks}) AND meta LIKE ?", [*chunk, f'%"{SECRETS_KEY}"%']
                )
                for row in rows:
                    meta = json.loads(row["meta"])
                    if meta.pop(SECRETS_KEY, None) is not None:
                        self.db.execute("UPDATE observations SET meta = ? WHERE id = ?",
                                        [json.dumps(meta, ensure_ascii=False) if meta else None, row["id"]])
                        dropped += 1
        return dropped

    def forget(self, ids: Iterable[int]) -> int:
        """Delete observations with their index rows, thumbnails and provenance links."""
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        with self.db.transaction():
            delete_vectors(self.db, OBSERVATION_INDEX, ids)
            refresh_neighbours = forget_in_context_index(self.db, ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"DELETE FROM observation_fts WHERE rowid IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM observations WHERE id IN ({marks})", chunk)
            refresh_neighbours()
        self.db.after_commit(lambda: self.events.emit("observations_did_forget", count=len(ids)))
        return len(ids)

    def forget_range(self, start: Any, end: Any) -> int:
        start_ts, end_ts = to_timestamp(start, "start"), to_timestamp(end, "end")
        ids = [r["id"] for r in self.db.query("SELECT id FROM observations WHERE ts >= ? AND ts < ?", [start_ts, end_ts])]
        return self.forget(ids)

    def purge_text(self, ids: Iterable[int]) -> int:
        """Drop the raw text of observations (kept: time, app, title, provenance links).

        The text is set to '' with ``text_purged = 1`` and its full-text and
        vector rows are removed, in one transaction per call.  Returns how many
        observations lost their text.
        """
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        purged = 0
        with self.db.transaction():
            delete_vectors(self.db, OBSERVATION_INDEX, ids)
            refresh_neighbours = forget_in_context_index(self.db, ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"DELETE FROM observation_fts WHERE rowid IN ({marks})", chunk)
                # 'purged' stands in for an embedder name so the row is never queued for embedding.
                cursor = self.db.execute(
                    f"UPDATE observations SET text = '', text_purged = 1, embedded_with = 'purged' WHERE id IN ({marks})",
                    chunk,
                )
                purged += int(cursor.rowcount or 0)
            refresh_neighbours()
            self.drop_carried_secrets(ids)
        return purged

    def purge_thumbnails(self, older_than: Any) -> int:
        cutoff = to_timestamp(older_than, "cutoff")
        with self.db.transaction():
            cursor = self.db.execute("DELETE FROM observation_thumbnails WHERE ts < ?", [cutoff])
        return int(cursor.rowcount or 0)

    def search(
        self,
        query: str,
        since: Any = None,
        until: Any = None,
        limit: int = 10,
        *,
        kinds: Sequence[str] | None = None,
        semantic: bool = True,
        lexical: bool = True,
    ) -> list[ObservationHit]:
        """Hybrid search over observations, like ``MemoryStore.search``."""
        hits: list[Hit] = hybrid_hits(
            self.db, OBSERVATION_INDEX, query, self.indexer.embed_query,
            categories=kinds, since=to_timestamp(since, "since"), until=to_timestamp(until, "until"),
            limit=limit, lexical=lexical, semantic=semantic,
        )
        found = self.get_many([h.id for h in hits])
        return [ObservationHit(found[h.id], h.score, h.lexical, h.semantic) for h in hits if h.id in found]
