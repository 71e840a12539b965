"""The database key goes to a real OS keyring (GNOME Keyring over D-Bus) when one is available."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent(
    """
    import json, os
    from core.engine import Engine
    from core.paths import Paths
    paths = Paths.from_env()
    engine = Engine(paths)
    engine.memories.add("semantic", {"name": "Ada", "summary": "kept under a keyring key"})
    info = engine.key_info
    engine.close()
    again = Engine(paths)
    found = [m.title for m in again.memories.list()]
    again.close()
    print(json.dumps({"storage": info.storage, "location": info.location, "warning": info.warning,
                      "key_file_exists": paths.key_file.exists(), "found": found}))
    """
)


def test_key_is_kept_in_gnome_keyring(tmp_path):
    if not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")):
        pytest.skip("needs dbus-run-session and gnome-keyring-daemon (Debian: dbus, gnome-keyring)")
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS",)}
    env.update(ENGRAM_HOME=str(tmp_path / "home"), ENGRAM_KEYRING="auto", HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "xdg"))
    inner = (
        "printf 'test-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; "
        f"exec {sys.executable} -c \"$ENGRAM_SCRIPT\""
    )
    env["ENGRAM_SCRIPT"] = SCRIPT
    result = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", inner], env=env, capture_output=True, text=True, timeout=120, cwd=os.getcwd()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["storage"] == "keyring", report
    assert report["warning"] is None
    assert report["key_file_exists"] is False
    assert report["found"] == ["Ada"]
