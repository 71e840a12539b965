"""The SQL of backups: a consistent encrypted snapshot, its facts, and the checks a copy must pass.

``export_snapshot`` copies the live database into a new file with another key
through SQLCipher's ``sqlcipher_export`` on a connection of its own, inside
one read transaction: the copy holds exactly what was committed when the
transaction began, while the engine keeps writing on its own connection (WAL).
FTS5 tables are exported as their shadow tables plus the virtual table's
declaration; vectors are ordinary tables (see core.store.vectorindex), so both come
across as they are, and ``verify_copy`` proves it with a query of each kind.

Nothing here decides where files go or what a backup is called; that is
``core.backup.backups``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any, Callable

from core.errors import EngramError, StorageError, WrongKeyError
from core.store.types import MEMORY_TYPES

log = logging.getLogger(__name__)

MIGRATION_SET = "engram"
PROGRESS_EVERY = 20_000  # SQLite VM steps between progress callbacks


class CopyCancelled(EngramError):
    """The user cancelled a long copy; nothing was kept."""


class CopyCheckFailed(StorageError):
    """A copy of the database did not pass its checks."""


def _driver():
    import sqlcipher3

    return sqlcipher3


def connect_file(path: Path, key_hex: str, *, read_only: bool) -> Any:
    """A plain connection to an encrypted file (no WAL switch, nothing written unless asked).

    Raises ``WrongKeyError`` when ``key_hex`` does not open it.
    """
    driver = _driver()
    if read_only:
        conn = driver.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False,
                              isolation_level=None)
    else:
        conn = driver.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")
        conn.execute("PRAGMA cipher_memory_security = OFF")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except driver.DatabaseError as exc:
            raise WrongKeyError(
                f"{path} cannot be opened with the key given: the key is wrong or the file is damaged.",
                fix="Use the recovery code (or the computer) the backup was made with.",
            ) from exc
        import sqlite_vec

        conn.enable_load_extension(True)
        try:
            sqlite_vec.load(conn)
        finally:
            conn.enable_load_extension(False)
    except BaseException:
        conn.close()
        raise
    return conn


# -- facts ----------------------------------------------------------------------------


def _tables(conn, schema: str = "main") -> set[str]:
    return {r[0] for r in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}


def applied_migrations(conn, schema: str = "main") -> list[str]:
    if "_sqlite_migrations" not in _tables(conn, schema):
        return []
    rows = conn.execute(
        f"SELECT name FROM {schema}._sqlite_migrations WHERE migration_set = ? ORDER BY rowid", [MIGRATION_SET]
    )
    return [r[0] for r in rows]


def counts(conn, schema: str = "main") -> dict[str, Any]:
    """How many memories of each type (archived included), observations, history rows and provenance links."""
    tables = _tables(conn, schema)
    by_type = {name: 0 for name in MEMORY_TYPES}
    for type_name, n in conn.execute(f"SELECT type, count(*) FROM {schema}.memories GROUP BY type"):
        by_type[type_name] = n

    def count(table: str) -> int:
        return conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0] if table in tables else 0

    return {
        "memories": by_type,
        "observations": count("observations"),
        "history": count("memory_history"),
        "sources": count("memory_sources"),
    }


# What a change to the user's data moves.  Bookkeeping (job runs, absorb's records,
# index version counters in meta) is left out: the scheduler writes it every minute.
# Every change to a memory writes a history row; the other queries catch what does not
# (a recall's access counts, provenance, links, observations, their purging, vectors
# computed), each through an index or a small table, so the whole check stays cheap
# (about 0.3 s at 100k memories and 200k observations).
_FINGERPRINT_QUERIES = (
    ("memories", "SELECT count(*), max(id) FROM {s}.memories"),
    ("memories", "SELECT count(*) FROM {s}.memories WHERE embedded_with IS NULL"),
    ("memory_history", "SELECT count(*), max(id) FROM {s}.memory_history"),
    ("observations", "SELECT count(*), max(id) FROM {s}.observations"),
    ("observations", "SELECT count(*) FROM {s}.observations WHERE absorbed_at IS NULL"),
    ("observations", "SELECT count(*) FROM {s}.observations WHERE embedded_with IS NULL"),
    ("observation_fts_docsize", "SELECT count(*) FROM {s}.observation_fts_docsize"),
    ("observation_thumbnails", "SELECT count(*) FROM {s}.observation_thumbnails"),
    ("memory_sources", "SELECT count(*) FROM {s}.memory_sources"),
    ("memory_links", "SELECT count(*) FROM {s}.memory_links"),
    ("consolidation_keys", "SELECT count(*), total(updated_at) FROM {s}.consolidation_keys"),
)


def change_fingerprint(conn, schema: str = "main") -> str:
    """A digest that changes whenever memories, observations or their links change.

    Used to skip a scheduled backup when nothing changed since the last one.
    """
    tables = _tables(conn, schema)
    digest = hashlib.sha256()
    for table, sql in _FINGERPRINT_QUERIES:
        if table in tables:
            digest.update(repr((sql, conn.execute(sql.format(s=schema)).fetchone())).encode())
    for spec in MEMORY_TYPES.values():
        if spec.table in tables:  # recall touches memories without writing history
            row = conn.execute(
                f"SELECT count(*), total(access_count), total(last_accessed_at) FROM {schema}.{spec.table}"
            ).fetchone()
            digest.update(repr((spec.table, row)).encode())
    digest.update(repr(applied_migrations(conn, schema)).encode())
    return digest.hexdigest()


def facts(conn, schema: str = "main") -> dict[str, Any]:
    return {
        "counts": counts(conn, schema),
        "schema": applied_migrations(conn, schema),
        "fingerprint": change_fingerprint(conn, schema),
    }


# -- copying --------------------------------------------------------------------------


def export_snapshot(
    source_path: Path,
    source_key_hex: str,
    dest: Path,
    dest_key_hex: str,
    *,
    live_lock: threading.RLock | None = None,
    on_snapshot: Callable[[dict], None] | None = None,
    progress: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
    max_pages: int | None = None,
) -> dict[str, Any]:
    """Copy the database at ``source_path`` into the new file ``dest`` keyed with ``dest_key_hex``.

    The copy is one read transaction on a connection of its own.  When
    ``live_lock`` (the engine's database lock) is given, the transaction
    begins while it is held, so no write of the engine is half-way through a
    commit at that moment; ``on_snapshot(facts)`` is called right then.
    Returns the facts (counts, schema, change fingerprint) of the snapshot.
    ``progress`` gets 0..1 (bytes written against the source's size); a set
    ``stop`` aborts with ``CopyCancelled``.  On any failure ``dest`` is
    removed; the source is never written.  ``max_pages`` caps the copy's size
    (tests simulate a full disk with it).
    """
    driver = _driver()
    dest = Path(dest)
    try:  # made here, private from its first byte: ATTACH would make it with the umask's mode
        os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise StorageError(f"{dest} already exists; Engram never copies over a file.", fix="Remove it or choose another name.") from None
    except OSError as exc:
        raise StorageError(f"Engram cannot create {dest}: {exc.strerror}.",
                           fix="Check that the folder exists, is writable and has free space.") from exc
    try:
        source_bytes = max(1, Path(source_path).stat().st_size)
        conn = connect_file(source_path, source_key_hex, read_only=False)
    except BaseException:
        _remove(dest)
        raise
    calls = 0

    def on_progress() -> int:
        nonlocal calls
        if stop is not None and stop.is_set():
            return 1
        calls += 1
        if progress is not None and calls % 5 == 0:
            try:
                progress(min(1.0, dest.stat().st_size / source_bytes))
            except OSError:
                pass
        return 0

    try:
        conn.execute("ATTACH DATABASE ? AS backup KEY ?", [str(dest), f"x'{dest_key_hex}'"])
        if max_pages is not None:
            conn.execute(f"PRAGMA backup.max_page_count = {int(max_pages)}")
        if live_lock is not None:
            live_lock.acquire()
        try:
            conn.execute("BEGIN")
            snapshot = facts(conn)  # the first read fixes the snapshot
            if on_snapshot is not None:
                on_snapshot(snapshot)
        finally:
            if live_lock is not None:
                live_lock.release()
        conn.set_progress_handler(on_progress, PROGRESS_EVERY)
        conn.execute("SELECT sqlcipher_export('backup')").fetchall()
        conn.set_progress_handler(None, 0)
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE backup")
    except BaseException as exc:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except driver.Error:
            pass
        conn.close()
        _remove(dest)
        if stop is not None and stop.is_set():
            raise CopyCancelled("The backup was cancelled; no file was kept.", fix=None) from None
        if isinstance(exc, driver.Error):
            text = str(exc).lower()
            if "full" in text:
                raise StorageError(
                    f"The disk holding {dest.parent} is full; the backup was not written (no partial file is left).",
                    fix="Free some space or choose another backup folder, then back up again.",
                ) from exc
            raise StorageError(f"Copying the database to {dest} failed: {exc}.", fix="Run 'engram doctor'.") from exc
        raise
    conn.close()
    if progress is not None:
        progress(1.0)
    return snapshot


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            Path(str(path) + suffix).unlink()
        except FileNotFoundError:
            pass


# -- checking a copy ------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)


def _fts_probe(conn) -> bool | None:
    """Search the copy's full-text index for a word of one of its rows; None when there is no text at all."""
    candidates = (
        ("memory_fts", "SELECT id, search_text FROM memories WHERE search_text != '' ORDER BY id DESC LIMIT 1"),
        ("observation_fts", "SELECT id, text FROM observations WHERE text != '' AND text_purged = 0 ORDER BY id DESC LIMIT 1"),
    )
    for fts, sql in candidates:
        row = conn.execute(sql).fetchone()
        if not row:
            continue
        words = _WORD.findall(row[1])
        if not words:
            continue
        word = max(words, key=len)
        hits = {r[0] for r in conn.execute(f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT 50", ['"' + word + '"'])}
        return bool(hits)
    return None


def _vector_probe(conn) -> bool | None:
    """Find a stored vector by its own value; None when the copy holds no vectors yet."""
    tables = _tables(conn)
    for table in ("memory_vectors", "observation_vectors"):
        if table not in tables:
            continue
        row = conn.execute(f"SELECT id, embedding FROM {table} ORDER BY id DESC LIMIT 1").fetchone()
        if not row:
            continue
        best = conn.execute(
            f"SELECT id, vec_distance_cosine(embedding, ?) AS d FROM {table} ORDER BY d LIMIT 1", [row[1]]
        ).fetchone()
        return best is not None and best[1] < 1e-4
    return None


def verify_copy(path: Path, key_hex: str, expected: dict[str, Any] | None = None, *,
                integrity: bool = True) -> dict[str, Any]:
    """Open a copy read-only and check it; returns what was checked, raises ``CopyCheckFailed``.

    The copy must open with ``key_hex``, pass ``integrity_check`` (which in
    SQLite 3.44+ also checks the FTS5 indexes against their text) and
    ``cipher_integrity_check`` (every page's HMAC), hold the counts and schema
    in ``expected`` (the snapshot's facts) when given, and answer a full-text
    and a vector query.  ``integrity=False`` skips ``integrity_check``, the
    slow part (about 35 s at 100k memories and 200k observations): a restore
    does, for a file whose SHA-256 proves it is byte for byte the copy that
    passed it when the backup was made.
    """
    conn = connect_file(path, key_hex, read_only=True)
    try:
        if integrity:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise CopyCheckFailed(f"{path} fails SQLite's integrity check: {'; '.join(problems[:3])}.",
                                      fix="Do not use this copy; make a new backup.")
        cipher = [r[0] for r in conn.execute("PRAGMA cipher_integrity_check")]
        if cipher:
            raise CopyCheckFailed(f"{path} fails SQLCipher's page check: {'; '.join(cipher[:3])}.",
                                  fix="The file was changed or damaged after it was written; do not use it.")
        found = {"counts": counts(conn), "schema": applied_migrations(conn)}
        if expected is not None:
            for name in ("counts", "schema"):
                if found[name] != expected.get(name):
                    raise CopyCheckFailed(
                        f"{path} does not hold what its manifest says ({name}: {found[name]} instead of {expected.get(name)}).",
                        fix="Do not use this copy; make a new backup.",
                    )
        fts = _fts_probe(conn)
        if fts is False:
            raise CopyCheckFailed(f"The full-text index in {path} does not find its own text.",
                                  fix="Do not use this copy; make a new backup.")
        vectors = _vector_probe(conn)
        if vectors is False:
            raise CopyCheckFailed(f"The vectors in {path} do not find themselves.",
                                  fix="Do not use this copy; make a new backup.")
    finally:
        conn.close()
    return {
        "integrity_check": "ok" if integrity else "passed when the backup was made (same SHA-256)",
        "cipher_integrity_check": "ok",
        "full_text_query": "ok" if fts else "nothing to search",
        "vector_query": "ok" if vectors else "no vectors yet",
        "facts": found,
    }


def copy_with_key(source: Path, source_key_hex: str, dest: Path, dest_key_hex: str, *,
                  progress: Callable[[float], None] | None = None, stop: threading.Event | None = None) -> dict[str, Any]:
    """Copy a closed database file into ``dest`` under another key (a restore re-keys this way)."""
    return export_snapshot(source, source_key_hex, dest, dest_key_hex, progress=progress, stop=stop)
