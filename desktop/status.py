"""The status bar: capture health, absorb backlog, model state, encryption and key storage.

It refreshes from engine events and, as a safety net for things that change
without an event (a frame's age), every few seconds -- always in the
background.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from desktop.ops import EngineOp, error_text
from desktop.tray import describe_capture
from desktop.widgets import ElidedLabel

REFRESH_MS = 5000


class ClickableLabel(QLabel):
    """A status-bar label that opens a page when clicked (plain text: a rich-text link label
    swallowed the window manager's close request on Xvfb in the quit test)."""

    clicked = Signal()

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


def snapshot(engine) -> dict:
    """Everything the status bar shows, read in one background op."""
    capture = engine.capture.status() if engine.capture is not None else None
    models = engine.models.status() if engine.models is not None else None
    stats = engine.stats()
    info = engine.key_info
    backups = engine.backups.status()
    return {
        "backup": {"warnings": backups["warnings"], "last_ts": backups["last_ts"], "now": engine.clock(),
                   "recovery": backups["recovery"]["exists"]},
        "capture": capture,
        "backlog": stats.get("observations_unabsorbed", 0),
        "pending_embeddings": stats.get("pending_embeddings", 0),
        "memories": stats.get("memories", 0),
        "models": models,
        "key": {"storage": info.storage, "location": info.location, "warning": info.warning},
    }


def capture_text(capture: dict | None) -> str:
    """The capture line, with what was hidden from the last frame ('1 window hidden from capture: KeePassXC')."""
    line = describe_capture(capture)
    hidden = capture.get("hidden_summary") if capture else None
    if hidden and capture.get("state") == "running":
        line += " · " + hidden
    return line


def model_text(models: dict | None) -> str:
    if not models:
        return "Models: not installed"
    chat = models.get("chat") or {}
    if chat.get("error"):
        return "Chat model: problem"
    if chat.get("loaded"):
        return f"Chat model: {chat.get('loaded_name')} (loaded)"
    if chat.get("installed"):
        return f"Chat model: {chat.get('configured')} (ready)"
    return f"Chat model: {chat.get('configured')} (not installed)"


class EngramStatusBar(QStatusBar):
    def __init__(self, bridge, parent=None):
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        # Whether Engram is recording, and how the key is kept, stay readable in a narrow window; the backlog
        # and the model's name shorten first.
        self.capture_label = ElidedLabel("Capture: …", keep=260)
        self.backlog_label = ElidedLabel()
        self.model_label = ElidedLabel()
        self.key_label = ElidedLabel(keep=210)
        self.backup_label = ClickableLabel()
        for label in (self.capture_label, self.backlog_label, self.model_label):
            self.addWidget(label)
        self.addPermanentWidget(self.backup_label)
        self.addPermanentWidget(self.key_label)
        self.data: dict = {}
        self.absorbing = False
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        bridge.on(
            ("capture_did_change_state", "capture_did_pause", "capture_did_resume", "capture_did_fail",
             "absorb_did_finish", "absorb_did_fail", "model_did_load", "model_did_unload", "model_did_fail",
             "observations_did_forget", "backup_did_finish", "store_did_restore"),
            lambda _p: self.refresh(),
            self,
        )
        bridge.on("capture_did_update_health", self._health, self)
        bridge.on("absorb_will_start", lambda _p: self._absorbing(True), self)
        bridge.on(("absorb_did_finish", "absorb_did_fail"), lambda _p: self._absorbing(False), self)

    def refresh(self) -> None:
        # A failure is shown here, not in a dialog: this runs every few seconds.
        EngineOp(self, snapshot).success(self.show_snapshot).failure(self._failed).run_in_background()

    def _failed(self, exc: BaseException) -> None:
        message, fix = error_text(exc)
        self.capture_label.setText(f"⚠ Status unavailable: {message}")
        self.capture_label.setToolTip(f"How to fix it: {fix}" if fix else "")
        self.capture_label.setObjectName("statusWarning")
        self.capture_label.style().unpolish(self.capture_label)
        self.capture_label.style().polish(self.capture_label)

    def _health(self, payload: dict) -> None:
        if self.data:
            self.data["capture"] = payload.get("health")
            self.show_snapshot(self.data)

    def _absorbing(self, on: bool) -> None:
        self.absorbing = on
        if self.data:
            self.show_snapshot(self.data)

    def show_snapshot(self, data: dict) -> None:
        self.data = data
        capture = data.get("capture")
        self.capture_label.setText(capture_text(capture))
        self.capture_label.setObjectName("statusWarning" if capture and capture.get("state") == "error" else "")
        if capture and capture.get("last_error"):
            self.capture_label.setToolTip(capture["last_error"] + ("\n" + capture["last_error_fix"] if capture.get("last_error_fix") else ""))
        backlog = data.get("backlog", 0)
        text = "Building memories…" if self.absorbing else (f"{backlog} observation{'s' if backlog != 1 else ''} waiting to become memories" if backlog else "All observations absorbed")
        self.backlog_label.setText(text)
        self.model_label.setText(model_text(data.get("models")))
        key = data.get("key") or {}
        if key.get("storage") == "file":
            self.key_label.setText("⚠ Encrypted · key in a file")
            self.key_label.setObjectName("statusWarning")
            self.key_label.setToolTip(key.get("warning") or f"The database key is stored in {key.get('location')}.")
        else:
            self.key_label.setText(f"🔒 Encrypted · key in {key.get('location') or 'the system keyring'}")
            self.key_label.setObjectName("")
            self.key_label.setToolTip("The database is encrypted with SQLCipher; its key is in the system keyring.")
        self._show_backup(data.get("backup") or {})
        for label in (self.capture_label, self.key_label, self.backup_label):
            label.style().unpolish(label)
            label.style().polish(label)

    def _show_backup(self, backup: dict) -> None:
        """A warning when the last good backup is old or missing, or when there is no recovery code."""
        warnings = backup.get("warnings") or []
        if not backup.get("recovery"):
            text = "⚠ No recovery code"
        elif warnings:
            text = "⚠ Back up soon"
        else:
            hours = max(0, ((backup.get("now") or 0) - (backup.get("last_ts") or 0)) / 3600)
            ago = f"{int(hours)} h ago" if hours >= 1 else "just now"
            self.backup_label.setText(f"Backed up {ago}")
            self.backup_label.setObjectName("")
            self.backup_label.setToolTip("The last good backup; click for Backup & export.")
            return
        self.backup_label.setText(text)
        self.backup_label.setObjectName("statusWarning")
        self.backup_label.setToolTip("\n".join(warnings) + "\nClick to open Backup & export.")
