"""The CLI and the running app on Xvfb agree: status, pause and settings cross from one process to the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.desktop.real_app import find_window


def _cli(display: str, home: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ENGRAM_HOME=home, ENGRAM_KEYRING="file", DISPLAY=display)
    return subprocess.run([sys.executable, "-m", "engram", *args], capture_output=True, text=True, env=env, timeout=60)


def _status(display: str, home: str) -> dict:
    done = _cli(display, home, "capture", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_cli_sees_and_controls_the_running_apps_capture(running_app):
    process, display, home = running_app
    find_window(display, process)
    assert _until(lambda: _status(display, home).get("where") == "app", 30), _status(display, home)
    assert _status(display, home)["state"] in ("running", "idle", "excluded")

    assert _cli(display, home, "capture", "pause").returncode == 0
    assert _until(lambda: _status(display, home)["state"] == "paused", 30), _status(display, home)
    assert _cli(display, home, "capture", "resume").returncode == 0
    assert _until(lambda: _status(display, home)["state"] != "paused", 30), _status(display, home)

    assert _cli(display, home, "config", "set", "capture.enabled", "false").returncode == 0
    assert _until(lambda: _status(display, home)["state"] == "stopped", 30), _status(display, home)
