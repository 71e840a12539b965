"""Idle release: with nobody using Engram, the chat model, decoded thumbnails and freed heap go back to the system."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from tests.desktop.conftest import wait_idle


class Models:
    """Stands in for the model manager: a chat model that is loaded, maybe busy, and records unloads."""

    def __init__(self, real):
        self.real = real
        self.is_loaded = True
        self.busy = False  # used within the idle period (an absorb between batches)
        self.unloads = []

    def loaded(self, role):
        return self.is_loaded

    def unload_idle(self, idle_seconds=None, roles=None):
        if self.busy or not self.is_loaded:
            return []
        self.unloads.append(tuple(roles))
        self.is_loaded = False
        return ["chat"]

    def __getattr__(self, name):
        return getattr(self.real, name)


def _app(make_app, seconds: float):
    app = make_app(samples=True)
    app.engine.models = Models(app.engine.models)
    app.idle.set_seconds(seconds)
    app.idle.timer.setInterval(100)
    return app


def test_an_idle_app_releases_the_chat_model_and_thumbnails(make_app, qtbot):
    app = _app(make_app, 1)
    timeline = app.window.timeline
    with qtbot.waitSignal(timeline.day_loaded, timeout=5_000):
        app.window.show_page("timeline")
    qtbot.waitUntil(lambda: len(timeline.model._thumbs) > 0, timeout=5_000)  # noqa: SLF001 - painted rows decoded
    app.idle.last_input = time.monotonic()
    with qtbot.waitSignal(app.idle.released, timeout=5_000) as released:
        pass
    assert app.idle.idle_for >= 1
    assert released.args[0]["chat_model"] is True and app.engine.models.unloads == [("chat",)]
    assert "heap_trimmed" in released.args[0]
    wait_idle(qtbot, app)
    # once released, nothing more until something is loaded again or the user comes back
    with qtbot.assertNotEmitted(app.idle.released, wait=600):
        pass
    app.engine.models.is_loaded = True
    app.engine.events.emit("model_did_load", role="chat", name="smollm2")  # an absorb in the background
    with qtbot.waitSignal(app.idle.released, timeout=5_000):
        pass
    assert app.engine.models.unloads == [("chat",), ("chat",)]


def test_a_model_used_by_a_background_job_is_released_once_the_job_is_done(make_app, qtbot):
    app = _app(make_app, 1)
    models = app.engine.models
    models.busy = True
    with qtbot.waitSignal(app.idle.released, timeout=5_000) as first:
        pass
    assert first.args[0]["chat_model"] is False and first.args[0]["chat_model_kept"] is True
    models.busy = False
    with qtbot.waitSignal(app.idle.released, timeout=5_000) as second:
        pass
    assert second.args[0]["chat_model"] is True and models.unloads == [("chat",)]
    assert "heap_trimmed" in second.args[0]


def test_input_postpones_the_release(make_app, qtbot):
    app = _app(make_app, 1)
    with qtbot.assertNotEmitted(app.idle.released, wait=0):
        for _ in range(8):
            qtbot.keyClick(app.window.chat.input, Qt.Key.Key_A)
            qtbot.wait(200)
    assert app.engine.models.unloads == []
    with qtbot.waitSignal(app.idle.released, timeout=5_000):
        pass


def test_nothing_is_released_while_an_answer_is_written(make_app, qtbot):
    app = _app(make_app, 1)
    app.window.chat._stop = object()  # an answer in progress  # noqa: SLF001
    with qtbot.assertNotEmitted(app.idle.released, wait=1600):
        pass
    app.window.chat._stop = None  # noqa: SLF001
    with qtbot.waitSignal(app.idle.released, timeout=5_000):
        pass


def test_zero_keeps_everything(make_app, qtbot):
    app = _app(make_app, 0)
    app.idle.timer.setInterval(100)
    with qtbot.assertNotEmitted(app.idle.released, wait=1500):
        pass
    assert app.engine.models.unloads == []
