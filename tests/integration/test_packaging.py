"""The package's own files, without building it: uninstall script, menu entry, AppStream metadata.

Building and installing the .deb is ``make package-test`` (packaging/package-test.sh).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from core.autostart import AutostartEntry

ROOT = Path(__file__).resolve().parents[2]
DEB = ROOT / "packaging" / "deb"


def _fake_getent(tmp_path: Path, homes: list[Path]) -> dict[str, str]:
    """PATH with a ``getent`` that lists ``homes`` as users' homes, all owned by this test's user."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lines = "\n".join(f"user{i}:x:{os.getuid()}:{os.getgid()}::{home}:/bin/sh" for i, home in enumerate(homes))
    getent = bin_dir / "getent"
    getent.write_text(f"#!/bin/sh\n[ \"$1\" = passwd ] && cat <<'EOF'\n{lines}\nEOF\n")
    getent.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def _home(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    (home / ".local/share/engram").mkdir(parents=True)
    (home / ".local/share/engram/engram.db").write_bytes(b"memories")
    (home / ".config/engram").mkdir(parents=True)
    (home / ".config/engram/config.json").write_text('{"app.start_at_login": true}')
    return home


def _postrm(action: str, env: dict[str, str]) -> None:
    subprocess.run(["sh", str(DEB / "postrm"), action], env=env, check=True)


def test_removal_deletes_the_autostart_entries_engram_wrote_and_nothing_else(tmp_path):
    ours, theirs, linked = _home(tmp_path, "ours"), _home(tmp_path, "theirs"), _home(tmp_path, "linked")
    AutostartEntry(ours / ".config/autostart", command=["engram", "app", "--background"]).write()
    (theirs / ".config/autostart").mkdir()
    (theirs / ".config/autostart/engram.desktop").write_text("[Desktop Entry]\nType=Application\nName=Mine\nExec=engram app\n")
    elsewhere = tmp_path / "elsewhere"
    AutostartEntry(elsewhere, command=["engram"]).write()
    (linked / ".config/autostart").mkdir()
    (linked / ".config/autostart/engram.desktop").symlink_to(elsewhere / "engram.desktop")
    env = _fake_getent(tmp_path, [ours, theirs, linked, tmp_path / "no-such-home"])

    _postrm("remove", env)

    assert not (ours / ".config/autostart/engram.desktop").exists()
    assert (theirs / ".config/autostart/engram.desktop").exists()  # the user's own entry
    assert (linked / ".config/autostart/engram.desktop").is_symlink() and (elsewhere / "engram.desktop").exists()
    for home in (ours, theirs, linked):  # never the user's data
        assert (home / ".local/share/engram/engram.db").read_bytes() == b"memories"
        assert (home / ".config/engram/config.json").exists()


def test_purge_removes_them_too_and_an_upgrade_keeps_them(tmp_path):
    home = _home(tmp_path, "home")
    entry = AutostartEntry(home / ".config/autostart", command=["engram", "app", "--background"])
    entry.write()
    env = _fake_getent(tmp_path, [home])
    _postrm("upgrade", env)
    assert entry.path.exists()
    _postrm("purge", env)
    assert not entry.path.exists()
    assert (home / ".local/share/engram/engram.db").exists()


def test_the_menu_entry_is_valid_and_starts_the_app():
    if not shutil.which("desktop-file-validate"):
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    result = subprocess.run(["desktop-file-validate", str(DEB / "engram.desktop")], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout
    text = (DEB / "engram.desktop").read_text()
    assert "\nExec=engram app\n" in text and "\nIcon=engram\n" in text
    assert "Exec=engram app --quick-recall" in text


def test_the_appstream_metadata_is_valid(tmp_path):
    if not shutil.which("appstreamcli"):
        pytest.skip("appstreamcli is not installed (Debian: appstream)")
    source = (DEB / "org.engram.Engram.metainfo.xml").read_text()
    filled = tmp_path / "org.engram.Engram.metainfo.xml"
    filled.write_text(source.replace("@VERSION@", "0.1.0").replace("@DATE@", "2026-01-01"))
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(filled)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<launchable type=\"desktop-id\">engram.desktop</launchable>" in source


def _preinst(tmp_path: Path, flags: str) -> subprocess.CompletedProcess:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    env = dict(os.environ, ENGRAM_CPUINFO=str(cpuinfo))
    return subprocess.run(["sh", str(DEB / "preinst"), "install"], env=env, capture_output=True, text=True)


def test_installing_on_a_processor_without_avx2_is_refused_with_the_reason(tmp_path):
    refused = _preinst(tmp_path, "fpu sse sse2 ssse3 sse4_1 sse4_2 avx popcnt")
    assert refused.returncode == 1
    assert "lacks avx2 fma f16c bmi2" in refused.stderr and "Fix:" in refused.stderr
    accepted = _preinst(tmp_path, "fpu sse2 sse4_2 avx avx2 fma f16c bmi2 popcnt")
    assert accepted.returncode == 0, accepted.stderr
