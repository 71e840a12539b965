"""The desktop app: wires the engine, the op runner, the event bridge, tray, windows.

``EngramApp`` is built around an already opened ``Engine`` (tests give it one
with fake models); ``run_app`` is what ``engram app`` calls.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from PySide6.QtCore import QByteArray, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

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

    def start(self, *, first_run: bool = True, show_window: bool = True) -> None:
        """Show the main window, then do everything slow in the background.

        ``show_window=False`` starts in the tray; it is ignored where there is
        no tray, or while first run is unfinished, since Engram must never run
        (and perhaps record) without anything on screen saying so.
        """
        needs_first_run = first_run and not self.engine.settings.get("app.first_run_done")
        self._restore_geometry()
        self.window.show_page("chat")
        if show_window or not self.tray.available or needs_first_run:
            self.window.show()
        if not self.tray.available:
            self.window.show_banner(NO_TRAY_MESSAGE)
        if needs_first_run:
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
            if choices.start_at_login:
                engine.settings.set("app.start_at_login", True)  # a failure is shown; first run stays done

        EngineOp(self.window, apply).success(lambda _r: self.first_run_finished.emit()).run_in_background()
        if choices.recovery_code:
            self.window.show_page("backup")
            self.window.backup.open_recovery_dialog()
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
        elif payload.get("key") == "app.idle_release_seconds":
            self.idle.set_seconds(int(payload.get("value") or 0))
        elif payload.get("key") == "capture.enabled":
            # The engine starts or stops capture itself; the tray shows what it did.
            self.tray.refresh()

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

    def run_command(self, command: str) -> None:
        """A command from a second ``engram app`` (see ``desktop.single_instance``)."""
        if command == "show":
            if self.recall.isVisible():
                # Asked for the window: a quick-recall popup left open must not keep the focus.  The X server
                # hands the focus back once the popup is unmapped, so the window takes it a moment later.
                self.recall.hide()
                QTimer.singleShot(100, self.window.bring_to_front)
            else:
                self.window.bring_to_front()
        elif command == "quick-recall":
            self.show_quick_recall()
        elif command == "quit":
            self.quit()

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


# At login the panel that holds the tray may start after Engram; wait this long for it.
TRAY_WAIT_SECONDS = 10.0


def _wait_for_tray(app: QApplication, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not QSystemTrayIcon.isSystemTrayAvailable():
        if time.monotonic() >= deadline:
            return False
        app.processEvents()
        time.sleep(0.25)
    return True


def _show_error(exc: EngramError) -> int:
    print(f"engram: {exc.message}", file=sys.stderr)
    if exc.fix:
        print(f"Fix: {exc.fix}", file=sys.stderr)
    if QApplication.instance() is None and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return exc.exit_code
    make_qt_app()
    box = QMessageBox(QMessageBox.Icon.Critical, "Engram cannot start", exc.message)
    if exc.fix:
        box.setInformativeText("How to fix it: " + exc.fix)
    box.exec()
    return exc.exit_code


def run_app(argv: list[str] | None = None, *, background: bool = False, command: str = "show") -> int:
    """``engram app``: run the app until Quit, or hand ``command`` to the Engram already running.

    ``command`` is what a second start asks of the running instance ("show",
    "quick-recall", "quit"); the first instance does it itself once started.
    ``background`` starts in the tray without opening the window (at login);
    a second background start does nothing.  A second start never opens the
    engine, so it never starts a second capture.
    """
    from core.engine import Engine
    from core.paths import Paths
    from desktop.single_instance import SingleInstance

    try:
        paths = Paths.from_env().ensure()
        instance = SingleInstance(paths.data_dir)
        if not instance.claim():
            if command == "quit" or not background:
                instance.send(command)
            return 0
    except EngramError as exc:
        return _show_error(exc)
    try:
        if command == "quit":
            return 0  # nothing was running
        app = make_qt_app(argv)
        instance.listen()
        if background and not QSystemTrayIcon.isSystemTrayAvailable():
            _wait_for_tray(app, TRAY_WAIT_SECONDS)
        try:
            engine = Engine(paths)
        except EngramError as exc:
            return _show_error(exc)
        engram = EngramApp(engine)
        engram.start(show_window=not (background or command == "quick-recall"))
        instance.deliver_to(engram.run_command)
        if command == "quick-recall":
            engram.show_quick_recall()
        try:
            return app.exec()
        finally:
            engram.close()
            engine.close()
    finally:
        instance.close()
