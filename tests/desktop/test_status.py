"""The status bar's capture line says which windows were hidden from capture."""

from __future__ import annotations

import numpy as np

from core.capture.changes import Rect
from core.capture.ocr import FakeOcr
from core.capture.screen import Monitor, ScreenSource, WindowContext
from core.capture.service import CaptureService
from core.capture.windows import ScreenWindow
from desktop.status import capture_text


class TwoWindowScreen(ScreenSource):
    """A focused editor beside a password manager and one of Engram's own windows."""

    def monitors(self):
        return [Monitor(1, 0, 0, 300, 100)]

    def focused_window(self):
        return WindowContext(app="Editor", title="notes.txt", pid=1)

    def grab(self, monitor):
        return np.full((100, 300), np.uint32(0xFFFFFFFF), dtype=np.uint32)

    def windows(self):
        def window(app, x0, x1, instance=None):
            rect = Rect(x0, 0, x1, 100)
            return ScreenWindow(x0 + 1, rect, WindowContext(app=app, instance=instance, pid=2), rect)

        return [window("KeePassXC", 0, 100), window("Engram", 100, 200, "engram"), window("Editor", 200, 300)]


def test_status_bar_names_the_windows_hidden_from_capture(make_app, qtbot):
    app = make_app()
    engine = app.engine
    engine._capture = CaptureService(settings=engine.settings, events=engine.events, observations=engine.observations,
                                     screen_factory=TwoWindowScreen, ocr=FakeOcr())
    engine.capture._set_state("running")
    engine.capture.capture_once()
    bar = app.window.status
    bar.refresh()
    qtbot.waitUntil(lambda: "hidden" in bar.capture_label.text(), timeout=10_000)
    assert bar.capture_label.text() == "Recording · 2 windows hidden from capture: Engram, KeePassXC"


def test_capture_text_only_mentions_hidden_windows_while_recording():
    health = {"state": "running", "last_frame_at": None, "hidden_summary": "1 window hidden from capture: KeePassXC"}
    assert capture_text(health) == "Recording · 1 window hidden from capture: KeePassXC"
    assert capture_text({**health, "hidden_summary": None}) == "Recording"
    assert capture_text({**health, "state": "excluded"}) == "Capture skipping an excluded window"
    assert capture_text(None) == "Screen capture is not available in this installation"


def test_in_a_narrow_window_the_capture_line_and_the_key_stay_whole(make_app, qtbot):
    # At 960 px the capture line had shrunk to "Screen …" while the backlog kept its whole sentence.
    app = make_app(samples=True)
    bar = app.window.status
    app.window.resize(960, 640)
    bar.show_snapshot({**bar.data, "capture": {"state": "paused", "paused_until": float("inf")}, "backlog": 135,
                       "key": {"storage": "file", "location": "/tmp/key", "warning": None}})
    qtbot.waitUntil(lambda: app.window.width() <= 960, timeout=5_000)
    qtbot.wait(50)
    for label in (bar.capture_label, bar.key_label):
        text = label.text()
        needed = label.fontMetrics().horizontalAdvance(text) + 2 * label.margin()
        assert label.contentsRect().width() >= needed, (text, label.contentsRect().width(), needed)
    assert bar.capture_label.text() == "Capture paused until you resume it"
    assert app.window.minimumSizeHint().width() <= 1000
