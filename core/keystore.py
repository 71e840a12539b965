"""Where the database key lives: the OS keyring, or a 0600 key file as fallback.

The key is 32 random bytes, generated on first start.  The OS keyring is
preferred (GNOME Keyring / KWallet / macOS Keychain / Windows Credential
Locker).  Where no keyring backend works -- headless Linux, a locked
keyring -- the key goes to ``engram.key`` beside the database, readable by the
user only, and ``KeyInfo.warning`` says so plainly so ``engram doctor`` and the
app can show it.  ``ENGRAM_KEYRING=file`` forces the key file.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass

from core.errors import KeyStorageError
from core.paths import Paths, write_private

log = logging.getLogger(__name__)

SERVICE = "engram"


@dataclass(frozen=True)
class KeyInfo:
    """How the database key is stored, for doctor and the status bar."""

    storage: str  # "keyring" or "file"
    location: str  # keyring backend name, or key file path
    warning: str | None = None


def _usable_keyring():
    """The keyring backend when a real one is usable, else None."""
    if os.environ.get("ENGRAM_KEYRING", "auto").lower() == "file":
        return None
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # keyring's discovery can fail in many ways
        log.info("no keyring backend: %s", exc)
        return None
    if isinstance(backend, fail.Keyring):
        return None
    names = type(backend).__module__
    if "chainer" in names and not getattr(backend, "backends", None):
        return None
    if "null" in names or "fail" in names:
        return None
    return backend


class KeyStore:
    """Finds or creates the key of the database at ``paths.db_path``."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self.account = f"database:{paths.db_path}"

    def _from_file(self) -> str | None:
        path = self.paths.key_file
        if not path.exists():
            return None
        try:
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                log.warning("key file %s had mode %o; tightening to 0600", path, mode)
                try:
                    os.chmod(path, 0o600)
                except OSError as exc:  # a read-only disk or an immutable file: the key can still be read
                    log.warning("could not tighten the key file's mode (%s); run 'chmod 600 %s'", exc.strerror or exc, path)
            key = path.read_text().strip()
        except OSError as exc:
            raise KeyStorageError(
                f"Engram cannot read its key file {path}: {exc.strerror or exc}.",
                fix="Check the file's owner and permissions (it must be readable by you, mode 0600).",
            ) from exc
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key.lower()):
            raise KeyStorageError(
                f"The key file {path} is damaged (it does not hold a 64-character hex key).",
                fix="Restore the key file from your backup; without the right key the database cannot be read.",
            )
        return key.lower()

    def _from_keyring(self, backend) -> str | None:
        try:
            return backend.get_password(SERVICE, self.account)
        except Exception as exc:
            log.warning("keyring read failed (%s); trying the key file", exc)
            return None

    def load(self) -> tuple[str | None, KeyInfo]:
        """The existing key and where it came from, or (None, where a new one would go)."""
        backend = _usable_keyring()
        if backend is not None:
            key = self._from_keyring(backend)
            if key:
                return key, KeyInfo("keyring", f"{type(backend).__module__}.{type(backend).__name__}")
        key = self._from_file()
        if key:
            if backend is not None and self._move_to_keyring(backend, key):
                return key, KeyInfo("keyring", f"{type(backend).__module__}.{type(backend).__name__}")
            return key, self._file_info()
        if backend is not None:
            return None, KeyInfo("keyring", f"{type(backend).__module__}.{type(backend).__name__}")
        return None, self._file_info()

    def _move_to_keyring(self, backend, key: str) -> bool:
        """A keyring became available: keep the key there and remove the file (only once the copy reads back)."""
        try:
            backend.set_password(SERVICE, self.account, key)
            if backend.get_password(SERVICE, self.account) != key:
                return False
        except Exception as exc:
            log.warning("could not move the key into the keyring (%s); keeping the key file", exc)
            return False
        try:
            self.paths.key_file.unlink()
        except OSError as exc:
            log.warning("the key is now in the keyring, but the key file %s could not be removed: %s", self.paths.key_file, exc)
        log.info("moved the database key from %s into the OS keyring", self.paths.key_file)
        return True

    def _file_info(self) -> KeyInfo:
        return KeyInfo(
            "file",
            str(self.paths.key_file),
            warning=(
                "No OS keyring is in use, so the database key is kept in a key file "
                f"({self.paths.key_file}, readable only by you). Anyone who can read your files "
                "can read the key: keep your home directory encrypted, or install a keyring "
                "(e.g. gnome-keyring) and restart Engram."
            ),
        )

    def create(self) -> tuple[str, KeyInfo]:
        """Generate and store a new key; the keyring first, the key file where it fails."""
        key = secrets.token_hex(32)
        return key, self.store(key)

    def store(self, key: str) -> KeyInfo:
        """Keep ``key`` (64 hex characters) as this database's key: the keyring first, the key file where it fails.

        ``engram recover`` and a restore on a new computer put a key back this way.
        """
        key = key.lower()
        backend = _usable_keyring()
        if backend is not None:
            try:
                backend.set_password(SERVICE, self.account, key)
                if backend.get_password(SERVICE, self.account) == key:
                    return KeyInfo("keyring", f"{type(backend).__module__}.{type(backend).__name__}")
            except Exception as exc:
                log.warning("keyring write failed (%s); using the key file", exc)
        try:
            write_private(self.paths.key_file, key.encode())
        except OSError as exc:
            raise KeyStorageError(
                f"Engram cannot write its key file {self.paths.key_file}: {exc.strerror or exc}.",
                fix="Make the data directory writable, or free some disk space, then start again.",
            ) from exc
        return self._file_info()
