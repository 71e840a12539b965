"""Desktop tests run on their own Xvfb display with the xcb platform.

``qapp`` is overridden so the QApplication is created only after the display
is up (and with the app's style).  Without Xvfb every test here is skipped
with the reason.  ``make_app`` builds an ``EngramApp`` around an engine with a
fake embedder and a scripted chat model, without starting the scheduler.
"""

from __future__ import annotations


import os
import shutil
import subprocess

import time
from pathlib import Path

import pytest


def _free_display() -> int:
    for number in range(120, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number between :120 and :199")


@pytest.fixture(scope="session")
def xvfb_display():
    try:
        from tests.xvfb import start_xvfb  # the capture engineer's helper, when present
    except ImportError:
        start_xvfb = None
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed: desktop tests need a virtual X display (apt install xvfb)")
    if start_xvfb is not None:
        try:
            handle = start_xvfb()
        except Exception:  # fall back to our own
            handle = None
        if handle is not None:
            display = getattr(handle, "display", None) or str(handle)
            os.environ["DISPLAY"] = display if display.startswith(":") else f":{display}"
            os.environ["QT_QPA_PLATFORM"] = "xcb"
            yield os.environ["DISPLAY"]
            stop = getattr(handle, "stop", None)
            if stop:
                stop()
            return
    number = _free_display()
    process = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 10
    while not socket.exists() and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.skip(f"Xvfb :{number} exited at start (code {process.returncode})")
        time.sleep(0.05)
    if not socket.exists():
        process.kill()
        pytest.skip(f"Xvfb :{number} did not come up within 10 s")
    os.environ["DISPLAY"] = f":{number}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    yield os.environ["DISPLAY"]
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def qapp(xvfb_display):
    from desktop.app import make_qt_app

    app = make_qt_app(["engram-tests"])
    yield app
    # Tear Qt down while the X server is still there (the display fixture stops it next).
    app.closeAllWindows()
    app.processEvents()
    app.shutdown()


@pytest.fixture
def make_app(qtbot, paths, qapp):
    """``make_app(chat_model=None, samples=False)`` -> a started EngramApp; closed after the test."""
    from core.engine import Engine
    from core.models.base import FakeChatModel, FakeEmbedder
    from desktop.app import EngramApp

    made = []

    def make(chat_model=None, samples: bool = False, show: bool = True):
        engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=chat_model or FakeChatModel([]))
        if samples:
            from desktop.sample_data import add_sample_data

            add_sample_data(engine, days=2, per_day=20)
        app = EngramApp(engine, start_engine=False)
        made.append((app, engine))
        if show:
            app.start(first_run=False)
            qtbot.waitUntil(lambda: app.runner.pending == 0, timeout=10_000)
        return app

    yield make
    for app, engine in made:
        app.close()
        engine.close()


def wait_idle(qtbot, app, timeout: int = 10_000) -> None:
    """Wait until every background op has delivered its result."""
    qtbot.waitUntil(lambda: app.runner.pending == 0, timeout=timeout)


# -- the real program (`engram app`) on the test's Xvfb display -------------------------------------


@pytest.fixture
def running_app(tmp_path, xvfb_display):
    """``(process, display, home)``: ``engram app`` with first run done and capture on, found later with xdotool."""
    from tests.desktop.real_app import make_home, start_app, stop

    if not shutil.which("xdotool"):
        pytest.skip("xdotool is not installed (apt install xdotool)")
    # Capture on: the case where an unseen process would go on recording.
    home = make_home(tmp_path / "home", **{"capture.enabled": True})
    process = start_app(home, xvfb_display)
    yield process, xvfb_display, str(home)
    stop(process)
