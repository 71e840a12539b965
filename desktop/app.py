"""The desktop app: wires the engine, the op runner, the event bridge, tray, windows.

``EngramApp`` is built around an already opened ``Engine`` (tests give it one
with fake models); ``run_app`` is what ``engram app`` calls.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QByteArray, QObject, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from core.errors import EngramError
from desktop.bridge import EventBridge
from desktop.first_run import FirstRunWizard, first_run_facts
from desktop.hotkey import GlobalHotkey
from desktop.idle import IdleReleaser, release_python_memory
from desktop.icons import app_icon
from desktop.main_window import MainWindow
from desktop.ops import EngineOp, OpRunner, install_runner
from desktop.quick_recall import QuickRecallWindow
from desktop.tray import TrayController
from desktop.widgets import STYLESHEET

log = logging.getLogger(__name__)

NO_TRAY_MESSAGE = (
    "Your desktop has no system tray, so Engram lives in this window: closing it quits Engram. "
    "Quick recall is Ctrl+K here."
)


def make_qt_app(argv: list[str] | None = None) -> QApplication:
    # Hand the GIL over sooner (default 5 ms): a result ready on a worker thread reaches the
    # UI thread, and a keystroke reaches the worker, without waiting out a whole interval.
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Engram")
    app.setApplicationDisplayName("Engram")
    app.setDesktopFileName("engram")
    app.setWindowIcon(app_icon())
    app.setStyleSheet(STYLESHEET)
    app.setQuitOnLastWindowClosed(False)
    return app


class EngramApp(QObject):
    """One running app for one engine."""

    started = Signal()
    first_run_finished = Signal()
    hotkey_pressed = Signal()  # emitted from the hotkey thread; Qt queues it to the main thread
    quitting = Signal()

    def __init__(self, engine, *, start_engine: bool = True):
        super().__init__()
        self.engine = engine
        self.start_engine = start_engine
        self.runner = OpRunner(engine, self)
        install_runner(self.runner)
        self.bridge = EventBridge(engine.events, self)
        self.tray = TrayController(self.bridge, self)
        self.window = MainWindow(self.bridge, hide_on_close=self.tray.available)
        self.recall = QuickRecallWindow()
        self.wizard: FirstRunWizard | None = None
        self.tray.quick_recall_requested.connect(self.show_quick_recall)
        self.tray.open_requested.connect(self.window.bring_to_front)
        self.tray.quit_requested.connect(self.quit)
        self.window.quick_recall_requested.connect(self.show_quick_recall)
        self.window.quit_requested.connect(self.quit)
        self.window.hidden_to_tray.connect(self._hidden_to_tray)
        self._told_about_tray = False
        self.recall.open_requested.connect(self.window.open_recall_result)
        self.hotkey: GlobalHotkey | None = None
        self.hotkey_problem: str | None = None
        self.hotkey_pressed.connect(self.show_quick_recall)
        self.idle = IdleReleaser(self, int(engine.settings.get("app.idle_release_seconds")))
        self.bridge.on("settings_did_change", self._setting_changed, self)
        self.bridge.on("capture_did_fail", self._capture_failed, self)

    def start(self, *, first_run: bool = True) -> None:
        """Show the main window, then do everything slow in the background."""
        self._restore_geometry()
        self.window.show()
        self.window.show_page("chat")
        if not self.tray.available:
            self.window.show_banner(NO_TRAY_MESSAGE)
        if first_run and not self.engine.settings.get("app.first_run_done"):
            EngineOp(self.window, first_run_facts).success(self._open_first_run).run_in_background()
        if self.start_engine:
            EngineOp(self.window, lambda engine: engine.start(), lane="control").success(lambda _r: self._after_start()).run_in_background()
        else:
            self._after_start()

    def _start_hotkey(self) -> None:
        """The global quick-recall shortcut, where the desktop allows one (X11); otherwise tray click and Ctrl+K."""
        if self.hotkey is not None:
            self.hotkey.stop()
        shortcut = self.engine.settings.get("app.quick_recall_shortcut")
        self.hotkey = GlobalHotkey(shortcut, self.hotkey_pressed.emit)
        self.hotkey_problem = self.hotkey.start()
        if self.hotkey_problem:
            log.info("no global shortcut for quick recall: %s", self.hotkey_problem)
            self.hotkey = None

    def _after_start(self) -> None:
        release_python_memory()  # the source lines PySide6's import hook cached while Engram started
        self._start_hotkey()
        self.tray.refresh()
        self.window.status.refresh()
        self.started.emit()

    # -- first run ----------------------------------------------------------------------

    def _open_first_run(self, facts: dict) -> None:
        facts = dict(facts, tray=self.tray.available)
        self.wizard = FirstRunWizard(facts, self.window)
        self.wizard.finished.connect(self._first_run_done)
        self.wizard.open()

    def _first_run_done(self, result: int) -> None:
        wizard = self.wizard
        if wizard is None or not result:
            # Cancelled: nothing was agreed to, so nothing is applied and the welcome shows again next start.
            self.first_run_finished.emit()
            return
        choices = wizard.choices()

        def apply(engine) -> None:
            engine.settings.set("capture.enabled", choices.capture)
            engine.settings.set("app.first_run_done", True)

        EngineOp(self.window, apply).success(lambda _r: self.first_run_finished.emit()).run_in_background()
        if choices.download:
            self.window.show_page("models")
            page = self.window.models

            def select_and_download(_count: int) -> None:
                page.loaded.disconnect(select_and_download)
                for row in range(page.model.rowCount()):
                    if (page.model.row_data(row) or {}).get("name") == choices.download:
                        page.table.selectRow(row)
                        page.download_selected()

            page.loaded.connect(select_and_download)

    # -- reactions ----------------------------------------------------------------------

    def _setting_changed(self, payload: dict) -> None:
        if payload.get("key") == "app.quick_recall_shortcut":
            self._start_hotkey()
            return
        if payload.get("key") == "app.idle_release_seconds":
            self.idle.set_seconds(int(payload.get("value") or 0))
            return
        if payload.get("key") != "capture.enabled":
            return
        enabled = bool(payload.get("value"))

        def apply(engine):
            if engine.capture is None:
                return None
            if enabled:
                engine.capture.start()
            else:
                engine.capture.stop()
            return engine.capture.status()

        EngineOp(self.window, apply, lane="control").success(self.tray._health_result).run_in_background()

    def _capture_failed(self, payload: dict) -> None:
        message = (payload.get("message") or "").strip()
        if message and self.tray.available:
            self.tray.icon.showMessage("Engram: capture stopped", message.splitlines()[0])

    def _hidden_to_tray(self) -> None:
        if self._told_about_tray or not self.tray.available:
            return
        self._told_about_tray = True
        self.tray.icon.showMessage(
            "Engram is still running",
            "Engram keeps running in the tray (and recording, if capture is on). "
            "Quit it from the tray menu or with Ctrl+Q.",
        )

    def show_quick_recall(self) -> None:
        self.recall.popup()

    def quit(self) -> None:
        """Quit for real: capture stops and the engine closes once the event loop returns."""
        self.quitting.emit()
        QApplication.instance().quit()

    def _restore_geometry(self) -> None:
        saved = str(self.engine.settings.get("app.window_geometry") or "")
        if saved:
            # Qt moves a window saved on a screen that is gone back onto one that is there.
            self.window.restoreGeometry(QByteArray.fromBase64(saved.encode("ascii")))

    def _save_geometry(self) -> None:
        """Where the window was, for the next start (only its position and size: the settings file is plain text)."""
        try:
            self.engine.settings.set("app.window_geometry", bytes(self.window.saveGeometry().toBase64()).decode("ascii"))
        except EngramError as exc:  # a read-only config folder must not stop Engram from quitting
            log.warning("could not save the window position: %s", exc.message)

    def close(self) -> None:
        self._save_geometry()
        if self.hotkey is not None:
            self.hotkey.stop()
            self.hotkey = None
        # Timers must not start ops once the runner is gone.
        self.idle.close()
        self.recall.debounce.stop()
        self.window.status.timer.stop()
        self.recall.close()
        self.window.hide_on_close = False
        self.window.quit_requested.disconnect(self.quit)
        self.window.close()
        self.tray.close()
        self.bridge.close()
        self.runner.shutdown(wait=True)
        install_runner(None)
        self.recall.deleteLater()
        self.window.deleteLater()


def run_app(argv: list[str] | None = None) -> int:
    """``engram app``: open the engine and run the app until Quit."""
    from core.engine import Engine

    app = make_qt_app(argv)
    try:
        engine = Engine()
    except EngramError as exc:
        box = QMessageBox(QMessageBox.Icon.Critical, "Engram cannot start", exc.message)
        if exc.fix:
            box.setInformativeText("How to fix it: " + exc.fix)
        box.exec()
        return exc.exit_code
    engram = EngramApp(engine)
    engram.start()
    try:
        return app.exec()
    finally:
        engram.close()
        engine.close()
