"""Op builders: every engine call the GUI makes runs off the UI thread.

Usage, in the style of Anki's ``CollectionOp``::

    EngineOp(self, lambda engine: engine.memories.delete(memory_id)) \\
        .success(lambda memory: self.refresh()) \\
        .failure(show_error) \\
        .run_in_background()

Work runs on a single-worker executor per *lane*.  Database work shares the
``"db"`` lane, so two ops never touch the store at once and their order is the
order they were started in.  Slow model work (chat answers, downloads) runs on
its own lanes so a long answer never delays a search.

Results come back to the main thread through one queued signal
(``OpRunner.delivered``); the success/failure/progress callbacks therefore
always run on the UI thread.  An op whose parent widget was destroyed while it
ran drops its result instead of calling into a dead widget.
"""

from __future__ import annotations

import html
import logging
import queue
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from core.errors import EngramError

log = logging.getLogger(__name__)

# control: capture start/stop and engine start, which may wait on threads;
# files: backup, restore, export and import, long file work that must not hold up the "db" lane.
LANES = ("db", "chat", "download", "control", "files")


class _Mailbox:
    """Callbacks waiting for the main thread.

    The Qt signal carries no Python object: workers put the callback here and
    emit an empty signal.  (Passing Python objects through queued cross-thread
    signals crashed PySide6 6.12 under load with refcount errors.)
    """

    def __init__(self) -> None:
        self._items: queue.SimpleQueue = queue.SimpleQueue()

    def put(self, callback: Callable[[], None]) -> None:
        self._items.put(callback)

    def drain(self):
        while True:
            try:
                yield self._items.get_nowait()
            except queue.Empty:
                return


class OpRunner(QObject):
    """The executors and the one signal that carries results to the main thread."""

    delivered = Signal()  # "the mailbox has callbacks to run on the main thread"

    def __init__(self, engine, parent: QObject | None = None):
        super().__init__(parent)
        self.engine = engine
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._mailbox = _Mailbox()
        # Queued explicitly: even an emit from the main thread runs the callback on a later loop turn,
        # so callers never see their success callback run before run_in_background() returns.
        self.delivered.connect(self._run_on_main, Qt.ConnectionType.QueuedConnection)

    def post(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the main thread soon; callable from any thread."""
        self._mailbox.put(callback)
        self.delivered.emit()

    @Slot()
    def _run_on_main(self) -> None:
        for callback in self._mailbox.drain():
            try:
                callback()
            except Exception:  # a broken callback must not kill the event loop
                log.exception("op callback failed")

    def executor(self, lane: str) -> ThreadPoolExecutor:
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}")
        with self._lock:
            if lane not in self._executors:
                self._executors[lane] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"engram-{lane}")
            return self._executors[lane]

    @property
    def pending(self) -> int:
        """Ops started and not yet delivered (tests and the selftest wait for zero)."""
        with self._lock:
            return self._pending

    def _started(self) -> None:
        with self._lock:
            self._pending += 1

    def _finished(self) -> None:
        with self._lock:
            self._pending -= 1

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        for executor in self._executors.values():
            executor.shutdown(wait=wait, cancel_futures=True)


_RUNNER: OpRunner | None = None


def install_runner(runner: OpRunner | None) -> None:
    """Make ``runner`` the one all ops use (the app installs it at start, tests per test)."""
    global _RUNNER
    _RUNNER = runner


def runner() -> OpRunner:
    if _RUNNER is None:
        raise RuntimeError("no OpRunner installed; create the app first")
    return _RUNNER


def _alive(widget: QObject | None) -> bool:
    if widget is None:
        return True
    try:
        import shiboken6

        return shiboken6.isValid(widget)
    except ImportError:  # pragma: no cover - shiboken ships with PySide6
        return True


class EngineOp:
    """One engine call to run in the background; configure it, then ``run_in_background()``."""

    def __init__(self, parent: QWidget | None, op: Callable[..., Any], *, lane: str = "db"):
        self._parent = parent
        self._op = op
        self._lane = lane
        self._success: Callable[[Any], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self._progress: Callable[..., None] | None = None
        self._wants_progress = False

    def success(self, callback: Callable[[Any], None]) -> "EngineOp":
        self._success = callback
        return self

    def failure(self, callback: Callable[[BaseException], None]) -> "EngineOp":
        self._failure = callback
        return self

    def progress(self, callback: Callable[..., None]) -> "EngineOp":
        """Receive progress on the main thread; the op is then called as ``op(engine, report)``."""
        self._progress = callback
        self._wants_progress = True
        return self

    def run_in_background(self) -> None:
        relay = runner()
        relay._started()
        parent = self._parent

        def deliver(callback: Callable[[], None]) -> None:
            def guarded() -> None:
                if _alive(parent):
                    callback()

            relay.post(guarded)

        def report(*args: Any) -> None:
            if self._progress is not None:
                deliver(lambda: self._progress(*args))

        def work() -> None:
            try:
                if self._wants_progress:
                    result = self._op(relay.engine, report)
                else:
                    result = self._op(relay.engine)
            except BaseException as exc:  # noqa: BLE001 - every failure is delivered, never swallowed
                if not isinstance(exc, EngramError):
                    log.error("op failed:\n%s", "".join(traceback.format_exception(exc)))

                def failed(exc: BaseException = exc) -> None:
                    relay._finished()
                    if self._failure is not None:
                        self._failure(exc)
                    else:
                        show_error(parent, exc)

                relay.post(lambda: failed() if _alive(parent) else relay._finished())
                return

            def succeeded() -> None:
                relay._finished()
                if self._success is not None:
                    self._success(result)

            relay.post(lambda: succeeded() if _alive(parent) else relay._finished())

        if relay._closed:
            relay._finished()
            return
        relay.executor(self._lane).submit(work)


def error_text(exc: BaseException) -> tuple[str, str | None]:
    """The message and fix a user sees for ``exc``."""
    if isinstance(exc, EngramError):
        return exc.message, exc.fix
    return f"Something went wrong: {exc}", "This is a bug in Engram; the log has the details."


def error_html(exc: BaseException) -> str:
    """What went wrong and how to fix it, as rich text for a label on a page."""
    message, fix = error_text(exc)
    text = f"<b>{html.escape(message)}</b>"
    if fix:
        text += f"<br>How to fix it: {html.escape(fix)}"
    return text


# Message boxes without a parent widget are owned by nobody: without a reference here Python
# collects them (and Qt closes them) the moment show_error returns, and the user sees nothing.
_OPEN_BOXES: list[QMessageBox] = []


def show_error(parent: QWidget | None, exc: BaseException) -> QMessageBox:
    """A dialog with what went wrong and how to fix it (the default for ops without a failure handler)."""
    message, fix = error_text(exc)
    log.info("error shown to the user: %s", type(exc).__name__)  # the message may quote memory text
    owner = parent if isinstance(parent, QWidget) else QApplication.activeWindow()
    _OPEN_BOXES[:] = [b for b in _OPEN_BOXES if shiboken6.isValid(b)]  # a box whose parent went is gone too
    for open_box in _OPEN_BOXES:  # the same failure again (a timer, a retry): one box is enough
        if open_box.text() == message and open_box.isVisible():
            open_box.raise_()
            return open_box
    box = QMessageBox(owner)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Engram")
    box.setText(message)
    if fix:
        box.setInformativeText(f"How to fix it: {fix}")
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    _OPEN_BOXES.append(box)
    box.finished.connect(lambda _result, b=box: _OPEN_BOXES.remove(b) if b in _OPEN_BOXES else None)
    box.open()  # non-modal: tests and the event loop keep running
    return box
