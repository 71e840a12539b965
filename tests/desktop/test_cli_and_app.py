"""The CLI and the running app on Xvfb agree: status, pause and settings cross from one process to the other,
and what the app's status bar shows follows a pause or resume given from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.desktop.real_app import find_window, status_bar_text


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


def test_the_status_bar_shows_a_pause_and_a_resume_given_from_the_cli(running_app):
    process, display, home = running_app
    window = find_window(display, process)
    shown: list[str] = []

    def bar_says(predicate) -> bool:
        shown.append(status_bar_text(display, window))
        return predicate(shown[-1].lower())

    assert _until(lambda: bar_says(lambda text: "capture" in text and "paused" not in text), 30), shown
    assert _cli(display, home, "capture", "pause").returncode == 0
    assert _until(lambda: bar_says(lambda text: "capture paused" in text), 30), shown
    assert _cli(display, home, "capture", "resume").returncode == 0
    assert _until(lambda: bar_says(lambda text: "capture" in text and "paused" not in text), 30), shown
