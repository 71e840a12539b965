"""The tray icon: what Engram is doing at a glance, and the quick controls.

The icon's badge follows the capture service's real state (from its events
and health reports, never from what the app last asked for), so the tray
cannot say "recording" while capture has stalled.
"""

from __future__ import annotations

import time
from datetime import datetime

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.icons import STATE_LABELS, tray_icon
from desktop.ops import EngineOp

PAUSES = (("Pause for 15 minutes", 15 * 60), ("Pause for 1 hour", 60 * 60), ("Pause until resumed", None))


def tray_state(capture: dict | None, *, absorbing: bool = False, problem: str | None = None) -> str:
    """The tray's look from the capture status, whether an absorb runs, and any open problem."""
    state = (capture or {}).get("state", "stopped")
    if problem or state == "error":
        return "problem"
    if (capture or {}).get("paused_until") is not None or state == "paused":
        return "paused"
    if absorbing:
        return "absorbing"
    if state in ("running", "idle", "excluded"):
        return "recording"
    return "off"


def describe_capture(capture: dict | None) -> str:
    """One honest line about capture, for the tray tooltip and the status bar."""
    if not capture:
        return "Screen capture is not available in this installation"
    state = capture.get("state", "stopped")
    until = capture.get("paused_until")
    if until is not None:
        if until == float("inf") or until > time.time() + 365 * 86400:
            return "Capture paused until you resume it"
        return "Capture paused until " + datetime.fromtimestamp(until).strftime("%H:%M")
    if state == "paused":
        return "Capture paused until you resume it"
    if state == "error":
        return "Capture stopped: " + (capture.get("last_error") or "an error")
    if state == "idle":
        return "Capture waiting: no keyboard or mouse input"
    if state == "excluded":
        return "Capture skipping an excluded window"
    if state == "running":
        last = capture.get("last_frame_at")
        if last:
            ago = max(0, int(time.time() - last))
            return f"Recording (last frame {ago} s ago)" if ago < 120 else f"Recording, but no frame for {ago // 60} min"
        return "Recording"
    return "Screen capture is off"


class TrayController(QObject):
    """The tray icon and its menu; works (menu and state) even where no tray is shown."""

    quick_recall_requested = Signal()
    open_requested = Signal()
    quit_requested = Signal()
    state_changed = Signal(str)

    def __init__(self, bridge, parent: QObject | None = None):
        super().__init__(parent)
        self.capture: dict | None = None
        self.absorbing = False
        self.problem: str | None = None
        self.state = "off"
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.status_action = self.menu.addAction("Engram")
        self.status_action.setEnabled(False)
        self.menu.addSeparator()
        self.recall_action = self.menu.addAction("Quick recall…")
        self.recall_action.triggered.connect(self.quick_recall_requested)
        self.menu.addSeparator()
        self.pause_actions: list[QAction] = []
        for label, seconds in PAUSES:
            action = self.menu.addAction(label)
            action.triggered.connect(lambda _=False, s=seconds: self.pause(s))
            self.pause_actions.append(action)
        self.resume_action = self.menu.addAction("Resume capture")
        self.resume_action.triggered.connect(self.resume)
        self.menu.addSeparator()
        self.open_action = self.menu.addAction("Open Engram")
        self.open_action.triggered.connect(self.open_requested)
        self.quit_action = self.menu.addAction("Quit Engram")
        self.quit_action.triggered.connect(self.quit_requested)

        self.icon = QSystemTrayIcon(tray_icon("off"))
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        if self.available:
            self.icon.show()

        bridge.on(("capture_did_change_state", "capture_did_pause", "capture_did_resume"), lambda _p: self.refresh(), self)
        bridge.on("capture_did_update_health", self._health, self)
        bridge.on("capture_did_fail", lambda p: self._set_problem(p.get("message")), self)
        bridge.on("absorb_will_start", lambda _p: self._set_absorbing(True), self)
        bridge.on(("absorb_did_finish", "absorb_did_fail"), lambda _p: self._set_absorbing(False), self)
        self._apply()

    # -- actions ------------------------------------------------------------------------

    def pause(self, seconds: float | None) -> None:
        EngineOp(None, lambda engine: engine.pause_capture(seconds)).success(self._health_result).run_in_background()

    def resume(self) -> None:
        self.problem = None
        EngineOp(None, lambda engine: engine.resume_capture()).success(self._health_result).run_in_background()

    def refresh(self) -> None:
        EngineOp(None, lambda engine: engine.capture.status()).success(
            self._health_result
        ).run_in_background()

    # -- state --------------------------------------------------------------------------

    def _activated(self, reason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.quick_recall_requested.emit()
        elif reason == QSystemTrayIcon.ActivationReason.DoubleClick:
            self.open_requested.emit()

    def _health(self, payload: dict) -> None:
        self._health_result(payload.get("health"))

    def _health_result(self, capture: dict | None) -> None:
        self.capture = capture
        if capture and capture.get("state") != "error":
            self.problem = None
        self._apply()

    def _set_problem(self, message: str | None) -> None:
        self.problem = message
        self._apply()

    def _set_absorbing(self, absorbing: bool) -> None:
        self.absorbing = absorbing
        self._apply()

    def _apply(self) -> None:
        state = tray_state(self.capture, absorbing=self.absorbing, problem=self.problem)
        line = describe_capture(self.capture)
        if self.problem and not line.startswith("Capture stopped"):
            line = self.problem.splitlines()[0]
        if self.absorbing:
            line += " · building memories"
        self.status_action.setText(line)
        self.icon.setToolTip(f"Engram — {STATE_LABELS[state]}\n{line}")
        paused = self.capture is not None and (self.capture.get("paused_until") is not None or self.capture.get("state") == "paused")
        has_capture = self.capture is not None
        for action in self.pause_actions:
            action.setEnabled(has_capture and not paused)
        self.resume_action.setEnabled(has_capture and (paused or self.capture.get("state") == "error"))
        if state != self.state:
            self.state = state
            self.icon.setIcon(tray_icon(state))
            self.state_changed.emit(state)

    def close(self) -> None:
        self.icon.hide()
