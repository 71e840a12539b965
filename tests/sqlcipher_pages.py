"""Decrypt every page of a SQLCipher 4 database file or WAL, to look for text that should be gone.

SQLCipher 4's page format with Engram's settings: 4096-byte pages, each
ending in 80 reserved bytes (a 16-byte IV, then a 64-byte HMAC).  Page 1
starts with the 16-byte plaintext salt, so its encrypted part starts at
byte 16.  With a raw hex key (``PRAGMA key = "x'...'"``) the AES-256 key is the
raw key itself: no key derivation.  Each page is AES-256-CBC over the bytes
before the reserve, with the page's IV.  A WAL file is a 32-byte header
followed by frames of a 24-byte header (page number first, big-endian) and
one page.  The HMAC is not checked: these readers look for leftovers, they do
not vouch for the data.
"""

from __future__ import annotations

import struct
import tempfile
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAGE = 4096
RESERVE = 80
IV = 16
SALT = 16
WAL_HEADER = 32
FRAME_HEADER = 24


def decrypt_page(key: bytes, page: bytes, first: bool) -> bytes:
    """The plaintext of one page (page 1 gets the SQLite header back in place of the salt)."""
    start = SALT if first else 0
    iv = page[PAGE - RESERVE : PAGE - RESERVE + IV]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    body = decryptor.update(page[start : PAGE - RESERVE]) + decryptor.finalize()
    return (b"SQLite format 3\x00" if first else b"") + body


def database_pages(key_hex: str, path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    key = bytes.fromhex(key_hex)
    return [decrypt_page(key, data[i : i + PAGE], i == 0) for i in range(0, len(data) - PAGE + 1, PAGE)]


def wal_pages(key_hex: str, path: Path) -> list[bytes]:
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    key = bytes.fromhex(key_hex)
    pages = []
    offset = WAL_HEADER
    while offset + FRAME_HEADER + PAGE <= len(data):
        page_number = struct.unpack(">I", data[offset : offset + 4])[0]
        pages.append(decrypt_page(key, data[offset + FRAME_HEADER : offset + FRAME_HEADER + PAGE], page_number == 1))
        offset += FRAME_HEADER + PAGE
    return pages


def plaintext_of(key_hex: str, db_path: Path, backups_dir: Path | None = None) -> dict[str, list[bytes]]:
    """Every decrypted page, by file: the database, its WAL, and every file in ``backups_dir``."""
    out = {str(db_path): database_pages(key_hex, db_path), str(db_path) + "-wal": wal_pages(key_hex, Path(str(db_path) + "-wal"))}
    if backups_dir is not None and Path(backups_dir).is_dir():
        for copy in sorted(Path(backups_dir).iterdir()):
            if copy.is_file() and zipfile.is_zipfile(copy):
                # A verified backup: the database inside the archive, keyed with the database key (no recovery code).
                with zipfile.ZipFile(copy) as archive, tempfile.TemporaryDirectory() as tmp:
                    inner = Path(tmp) / "engram.db"
                    inner.write_bytes(archive.read("engram.db"))
                    out[str(copy)] = database_pages(key_hex, inner)
            elif copy.is_file():
                out[str(copy)] = database_pages(key_hex, copy)
    return out


def traces(key_hex: str, db_path: Path, backups_dir: Path | None, words: list[str]) -> dict[str, list[str]]:
    """``{word: [file, ...]}`` for every word (compared in lower case) found in any decrypted page."""
    found: dict[str, list[str]] = {}
    for name, pages in plaintext_of(key_hex, db_path, backups_dir).items():
        lowered = [page.lower() for page in pages]
        for word in words:
            needle = word.lower().encode()
            if any(needle in page for page in lowered):
                found.setdefault(word, []).append(name)
    return found
