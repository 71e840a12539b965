"""Where Engram keeps its files.

All locations come from one ``Paths`` object.  By default they follow the
platform's conventions (platformdirs); ``ENGRAM_HOME`` moves everything under a
single directory, which is how tests and the self-test sandbox themselves.
Nothing is created until ``ensure()`` is called.
"""

from __future__ import annotations

import os
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
        """Held shared by every open engine; a restore takes it exclusively (see core.backup.lock)."""
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

    def ensure(self) -> "Paths":
        """Create the directories, private to the user (0700)."""
        for directory in (
            self.data_dir,
            self.config_dir,
            self.cache_dir,
            self.models_dir,
            self.logs_dir,
            self.backups_dir,
        ):
            try:
                directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(directory, 0o700)
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
    """Write a file readable only by the user (0600), atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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
