"""Where Engram keeps its files.

All locations come from one ``Paths`` object.  By default they follow the
platform's conventions (platformdirs); ``ENGRAM_HOME`` moves everything under a
single directory, which is how tests and the self-test sandbox themselves.
Nothing is created until ``ensure()`` is called.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import StorageError

APP_NAME = "engram"


@dataclass(frozen=True)
class Paths:
    """The directories and files of one Engram installation."""

    data_dir: Path
    config_dir: Path
    cache_dir: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Paths":
        """Paths from ``ENGRAM_HOME`` when set, else the platform's user dirs."""
        env = os.environ if environ is None else environ
        home = env.get("ENGRAM_HOME")
        if home:
            root = Path(home).expanduser().resolve()
            return cls(data_dir=root, config_dir=root, cache_dir=root / "cache")
        import platformdirs

        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def at(cls, root: str | os.PathLike) -> "Paths":
        """Everything under one directory, as ``ENGRAM_HOME`` would do."""
        return cls.from_env({"ENGRAM_HOME": str(root)})

    @property
    def db_path(self) -> Path:
        return self.data_dir / "engram.db"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "engram.key"

    @property
    def recovery_file(self) -> Path:
        """The database and backup keys wrapped by the recovery code (see core.backup.recovery)."""
        return self.data_dir / "engram.recovery"

    @property
    def lock_file(self) -> Path:
        """Held shared by every open engine; a restore takes it exclusively (see core.store.lock)."""
        return self.data_dir / "engram.lock"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.json"

    def data_dir_read_only(self) -> bool:
        """True when the data directory exists but this process cannot write in it (modes, chattr +i, a read-only mount)."""
        return self.data_dir.is_dir() and not os.access(self.data_dir, os.W_OK)

    def ensure(self) -> "Paths":
        """Create the missing directories, private to the user (0700).

        A directory that already exists keeps the mode its owner gave it
        (``engram doctor`` warns when others can read it).  In a read-only data
        directory nothing is created: Engram then opens the store read-only
        and says that nothing can be saved.
        """
        read_only = self.data_dir_read_only()
        for directory in (
            self.data_dir,
            self.config_dir,
            self.cache_dir,
            self.models_dir,
            self.logs_dir,
            self.backups_dir,
        ):
            if directory.is_dir() or (read_only and directory.parent == self.data_dir):
                continue
            try:
                directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
            except PermissionError as exc:
                raise StorageError(
                    f"Engram cannot create or use its directory {directory}: permission denied.",
                    fix=f"Make {directory} writable by your user, or set ENGRAM_HOME to a writable directory.",
                ) from exc
            except OSError as exc:
                raise StorageError(
                    f"Engram cannot create its directory {directory}: {exc.strerror or exc}.",
                    fix="Check that the disk is mounted and has free space, or set ENGRAM_HOME elsewhere.",
                ) from exc
        return self


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable only by the user (0600), atomically.

    The bytes go to a temporary file of a unique name in the same directory,
    then replace ``path`` in one step: two processes writing at once never
    share (or truncate) each other's temporary file, and a reader sees the
    old file or the new one, never half of one.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
