"""The CLI and the running app agree: settings, capture status, pause and resume cross processes."""

from __future__ import annotations

import time

import pytest

from core.engine import Engine
from core.scheduling import Scheduler


class FakeCapture:
    """Stands in for the capture service: records what the engine asks of it."""

    def __init__(self):
        self.is_running = False
        self.paused: float | None | str = "no"
        self.calls: list[str] = []

    def start(self):
        self.is_running = True
        self.calls.append("start")

    def stop(self):
        self.is_running = False
        self.calls.append("stop")

    def pause(self, seconds):
        self.paused = seconds
        self.calls.append("pause")

    def resume(self):
        self.paused = "no"
        self.calls.append("resume")

    @property
    def pause_switch(self):
        return type("Switch", (), {"until": None if self.paused == "no" else 1.0})()

    def status(self):
        state = "paused" if self.paused != "no" else ("running" if self.is_running else "stopped")
        return {"state": state, "running": self.is_running, "last_frame_at": None, "paused_until": None,
                "frames_kept": 3, "frames_skipped": 0, "frames_excluded": 0, "frames_dropped": 0, "frames_merged": 0,
                "ocr_backlog": 0, "last_error": None}

    def close(self):
        self.stop()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def app_engine(paths, fake_embedder, monkeypatch):
    """An engine started as the app starts it (no scheduler threads), with a fake capture service."""
    import core.engine as engine_module

    monkeypatch.setattr(Scheduler, "start", lambda self: None)
    monkeypatch.setattr(engine_module, "SETTINGS_POLL_SECONDS", 0.1)
    engine = Engine(paths, embedder=fake_embedder, chat_model=None)
    engine._capture = FakeCapture()
    engine.settings.set("capture.enabled", True)
    engine.start()
    yield engine
    engine.close()


def test_config_set_in_another_process_stops_the_running_capture(app_engine, capsys):
    from core.cli import main

    assert app_engine.capture.is_running
    assert main(["config", "set", "capture.enabled", "false"]) == 0  # the CLI, as another process would
    assert wait_for(lambda: not app_engine.capture.is_running), "capture kept running after 'config set'"
    assert main(["config", "set", "capture.interval_seconds", "7"]) == 0
    assert wait_for(lambda: app_engine.settings.get("capture.interval_seconds") == 7.0)


def test_cli_status_pause_and_resume_reach_the_running_app(app_engine, capsys):
    from core.cli import main

    assert main(["capture", "pause", "--minutes", "15"]) == 0
    assert wait_for(lambda: app_engine.capture.paused not in ("no", None)), app_engine.capture.calls
    assert 14 * 60 < app_engine.capture.paused <= 15 * 60
    assert main(["capture", "resume"]) == 0
    assert wait_for(lambda: app_engine.capture.paused == "no"), app_engine.capture.calls


def test_a_pause_outlives_a_restart(paths, fake_embedder, monkeypatch):
    monkeypatch.setattr(Scheduler, "start", lambda self: None)
    with Engine(paths, embedder=fake_embedder, chat_model=None) as cli:
        cli.pause_capture(None)  # 'engram capture pause' while no app runs
    engine = Engine(paths, embedder=fake_embedder, chat_model=None)
    try:
        engine._capture = FakeCapture()
        engine.settings.set("capture.enabled", True)
        engine.start()
        assert engine.capture.calls[:2] == ["start", "pause"] and engine.capture.paused is None
    finally:
        engine.close()


def test_status_of_a_live_app_is_read_from_its_published_file(paths, fake_embedder):
    import subprocess
    import sys

    from core.capture.status import publish_capture_status, read_capture_status

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        publish_capture_status(paths, {"state": "running", "frames_kept": 42})
        assert (paths.data_dir / "capture-status.json").stat().st_mode & 0o077 == 0  # private, like every file
        # Rewrite the owner as the other live process, as the app would have written it.
        import json

        file = paths.data_dir / "capture-status.json"
        data = json.loads(file.read_text())
        data["pid"] = sleeper.pid
        file.write_text(json.dumps(data))
        with Engine(paths, embedder=fake_embedder, chat_model=None) as cli:
            status = cli.capture_status()
        assert (status["where"], status["pid"], status["frames_kept"]) == ("app", sleeper.pid, 42)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert read_capture_status(paths) is None  # its process is gone: no app is capturing
