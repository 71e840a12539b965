"""User settings, declared once in ``resources/settings.json``.

The declaration (key, default, type, group, label, tooltip, bounds) drives both
this loader and the desktop settings page.  Values live in ``config.json``
(0600) in the config directory; unknown keys are kept but ignored, values of
the wrong type fall back to the default with a warning, so a hand-edited file
can never stop Engram from starting.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from core.errors import InvalidInputError
from core.events import EventBus
from core.paths import Paths, write_private
from core.resources import load_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    type: str
    group: str
    label: str
    tooltip: str
    min: float | None = None
    max: float | None = None
    hidden: bool = False
    choices: tuple[str, ...] | None = None

    def coerce(self, value: Any) -> Any:
        """Return ``value`` as this setting's type, or raise InvalidInputError."""
        try:
            if self.type == "bool":
                if isinstance(value, str):
                    lowered = value.strip().lower()
                    if lowered in {"1", "true", "yes", "on"}:
                        return True
                    if lowered in {"0", "false", "no", "off"}:
                        return False
                    raise ValueError(value)
                if isinstance(value, (bool, int)):
                    return bool(value)
                raise ValueError(value)
            if self.type == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError(value)
                result: Any = int(value)
            elif self.type == "float":
                if isinstance(value, bool):
                    raise ValueError(value)
                result = float(value)
            elif self.type == "str":
                if not isinstance(value, str):
                    raise ValueError(value)
                result = value
                if self.choices and result not in self.choices:
                    raise InvalidInputError(
                        f"Setting {self.key} must be one of {', '.join(self.choices)}, not {value!r}.",
                        fix=f"Use one of: {', '.join(self.choices)} (the default is {self.default!r}).",
                    )
            elif self.type == "list":
                if isinstance(value, str):
                    value = [line.strip() for line in value.splitlines() if line.strip()]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValueError(value)
                result = list(value)
            else:  # pragma: no cover - declaration error
                raise ValueError(self.type)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"Setting {self.key} must be a {self.type}, not {value!r}.",
                fix=f"Use a {self.type} value, for example {self.default!r}.",
            ) from exc
        if self.min is not None and result < self.min or self.max is not None and result > self.max:
            raise InvalidInputError(
                f"Setting {self.key} must be between {self.min:g} and {self.max:g}, not {result!r}.",
                fix=f"Choose a value in that range; the default is {self.default!r}.",
            )
        return result


def declared_settings() -> list[SettingSpec]:
    data = load_json("settings.json")
    return [SettingSpec(**dict(entry, choices=tuple(entry["choices"]))) if "choices" in entry else SettingSpec(**entry)
            for entry in data["settings"]]


def setting_groups() -> dict[str, str]:
    return dict(load_json("settings.json")["groups"])


Applier = Callable[[Any], None]


def system_appliers() -> dict[str, Applier]:
    """Settings that change something outside Engram's own files, and what applies each.

    An applier runs before the new value is stored; when it raises, the setting
    keeps its old value and the error reaches whoever changed it (CLI, Settings
    page, first run), so such a setting never claims what the system does not do.
    """
    from core.autostart import apply_start_at_login

    return {"app.start_at_login": apply_start_at_login}


class Settings:
    """Typed access to the declared settings, persisted in ``config.json``."""

    def __init__(self, paths: Paths, events: EventBus | None = None, *, appliers: Mapping[str, Applier] | None = None):
        self._paths = paths
        self._events = events
        self._specs = {spec.key: spec for spec in declared_settings()}
        self._appliers = dict(system_appliers() if appliers is None else appliers)
        self._lock = threading.RLock()
        self._values: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}
        self._stamp: tuple[int, int] | None = None  # (mtime_ns, size) of config.json as last read or written
        self._load()

    @property
    def specs(self) -> dict[str, SettingSpec]:
        return dict(self._specs)

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            info = self._paths.config_file.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def _load(self) -> None:
        path = self._paths.config_file
        self._stamp = self._file_stamp()
        if not path.exists():
            return
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as exc:
            backup = path.with_name(path.name + ".broken")
            log.warning("config %s unreadable (%s); keeping it as %s and using defaults", path, exc, backup)
            try:
                path.replace(backup)
            except OSError:
                pass
            return
        for key, value in raw.items():
            spec = self._specs.get(key)
            if spec is None:
                self._extra[key] = value
                continue
            try:
                self._values[key] = spec.coerce(value)
            except InvalidInputError as exc:
                log.warning("ignoring setting %s from config: %s", key, exc.message)

    def _spec(self, key: str) -> SettingSpec:
        try:
            return self._specs[key]
        except KeyError:
            raise InvalidInputError(
                f"There is no setting called {key!r}.",
                fix="Run 'engram config list' to see the settings.",
            ) from None

    def reload_if_changed(self) -> list[str]:
        """Read ``config.json`` again if another process changed it; announce and return the keys that changed.

        The running app calls this every few seconds, so ``engram config set`` reaches it.
        """
        stamp = self._file_stamp()
        with self._lock:
            if stamp == self._stamp:
                return []
            before = self.as_dict()
            self._values, self._extra = {}, {}
            self._load()
            after = self.as_dict()
        changed = [key for key in after if after[key] != before[key]]
        if self._events is not None:
            for key in changed:
                self._events.emit("settings_did_change", key=key, value=after[key])
        return changed

    def get(self, key: str) -> Any:
        spec = self._spec(key)
        with self._lock:
            value = self._values.get(key, spec.default)
        return list(value) if isinstance(value, list) else value

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def set(self, key: str, value: Any) -> None:
        spec = self._spec(key)
        value = spec.coerce(value)
        with self._lock:
            self._apply(key, value)
            self._values[key] = value
            self._save()
        if self._events is not None:
            self._events.emit("settings_did_change", key=key, value=value)

    def reset(self, key: str) -> None:
        spec = self._spec(key)
        with self._lock:
            self._apply(key, spec.default)
            self._values.pop(key, None)
            self._save()
        if self._events is not None:
            self._events.emit("settings_did_change", key=key, value=self.get(key))

    def _apply(self, key: str, value: Any) -> None:
        applier = self._appliers.get(key)
        if applier is not None:
            applier(value)

    def as_dict(self) -> dict[str, Any]:
        return {key: self.get(key) for key in self._specs}

    def _save(self) -> None:
        self._paths.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = dict(self._extra)
        data.update(self._values)
        write_private(self._paths.config_file, json.dumps(data, indent=2, sort_keys=True).encode())
        self._stamp = self._file_stamp()
