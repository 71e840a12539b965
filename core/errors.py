"""The one error root of Engram.

Every error a user can meet is an ``EngramError``: a message that says what went
wrong in plain words and a ``fix`` that says what to do about it.  The CLI
prints both and exits non-zero; the desktop app shows both in a dialog.
"""

from __future__ import annotations


class EngramError(Exception):
    """A problem the user can understand and act on."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message}\nFix: {self.fix}"
        return self.message


class StorageError(EngramError):
    """The database cannot be opened, read or written."""


class WrongKeyError(StorageError):
    """The database exists but the key does not open it."""


class CorruptDatabaseError(StorageError):
    """The database file is damaged or is not an Engram database."""


class KeyStorageError(EngramError):
    """The database key cannot be stored or read."""


class InvalidInputError(EngramError):
    """Input from the user or an import file is not acceptable."""

    exit_code = 2


class NotFoundError(EngramError):
    """A memory, observation or model with that name or id does not exist."""


class ModelError(EngramError):
    """A model is missing, broken, too large, or failed to produce usable output."""


class ModelUnavailableError(ModelError):
    """No usable model is configured or installed; work waits until one is."""


class DownloadError(ModelError):
    """A model download failed; the partial file is kept for resuming or removed."""


class CaptureError(EngramError):
    """Screen capture cannot run here (no display, Wayland, no tesseract...)."""


class ReadOnlyStoreError(StorageError):
    """The data directory (or the database in it) cannot be written: Engram can read, not save."""


class DatabaseBusyError(StorageError):
    """Another process kept the database locked for longer than Engram waits."""
