"""Releasing memory the app does not need while nobody uses it.

Measured in real use (bench/bench_real_use.py) the chat model and its
context are the largest part of Engram's memory, and a background absorb
loads the model every few minutes even when nobody is at the computer.  The
``IdleReleaser`` watches for the user: when nobody has typed or clicked in an
Engram window for ``app.idle_release_seconds`` (and after every background
load of the chat model while that is so), it

* unloads the chat model with its context and saved prompt states (the next
  question loads it again: a fraction of a second for the seed model, whose
  file pages stay in the system's cache);
* asks every built page to drop what it can rebuild (decoded thumbnails,
  rows of memory types not on screen);
* lets SQLite give back its page cache;
* collects garbage and hands freed heap pages back to the system.

Nothing the user sees changes, and quick recall keeps its budget (the bench
times the first keystrokes after a release).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

CHECK_MS = 5000
_INPUT = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
    QEvent.Type.InputMethod,
}


def trim_heap() -> bool:
    """Give freed heap pages back to the system (glibc keeps them for reuse otherwise); False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


def release_engine_memory(engine) -> dict:
    """The engine's share of a release (runs on the database lane): the chat model, SQLite's cache, the heap."""
    done = {}
    if engine.models is not None:
        before = engine.models.status()["chat"]["loaded"]
        engine.models.unload("chat")
        done["chat_model"] = bool(before)
    shrink = getattr(engine.db, "release_memory", None)
    if shrink is not None:
        shrink()
        done["sqlite"] = True
    gc.collect()
    done["heap_trimmed"] = trim_heap()
    return done


class IdleReleaser(QObject):
    """Releases memory after ``seconds`` without input to any Engram window; 0 turns it off."""

    released = Signal(dict)

    def __init__(self, app, seconds: int):
        super().__init__(app)
        self.app = app
        self.seconds = int(seconds)
        self.last_input = time.monotonic()
        self._owed = True  # something may be loaded that the next idle period should release
        self._running = False
        self.timer = QTimer(self)
        self.timer.setInterval(min(CHECK_MS, max(500, self.seconds * 1000 // 2)))
        self.timer.timeout.connect(self.check)
        QApplication.instance().installEventFilter(self)
        app.bridge.on("model_did_load", self._model_loaded, self)
        if self.seconds > 0:
            self.timer.start()

    def set_seconds(self, seconds: int) -> None:
        self.seconds = int(seconds)
        self.timer.setInterval(min(CHECK_MS, max(500, self.seconds * 1000 // 2)))
        if self.seconds > 0:
            self.timer.start()
        else:
            self.timer.stop()

    def eventFilter(self, watched, event) -> bool:
        if event.type() in _INPUT:
            self.last_input = time.monotonic()
            self._owed = True
        return False

    def _model_loaded(self, payload: dict) -> None:
        if payload.get("role") == "chat":
            self._owed = True  # loaded by an absorb while nobody was here: release it again afterwards

    @property
    def idle_for(self) -> float:
        return time.monotonic() - self.last_input

    def check(self) -> None:
        if self.seconds <= 0 or not self._owed or self._running or self.idle_for < self.seconds:
            return
        window = self.app.window
        chat = window._pages.get("chat")  # noqa: SLF001 - only pages already built
        if chat is not None and getattr(chat, "_stop", None) is not None:
            return  # an answer is still being written
        self.release()

    def release(self) -> None:
        """Release now (the check calls this once the idle period has passed)."""
        from desktop.ops import EngineOp

        self._owed = False
        self._running = True
        for page in list(self.app.window._pages.values()):  # noqa: SLF001
            drop = getattr(page, "release_memory", None)
            if drop is not None:
                drop()

        def finished(done: dict) -> None:
            self._running = False
            log.info("released memory after %d s idle: %s", int(self.idle_for), ", ".join(k for k, v in done.items() if v))
            self.released.emit(done)

        def failed(exc: BaseException) -> None:
            self._running = False
            log.warning("releasing memory failed: %s", exc)

        EngineOp(self.app.window, release_engine_memory).success(finished).failure(failed).run_in_background()

    def close(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
