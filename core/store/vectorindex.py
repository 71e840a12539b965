"""Nearest-neighbour search that stays fast inside an encrypted database.

Measured on this project's 2-core machine at 100k 384-d vectors: a sqlite-vec
``vec0`` KNN query over SQLCipher takes about 1.1 s (float32) or 75 ms (bit),
because every page of the vector table is decrypted on every query, and an
in-memory ``vec0`` bit table still takes about 130 ms.  So Engram keeps two
things per index:

* in the encrypted database, each row's float32 vector (``<base>_vectors``)
  and its 1-bit-per-dimension sign code (``<base>_vector_codes``, 48 bytes for
  384 dimensions), both written with sqlite-vec's own functions;
* in RAM, only the codes (about 5 MB per 100k rows), with time and category,
  so a query computes Hamming distances to every row with numpy in a few
  milliseconds, keeps the best ``candidates``, and rescores those exactly with
  sqlite-vec's ``vec_distance_cosine`` on the float vectors.

Time and category filters are applied before the Hamming step, so a filtered
query never loses its neighbours to rows that are filtered out.  The RAM copy
is checked against a version counter in ``meta`` on every query and reloaded
when another process (the CLI beside the app) or a rolled-back write changed
the table.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Sequence

import numpy as np

MIN_CANDIDATES = 200
CANDIDATE_FACTOR = 4
EXACT_BELOW = 4000  # below this many rows every row is rescored exactly


def sign_code(vector: np.ndarray) -> bytes:
    """The 1-bit sign code of a vector, padded to whole 64-bit words."""
    bits = np.packbits(np.asarray(vector, dtype=np.float32) > 0)
    pad = (-len(bits)) % 8
    return (bits.tobytes() + b"\x00" * pad) if pad else bits.tobytes()


@dataclass(frozen=True)
class VectorTableNames:
    vectors: str
    codes: str
    version_key: str


class BinaryIndex:
    """The RAM side of one vector index: codes, times and categories by row id."""

    def __init__(self, names: VectorTableNames):
        self.names = names
        self.version: str | None = None
        self.lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._codes = np.zeros((0, 0), dtype=np.uint64)  # word-major: (words, rows), for contiguous passes
        self._ts = np.zeros(0, dtype=np.float64)
        self._cats = np.zeros(0, dtype=np.int32)
        self._alive = np.zeros(0, dtype=bool)
        self._positions: dict[int, int] = {}
        self._pending: list[tuple[int, bytes, float, int]] = []
        self._categories: dict[str, int] = {}

    def _category_code(self, category: str | None) -> int:
        key = category or ""
        if key not in self._categories:
            self._categories[key] = len(self._categories)
        return self._categories[key]

    def load(self, db) -> None:
        with db.lock:
            version = db.scalar("SELECT value FROM meta WHERE key = ?", [self.names.version_key])
            rows = db.conn.execute(f"SELECT id, category, ts, code FROM {self.names.codes} ORDER BY id").fetchall()
        with self.lock:
            self._categories = {}
            self._positions = {}
            self._pending = []
            n = len(rows)
            if n:
                width = len(rows[0][3]) // 8
                self._codes = np.ascontiguousarray(
                    np.frombuffer(b"".join(r[3] for r in rows), dtype=np.uint64).reshape(n, width).T
                )
            else:
                self._codes = np.zeros((0, 0), dtype=np.uint64)
            self._ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
            self._ts = np.fromiter((r[2] for r in rows), dtype=np.float64, count=n)
            self._cats = np.fromiter((self._category_code(r[1]) for r in rows), dtype=np.int32, count=n)
            self._alive = np.ones(n, dtype=bool)
            self._positions = {int(i): p for p, i in enumerate(self._ids)}
            self.version = version

    def _merge_pending(self) -> None:
        if not self._pending:
            return
        ids = np.array([p[0] for p in self._pending], dtype=np.int64)
        width = len(self._pending[0][1]) // 8
        codes = np.frombuffer(b"".join(p[1] for p in self._pending), dtype=np.uint64).reshape(len(ids), width).T
        if self._codes.shape[1] == 0:
            self._codes = np.ascontiguousarray(codes)
        else:
            self._codes = np.ascontiguousarray(np.concatenate([self._codes, codes], axis=1))
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, ids])
        self._ts = np.concatenate([self._ts, np.array([p[2] for p in self._pending], dtype=np.float64)])
        self._cats = np.concatenate([self._cats, np.array([p[3] for p in self._pending], dtype=np.int32)])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        for offset, row_id in enumerate(ids):
            self._positions[int(row_id)] = start + offset
        self._pending = []

    def upsert(self, row_id: int, code: bytes, ts: float, category: str | None) -> None:
        with self.lock:
            self._remove_locked(row_id)
            self._pending.append((int(row_id), code, float(ts), self._category_code(category)))

    def remove(self, row_id: int) -> None:
        with self.lock:
            self._remove_locked(row_id)

    def _remove_locked(self, row_id: int) -> None:
        position = self._positions.pop(int(row_id), None)
        if position is not None:
            self._alive[position] = False
        self._pending = [p for p in self._pending if p[0] != int(row_id)]

    def candidates(
        self,
        query_code: bytes,
        count: int,
        *,
        categories: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> tuple[np.ndarray, int]:
        """Row ids of the ``count`` nearest codes that pass the filters, and how many rows passed."""
        with self.lock:
            self._merge_pending()
            mask = self._alive
            if categories:
                wanted = [self._categories[c] for c in categories if c in self._categories]
                mask = mask & np.isin(self._cats, wanted)
            if since is not None:
                mask = mask & (self._ts >= since)
            if until is not None:
                mask = mask & (self._ts <= until)
            passed = int(np.count_nonzero(mask))
            if passed == 0:
                return np.zeros(0, dtype=np.int64), 0
            if passed <= count:
                return self._ids[mask].copy(), passed
            query = np.frombuffer(query_code, dtype=np.uint64)
            distances = np.bitwise_count(self._codes[0] ^ query[0]).astype(np.uint16)
            for word in range(1, self._codes.shape[0]):
                distances += np.bitwise_count(self._codes[word] ^ query[word])
            distances[~mask] = np.iinfo(np.uint16).max
            best = np.argpartition(distances, count)[:count]
            return self._ids[best].copy(), passed

    def __len__(self) -> int:
        with self.lock:
            return int(self._alive.sum()) + len(self._pending)


_INDEXES: "weakref.WeakKeyDictionary[object, dict[str, BinaryIndex]]" = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def ram_index(db, names: VectorTableNames) -> BinaryIndex:
    """The RAM index of ``names`` for this database connection, loaded or reloaded as needed."""
    with _REGISTRY_LOCK:
        per_db = _INDEXES.setdefault(db, {})
        index = per_db.get(names.codes)
        if index is None:
            index = per_db[names.codes] = BinaryIndex(names)
            fresh = True
        else:
            fresh = False
    current = db.scalar("SELECT value FROM meta WHERE key = ?", [names.version_key])
    if fresh or index.version != current:
        index.load(db)
    return index


def loaded_ram_index(db, names: VectorTableNames) -> BinaryIndex | None:
    """The RAM index of ``names`` as it is now, or None when no query loaded it; never loads or reloads.

    A write mirrors itself into this copy (``core.store.search``): loading it
    there would read the whole codes table inside the write transaction.
    """
    with _REGISTRY_LOCK:
        return _INDEXES.get(db, {}).get(names.codes)


def loaded_ram_indexes() -> list[BinaryIndex]:
    """Every RAM index loaded in this process (the bench measures their size)."""
    with _REGISTRY_LOCK:
        return [index for per_db in list(_INDEXES.values()) for index in per_db.values()]


def forget_ram_index(db, names: VectorTableNames) -> None:
    with _REGISTRY_LOCK:
        _INDEXES.get(db, {}).pop(names.codes, None)


def bump_version(db, names: VectorTableNames) -> str:
    """Advance the version counter inside the caller's transaction; returns the new value."""
    current = db.scalar("SELECT value FROM meta WHERE key = ?", [names.version_key])
    new = str(int(current or 0) + 1)
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [names.version_key, new])
    return new


def nearest(
    db,
    names: VectorTableNames,
    query_vector: np.ndarray,
    *,
    limit: int,
    categories: Sequence[str] | None = None,
    since: float | None = None,
    until: float | None = None,
) -> list[tuple[int, float]]:
    """(row id, cosine similarity) of the nearest rows, best first."""
    index = ram_index(db, names)
    count = max(MIN_CANDIDATES, limit * CANDIDATE_FACTOR)
    ids, passed = index.candidates(sign_code(query_vector), count, categories=categories, since=since, until=until)
    if ids.size == 0:
        return []
    scored = list(cosines_of(db, names, query_vector, ids).items())
    scored.sort(key=lambda item: -item[1])
    return scored[:limit]


def cosines_of(db, names: VectorTableNames, query_vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
    """Cosine similarity of ``query_vector`` with the stored vectors of ``ids`` (rows without one are left out)."""
    blob = np.asarray(query_vector, dtype=np.float32).tobytes()
    out: dict[int, float] = {}
    wanted = sorted({int(i) for i in ids})
    with db.lock:
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows = db.conn.execute(
                f"SELECT id, vec_distance_cosine(embedding, ?) FROM {names.vectors} WHERE id IN ({marks})",
                [blob, *chunk],
            ).fetchall()
            out.update((int(r[0]), 1.0 - float(r[1])) for r in rows)
    return out
