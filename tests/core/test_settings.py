"""Settings are declared once and persist; bad values never stop Engram from starting."""

from __future__ import annotations

import json
import os

import pytest

from core.errors import InvalidInputError
from core.settings import Settings, declared_settings


def test_every_declared_default_is_valid():
    for spec in declared_settings():
        assert spec.coerce(spec.default) == spec.default, spec.key
        assert spec.label and spec.group


def test_settings_persist_privately(paths):
    settings = Settings(paths)
    settings.set("privacy.exclude_apps", "keepassxc\nsignal\n")
    assert Settings(paths).get("privacy.exclude_apps") == ["keepassxc", "signal"]
    assert os.stat(paths.config_file).st_mode & 0o777 == 0o600


@pytest.mark.parametrize("key, value", [("capture.enabled", "maybe"), ("capture.interval_seconds", "fast"), ("capture.idle_seconds", 1.5)])
def test_wrong_types_are_refused(paths, key, value):
    with pytest.raises(InvalidInputError):
        Settings(paths).set(key, value)


def test_hand_edited_bad_file_falls_back_to_defaults(paths):
    paths.config_file.write_text(json.dumps({"capture.interval_seconds": "very fast", "capture.thumbnails": False, "future.key": 1}))
    settings = Settings(paths)
    assert settings.get("capture.interval_seconds") == 3.0
    assert settings.get("capture.thumbnails") is False
    settings.set("capture.enabled", True)
    assert json.loads(paths.config_file.read_text())["future.key"] == 1  # unknown keys kept


def test_unreadable_file_is_kept_aside(paths):
    paths.config_file.write_text("{broken")
    assert Settings(paths).get("capture.interval_seconds") == 3.0
    assert paths.config_file.with_name("config.json.broken").read_text() == "{broken"
