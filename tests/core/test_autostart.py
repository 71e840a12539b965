"""Start at login: the setting writes and removes Engram's XDG autostart entry, and only Engram's."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from core.autostart import MARK_KEY, AutostartEntry, autostart_dir, exec_line, launch_command
from core.cli import main
from core.errors import StorageError
from core.settings import Settings


@pytest.fixture
def autostart(tmp_path, monkeypatch):
    config_home = tmp_path / "config-home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    return config_home / "autostart" / "engram.desktop"


def test_the_directory_follows_xdg_config_home(tmp_path):
    assert autostart_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "autostart"


def test_a_relative_xdg_config_home_is_ignored_as_the_spec_says(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart_dir({"XDG_CONFIG_HOME": "relative/dir"}) == tmp_path / ".config" / "autostart"
    assert autostart_dir({}) == tmp_path / ".config" / "autostart"


def test_turning_the_setting_on_writes_a_marked_entry_that_starts_in_the_tray(paths, autostart):
    settings = Settings(paths)
    settings.set("app.start_at_login", True)
    text = autostart.read_text()
    assert f"{MARK_KEY}=true" in text
    exec_value = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_value.endswith(" app --background")
    assert f"ENGRAM_HOME={paths.data_dir}" in exec_value  # the entry starts Engram on this data
    assert AutostartEntry(autostart.parent).enabled()


def test_turning_it_off_removes_the_entry(paths, autostart):
    settings = Settings(paths)
    settings.set("app.start_at_login", True)
    settings.set("app.start_at_login", False)
    assert not autostart.exists()
    settings.set("app.start_at_login", False)  # nothing to remove is fine
    assert settings.get("app.start_at_login") is False


def test_reset_applies_the_default(paths, autostart):
    settings = Settings(paths)
    settings.set("app.start_at_login", True)
    settings.reset("app.start_at_login")
    assert not autostart.exists()


def test_the_entry_is_valid_for_desktop_file_validate(paths, autostart):
    if not shutil.which("desktop-file-validate"):
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    Settings(paths).set("app.start_at_login", True)
    result = subprocess.run(["desktop-file-validate", str(autostart)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_an_entry_engram_did_not_write_is_left_alone(paths, autostart):
    autostart.parent.mkdir(parents=True)
    autostart.write_text("[Desktop Entry]\nType=Application\nName=Mine\nExec=my-engram\n")
    settings = Settings(paths)
    with pytest.raises(StorageError) as raised:
        settings.set("app.start_at_login", True)
    assert "not written by Engram" in raised.value.message and raised.value.fix
    assert "Exec=my-engram" in autostart.read_text()
    assert settings.get("app.start_at_login") is False  # the setting does not claim what did not happen
    with pytest.raises(StorageError):
        settings.set("app.start_at_login", False)
    assert autostart.exists()


def test_a_failed_write_leaves_the_setting_unchanged(paths, autostart):
    autostart.parent.parent.mkdir(parents=True)
    autostart.parent.write_text("a file where the autostart directory should be")
    settings = Settings(paths)
    with pytest.raises(StorageError) as raised:
        settings.set("app.start_at_login", True)
    assert "cannot write its autostart entry" in raised.value.message
    assert settings.get("app.start_at_login") is False
    assert Settings(paths).get("app.start_at_login") is False  # nor was it saved


def test_the_desktop_hiding_the_entry_counts_as_disabled(autostart):
    entry = AutostartEntry(autostart.parent, command=["engram", "app", "--background"])
    entry.write()
    autostart.write_text(autostart.read_text() + "Hidden=true\n")
    assert entry.is_ours() and not entry.enabled()
    entry.write()  # turning the setting on again restores it
    assert entry.enabled()


def test_engram_config_set_applies_it(autostart, capsys):
    assert main(["config", "set", "app.start_at_login", "true"]) == 0
    assert autostart.is_file()
    assert main(["config", "set", "app.start_at_login", "false"]) == 0
    assert not autostart.exists()


def test_exec_quotes_and_escapes_as_the_desktop_entry_spec_says():
    assert exec_line(["/usr/bin/engram", "app", "--background"]) == "/usr/bin/engram app --background"
    assert exec_line(["env", "ENGRAM_HOME=/home/sam/My Data"]) == 'env "ENGRAM_HOME=/home/sam/My Data"'
    assert exec_line(["a$b", "100%"]) == '"a\\\\$b" 100%%'
    assert exec_line(['say "hi"']) == '"say \\\\"hi\\\\""'
    assert exec_line(["back\\slash"]) == '"back\\\\\\\\slash"'


def test_launch_command_from_a_checkout_uses_this_python(monkeypatch, tmp_path):
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert launch_command({}) == [str(tmp_path / "python"), "-m", "core.cli", "app", "--background"]
    (tmp_path / "engram").write_text("#!/bin/sh\n")
    assert launch_command({})[0] == str(tmp_path / "engram")


def test_launch_command_of_the_installed_bundle_prefers_the_name_on_the_path(monkeypatch, tmp_path):
    bundle = tmp_path / "opt" / "engram"
    bundle.parent.mkdir()
    bundle.write_text("")
    bundle.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "engram").symlink_to(bundle)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle))
    monkeypatch.setenv("PATH", str(bin_dir))
    assert launch_command({}) == [str(bin_dir / "engram"), "app", "--background"]
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert launch_command({"ENGRAM_HOME": "/data/engram"}) == ["env", "ENGRAM_HOME=/data/engram", str(bundle), "app", "--background"]
