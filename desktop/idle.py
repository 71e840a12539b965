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
import linecache
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


def release_engine_memory(engine, idle_seconds: float = 0.0, *, everything: bool = True) -> dict:
    """The engine's share of a release (on the database lane): the chat model if unused, SQLite's cache, the heap.

    Returns what was done; ``chat_model_kept`` means the model is still loaded because it was used
    within ``idle_seconds`` (a background absorb between batches): the releaser tries again later.
    """
    done: dict = {}
    if engine.models is not None:
        done["chat_model"] = bool(engine.models.unload_idle(idle_seconds, roles=("chat",)))
        done["chat_model_kept"] = engine.models.loaded("chat")
    if not everything:
        if done.get("chat_model"):
            done["heap_trimmed"] = trim_heap()
        return done
    engine.store.release_memory()  # SQLite's page cache
    done["sqlite"] = True
    release_python_memory(done)
    return done


def release_python_memory(done: dict | None = None) -> dict:
    """Cached source lines, garbage, and the heap pages freed by both."""
    done = {} if done is None else done
    # PySide6's import hook reads the source of every module imported after it, to look for
    # 'from __feature__ import', and linecache keeps all of it: about 24 MB in the app, never used again.
    linecache.clearcache()
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
        self._idle_done = False  # pages, caches and heap released for this idle period
        self._model_pending = True  # a chat model may be loaded and waiting to be released
        self._running = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        QApplication.instance().installEventFilter(self)
        app.bridge.on("model_did_load", self._model_loaded, self)
        self.set_seconds(seconds)

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
            self._idle_done = False
            self._model_pending = True
        return False

    def _model_loaded(self, payload: dict) -> None:
        if payload.get("role") == "chat":
            self._model_pending = True  # loaded by an absorb while nobody was here: release it again afterwards

    @property
    def idle_for(self) -> float:
        return time.monotonic() - self.last_input

    def check(self) -> None:
        if self.seconds <= 0 or self._running or self.idle_for < self.seconds:
            return
        if self._idle_done and not self._model_pending:
            return
        chat = self.app.window._pages.get("chat")  # noqa: SLF001 - only pages already built
        if chat is not None and getattr(chat, "_stop", None) is not None:
            return  # an answer is still being written
        self.release()

    def release(self) -> None:
        """Release now (``check`` calls this once the idle period has passed)."""
        from desktop.ops import EngineOp

        everything = not self._idle_done
        self._idle_done = True
        self._running = True
        if everything:
            for page in list(self.app.window._pages.values()):  # noqa: SLF001
                drop = getattr(page, "release_memory", None)
                if drop is not None:
                    drop()

        def finished(done: dict) -> None:
            self._running = False
            # Still loaded: used within the idle period by a background job; the next check tries again.
            self._model_pending = bool(done.get("chat_model_kept"))
            if any(v for k, v in done.items() if k != "chat_model_kept"):
                log.info("released memory after %d s idle: %s", int(self.idle_for),
                         ", ".join(k for k, v in done.items() if v and k != "chat_model_kept"))
            self.released.emit(done)

        def failed(exc: BaseException) -> None:
            self._running = False
            log.warning("releasing memory failed: %s", type(exc).__name__)

        seconds = self.seconds
        EngineOp(self.app.window, lambda engine: release_engine_memory(engine, seconds, everything=everything)).success(
            finished).failure(failed).run_in_background()

    def close(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
