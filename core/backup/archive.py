"""The backup file: one ``.engram-backup`` file holding the encrypted database and its manifest.

The file is a zip archive (stored, not compressed: encrypted pages do not
compress) with two members:

* ``engram.db``: the SQLCipher database, keyed with the backup key (or, where
  no recovery code exists, with this computer's database key);
* ``manifest.json``: what the backup holds and how to open it: Engram and
  schema version, creation time, counts per memory type, observations, the
  database's size and SHA-256, the checks it passed, and the key block (for a
  recovery-code backup, the backup key wrapped by the code, so the code alone
  opens it on another computer).

One file rather than a database plus a sidecar: a copy carried to another
disk cannot lose its manifest, and any zip tool shows what is inside.  The
manifest is authenticated with an HMAC under a key derived from the backup's
key (checked once the key is known), and the zip's CRCs plus the SHA-256 catch
a damaged or truncated file before anything is restored from it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable

from core.errors import EngramError, StorageError

SUFFIX = ".engram-backup"
MANIFEST_NAME = "manifest.json"
DATABASE_NAME = "engram.db"
FORMAT = "engram-backup"
FORMAT_VERSION = 1
MAX_MANIFEST_BYTES = 1 << 20
CHUNK = 1 << 20


class DamagedBackupError(EngramError):
    """A backup file is damaged, incomplete or not a backup at all."""


class CancelledError(EngramError):
    """The user cancelled; nothing was kept."""


def _damaged(path: Path, why: str) -> DamagedBackupError:
    return DamagedBackupError(
        f"The backup {path} is damaged: {why}. Nothing was changed.",
        fix="Use another backup (engram backup list shows them), or copy this one again from where it came from.",
    )


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _mac_key(key_hex: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"engram backup manifest v1").derive(
        bytes.fromhex(key_hex)
    )


def manifest_mac(manifest: dict[str, Any], key_hex: str) -> str:
    return hmac.new(_mac_key(key_hex), _canonical(manifest), hashlib.sha256).hexdigest()


def mac_matches(manifest: dict[str, Any], key_hex: str) -> bool:
    return hmac.compare_digest(str(manifest.get("mac", "")), manifest_mac(manifest, key_hex))


def write_archive(
    dest: Path,
    database: Path,
    manifest: dict[str, Any],
    key_hex: str,
    *,
    progress: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Write ``database`` and ``manifest`` into the new file ``dest``; returns the final manifest.

    Written to a hidden ``.partial`` file in the same folder, flushed to disk,
    then renamed into place: ``dest`` is either absent or complete.
    """
    dest = Path(dest)
    partial = dest.with_name(f".{dest.name}.partial")
    total = max(1, database.stat().st_size)
    digest = hashlib.sha256()
    done = 0
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                member_info = zipfile.ZipInfo(DATABASE_NAME, date_time=time.localtime(database.stat().st_mtime)[:6])
                member_info.compress_type = zipfile.ZIP_STORED
                with open(database, "rb") as source, archive.open(member_info, "w", force_zip64=True) as member:
                    while chunk := source.read(CHUNK):
                        if stop is not None and stop.is_set():
                            raise CancelledError("The backup was cancelled; no file was kept.")
                        member.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done / total)
                final = dict(manifest)
                final["database"] = {"name": DATABASE_NAME, "bytes": done, "sha256": digest.hexdigest()}
                final["mac"] = manifest_mac(final, key_hex)
                archive.writestr(MANIFEST_NAME, json.dumps(final, indent=2, ensure_ascii=False))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, dest)
        fsync_dir(dest.parent)
    except BaseException as exc:
        try:
            partial.unlink()
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            if exc.errno == 28:  # ENOSPC
                raise StorageError(
                    f"The disk holding {dest.parent} is full; the backup was not written (no partial file is left).",
                    fix="Free some space or choose another backup folder, then back up again.",
                ) from exc
            raise StorageError(
                f"The backup {dest} could not be written: {exc.strerror or exc}.",
                fix="Check that the backup folder exists and is writable.",
            ) from exc
        raise
    return final


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (best effort: some file systems cannot sync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _open_zip(path: Path) -> zipfile.ZipFile:
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except FileNotFoundError:
        raise StorageError(f"There is no file {path}.", fix="Check the path; 'engram backup list' shows your backups.") from None
    except OSError as exc:
        raise StorageError(f"Engram cannot read {path}: {exc.strerror or exc}.", fix="Check the file's permissions.") from exc
    if head != b"PK\x03\x04":
        raise DamagedBackupError(
            f"{path} is not an Engram backup.",
            fix="Choose a file ending in .engram-backup (engram backup list shows them).",
        )
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _damaged(path, f"it is incomplete (cut short) or its end is damaged ({exc})") from None


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the backup at ``path``, checked for shape (not yet for authenticity)."""
    path = Path(path)
    with _open_zip(path) as archive:
        try:
            info = archive.getinfo(MANIFEST_NAME)
            if info.file_size > MAX_MANIFEST_BYTES:
                raise _damaged(path, "its manifest is implausibly large")
            text = archive.read(MANIFEST_NAME)
            member = archive.getinfo(DATABASE_NAME)
        except KeyError:
            raise DamagedBackupError(
                f"{path} is a zip file but not an Engram backup (no manifest or database inside).",
                fix="Choose a file made by 'engram backup'.",
            ) from None
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:
            raise _damaged(path, f"its manifest cannot be read ({exc})") from None
    try:
        manifest = json.loads(text)
    except ValueError:
        raise _damaged(path, "its manifest is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DamagedBackupError(f"{path} is not an Engram backup.", fix="Choose a file made by 'engram backup'.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DamagedBackupError(
            f"{path} was made by a newer Engram (backup format {version}); this Engram reads format {FORMAT_VERSION}.",
            fix="Update Engram, then restore again. Nothing was changed.",
        )
    database = manifest.get("database") or {}
    if not isinstance(database, dict) or database.get("bytes") != member.file_size or not database.get("sha256"):
        raise _damaged(path, "the database inside does not have the size its manifest records")
    return manifest


def extract_database(
    path: Path,
    dest: Path,
    manifest: dict[str, Any],
    *,
    progress: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Copy the database out of the backup into the new file ``dest``, checking its SHA-256 and CRC."""
    path, dest = Path(path), Path(dest)
    expected = manifest["database"]
    digest = hashlib.sha256()
    done = 0
    total = max(1, int(expected["bytes"]))
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with _open_zip(path) as archive, os.fdopen(fd, "wb") as out, archive.open(DATABASE_NAME) as member:
            while chunk := member.read(CHUNK):
                if stop is not None and stop.is_set():
                    raise CancelledError("The restore was cancelled; nothing was changed.")
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done / total)
            out.flush()
            os.fsync(out.fileno())
        if done != expected["bytes"] or digest.hexdigest() != expected["sha256"]:
            raise _damaged(path, "the database inside does not match its checksum")
    except BaseException as exc:
        try:
            dest.unlink()
        except FileNotFoundError:
            pass
        if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError)):
            raise _damaged(path, f"the database inside cannot be read ({exc})") from None
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            if exc.errno == 28:
                raise StorageError(
                    f"The disk holding {dest.parent} is full; nothing was restored or changed.",
                    fix="Free some space (about twice the backup's size), then restore again.",
                ) from exc
        raise
