"""Backup & export: last and next backup, the folder, back up and restore, the recovery code, export and import.

Every long action (back up, restore, export, import) runs on the "files" lane
with one progress bar and a Cancel button; the page's buttons wait meanwhile.
The dialogs (file choosers, confirmations, the recovery code) open from the
buttons; the actions behind them are methods taking their answers, which is
what the tests and the self-test call.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.store.types import MEMORY_TYPES
from desktop.ops import EngineOp, error_text, show_error
from desktop.qtmodels import human_size
from desktop.recovery_dialog import CodeEntryDialog, RecoveryCodeDialog
from desktop.widgets import muted_label, page_header

FORMATS = [("json", "JSON — complete, can be imported back"), ("markdown", "Markdown — notes for Obsidian or Logseq"),
           ("csv", "CSV — one file per type, for spreadsheets")]


def relative_time(ts: float | None, now: float) -> str:
    """'3 hours ago', 'in 20 hours', 'just now'."""
    if not ts:
        return "never"
    delta = ts - now
    seconds = abs(delta)
    if seconds < 90:
        return "just now" if delta <= 0 else "in a minute"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(round(seconds / size))
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"{text} ago" if delta < 0 else f"in {text}"
    return ""


def local_stamp(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else ""


def page_facts(engine) -> dict[str, Any]:
    """Everything the page shows, read in one background op."""
    return {
        "status": engine.backups.status(),
        "backups": [b.to_dict() | {"ts": b.created_at} for b in engine.backups.list()[:30]],
        "now": engine.clock(),
        "counts": engine.memories.counts(),
    }


class BackupPage(QWidget):
    loaded = Signal()
    action_finished = Signal(str, object)  # (action, result or exception), for tests and the self-test

    def __init__(self, parent=None):
        super().__init__(parent)
        self.facts: dict[str, Any] = {}
        self._cancel: threading.Event | None = None
        self._busy: str | None = None
        self.recovery_dialog: RecoveryCodeDialog | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.addWidget(page_header(
            "Backup & export",
            "Backups are encrypted copies of your memories, checked after they are written. Keep them on another "
            "disk or in a synced folder. Exports are readable copies for other programs.",
        ))
        self.warning = QLabel()
        self.warning.setObjectName("banner")
        self.warning.setWordWrap(True)
        self.warning.hide()
        outer.addWidget(self.warning)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 12, 0)

        # Backups
        box = QGroupBox("Backups")
        form = QFormLayout(box)
        self.last_label = QLabel("…")
        self.last_label.setWordWrap(True)
        self.next_label = QLabel("…")
        self.next_label.setWordWrap(True)
        self.folder_label = QLabel("…")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setWordWrap(True)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label, 1)
        self.choose_folder_button = QPushButton("Choose…")
        self.choose_folder_button.clicked.connect(self.choose_folder)
        self.default_folder_button = QPushButton("Use default")
        self.default_folder_button.clicked.connect(lambda: self.set_folder(""))
        folder_row.addWidget(self.choose_folder_button)
        folder_row.addWidget(self.default_folder_button)
        form.addRow("Last backup", self.last_label)
        form.addRow("Next backup", self.next_label)
        form.addRow("Folder", folder_row)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Made", "Kind", "Memories", "Size", "Opens with"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setFixedHeight(112)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        form.addRow(self.table)
        buttons = QHBoxLayout()
        self.backup_button = QPushButton("Back up now")
        self.backup_button.setObjectName("primary")
        self.backup_button.clicked.connect(self.back_up_now)
        self.restore_selected_button = QPushButton("Restore selected…")
        self.restore_selected_button.clicked.connect(self.restore_selected)
        self.restore_file_button = QPushButton("Restore from a file…")
        self.restore_file_button.clicked.connect(self.restore_from_file)
        buttons.addWidget(self.backup_button)
        buttons.addWidget(self.restore_selected_button)
        buttons.addWidget(self.restore_file_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        layout.addWidget(box)

        # Recovery code
        box = QGroupBox("Recovery code")
        rows = QVBoxLayout(box)
        self.recovery_label = QLabel("…")
        self.recovery_label.setWordWrap(True)
        rows.addWidget(self.recovery_label)
        row = QHBoxLayout()
        self.recovery_button = QPushButton("Create a recovery code…")
        self.recovery_button.clicked.connect(self.open_recovery_dialog)
        row.addWidget(self.recovery_button)
        row.addStretch(1)
        rows.addLayout(row)
        layout.addWidget(box)

        # Export and import
        box = QGroupBox("Export and import")
        form = QFormLayout(box)
        self.format_box = QComboBox()
        for key, label in FORMATS:
            self.format_box.addItem(label, key)
        self.type_box = QComboBox()
        self.type_box.addItem("All types", None)
        for name, spec in MEMORY_TYPES.items():
            self.type_box.addItem(spec.label, name)
        dates = QHBoxLayout()
        self.since_check = QCheckBox("From")
        self.since_edit = QDateEdit(QDate.currentDate().addMonths(-1))
        self.until_check = QCheckBox("to")
        self.until_edit = QDateEdit(QDate.currentDate())
        for edit in (self.since_edit, self.until_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.since_check.toggled.connect(self.since_edit.setEnabled)
        self.until_check.toggled.connect(self.until_edit.setEnabled)
        for widget in (self.since_check, self.since_edit, self.until_check, self.until_edit):
            dates.addWidget(widget)
        self.reveal_box = QCheckBox("Write knowledge-vault values in the clear")
        self.reveal_box.toggled.connect(self._reveal_toggled)
        what = QHBoxLayout()
        self.format_box.setMinimumWidth(330)
        what.addWidget(self.format_box)
        what.addSpacing(12)
        what.addWidget(QLabel("Memories"))
        what.addWidget(self.type_box)
        what.addStretch(1)
        dates.addSpacing(24)
        dates.addWidget(self.reveal_box)
        dates.addStretch(1)
        form.addRow("Format", what)
        form.addRow("Dates", dates)
        row = QHBoxLayout()
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.export_with_dialog)
        self.import_button = QPushButton("Import a JSON export…")
        self.import_button.clicked.connect(self.import_with_dialog)
        row.addWidget(self.export_button)
        row.addWidget(self.import_button)
        hint = QLabel("Importing skips what is already here (twice adds nothing); a backup is made first.")
        hint.setObjectName("muted")
        row.addSpacing(12)
        row.addWidget(hint)
        row.addStretch(1)
        form.addRow(row)
        layout.addWidget(box)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        # One progress row for whichever long action runs.
        progress_row = QHBoxLayout()
        self.progress_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMinimumWidth(320)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        progress_row.addWidget(self.progress_label)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()
        outer.addWidget(self.progress_box)
        self.result_label = muted_label()
        outer.addWidget(self.result_label)
        self._update_buttons()

    # -- showing ------------------------------------------------------------------------

    def activate(self) -> None:
        self.reload()

    def reload(self) -> None:
        EngineOp(self, page_facts).success(self.show_facts).run_in_background()

    def show_facts(self, facts: dict[str, Any]) -> None:
        self.facts = facts
        status, now = facts["status"], facts["now"]
        last = status.get("last")
        if last:
            opens = ("Opens with your recovery code, on any computer." if last["key"] == "recovery-code"
                     else "Opens only with this computer's key.")
            self.last_label.setText(
                f"<b>{relative_time(status['last_ts'], now)}</b> ({local_stamp(status['last_ts'])}): "
                f"{last['memories']} memories, {human_size(last['bytes'])}, verified. {opens}"
            )
        else:
            self.last_label.setText("<b>None yet.</b>")
        hours = status.get("interval_hours") or 24
        every = "daily" if hours == 24 else f"every {hours} hours"
        if last:
            when = relative_time(status["next_ts"], now) if status["next_ts"] > now + 90 else "within the hour"
            self.next_label.setText(f"{when} ({every}, while Engram runs; skipped when nothing changed)")
        else:
            self.next_label.setText(f"within the hour ({every}, while Engram runs), or now with “Back up now”")
        self.folder_label.setText(status["folder"] + ("  (default)" if status.get("folder_is_default") else ""))
        self.default_folder_button.setEnabled(not status.get("folder_is_default"))
        self._fill_table(facts["backups"], now)
        recovery = status.get("recovery") or {}
        if recovery.get("exists"):
            self.recovery_label.setText(
                f"A recovery code is set up (made {recovery['created_at'][:10]}). Your backups open with it on any "
                "computer, and 'engram recover' gets Engram's key back with it."
            )
            self.recovery_button.setText("Make a new recovery code…")
            self.recovery_label.setObjectName("")
        else:
            self.recovery_label.setText(recovery.get("problem") or (
                "<b>There is no recovery code.</b> Engram's key lives only in this computer's keyring: if the keyring "
                "is lost (a reinstall, a broken home folder), every memory is lost with it, and backups cannot be "
                "opened anywhere else. A recovery code prevents that."
            ))
            self.recovery_button.setText("Create a recovery code…")
            self.recovery_label.setObjectName("recoveryMissing")
        self.recovery_label.setStyleSheet("#recoveryMissing { color: #92400e; }")
        # The banner is for the backups' age; the missing recovery code is said in its own box just below.
        warnings = [w for w in status.get("warnings") or [] if "recovery code" not in w]
        self.warning.setText("⚠ " + "<br>⚠ ".join(warnings) if warnings else "")
        self.warning.setVisible(bool(warnings))
        self._update_buttons()
        self.loaded.emit()

    def _fill_table(self, backups: list[dict], now: float) -> None:
        self.table.setRowCount(0)
        for info in backups:
            row = self.table.rowCount()
            self.table.insertRow(row)
            if info.get("problem"):
                cells = [Path(info["path"]).name, "unreadable", "", human_size(info["bytes"]), info["problem"]]
            else:
                opens = "recovery code" if info["key"] == "recovery-code" else "this computer's key"
                cells = [local_stamp(info["ts"]), info["kind"], str(info["memories"]), human_size(info["bytes"]), opens]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, info["path"])
                item.setToolTip(info["path"])
                self.table.setItem(row, column, item)

    def _update_buttons(self) -> None:
        idle = self._busy is None
        for button in (self.backup_button, self.restore_file_button, self.export_button, self.import_button,
                       self.recovery_button, self.choose_folder_button):
            button.setEnabled(idle)
        self.restore_selected_button.setEnabled(idle and self.selected_backup() is not None)

    def selected_backup(self) -> str | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    # -- long actions -------------------------------------------------------------------

    def _run(self, action: str, label: str, work: Callable[..., Any], done: Callable[[Any], None],
             failed: Callable[[BaseException], None] | None = None) -> None:
        """Run ``work(engine, report, cancel)`` on the files lane with the progress row and Cancel."""
        cancel = threading.Event()
        self._cancel = cancel
        self._busy = action
        self.progress.setValue(0)
        self.progress_label.setText(label + "…")
        self.cancel_button.setEnabled(True)
        self.progress_box.show()
        self.result_label.setText("")
        self._update_buttons()

        def progress(stage: str, fraction: float) -> None:
            self.progress_label.setText(stage + "…")
            self.progress.setValue(int(fraction * 1000))

        def finish() -> None:
            self._busy = None
            self._cancel = None
            self.progress_box.hide()
            self._update_buttons()

        def succeeded(result: Any) -> None:
            finish()
            done(result)
            self.reload()
            self.action_finished.emit(action, result)

        def went_wrong(exc: BaseException) -> None:
            finish()
            if failed is not None:
                failed(exc)
            else:
                message, fix = error_text(exc)
                self.result_label.setText(message + (f" {fix}" if fix else ""))
                show_error(self, exc)
            self.reload()
            self.action_finished.emit(action, exc)

        EngineOp(self, lambda engine, report: work(engine, report, cancel), lane="files").progress(progress).success(
            succeeded).failure(went_wrong).run_in_background()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Cancelling…")

    def back_up_now(self) -> None:
        def done(info) -> None:
            self.result_label.setText(f"Backed up to {info.path} ({human_size(info.bytes)}), verified.")

        self._run("backup", "Backing up",
                  lambda engine, report, cancel: engine.backups.create("manual", progress=report, stop=cancel), done)

    # folder

    def choose_folder(self) -> None:
        start = (self.facts.get("status") or {}).get("folder") or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Backup folder", start)
        if folder:
            self.set_folder(folder)

    def set_folder(self, folder: str) -> None:
        def failed(exc: BaseException) -> None:
            show_error(self, exc)

        EngineOp(self, lambda engine: engine.settings.set("backup.folder", folder)).success(
            lambda _r: self.reload()).failure(failed).run_in_background()

    # restore

    def restore_selected(self) -> None:
        path = self.selected_backup()
        if path:
            self.ask_restore(path)

    def restore_from_file(self) -> None:
        start = (self.facts.get("status") or {}).get("folder") or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Restore a backup", start, "Engram backups (*.engram-backup)")
        if path:
            self.ask_restore(path)

    def ask_restore(self, path: str) -> None:
        """Read the backup's manifest, confirm with the user, ask for the code if needed, then restore."""
        from core.backup.restore import inspect_backup

        def confirm(backup) -> None:
            data = backup.to_dict()
            box = QMessageBox(QMessageBox.Icon.Question, "Restore this backup?",
                              f"Restore the backup made {local_stamp(backup.info.created_at)} on "
                              f"{data.get('host') or 'another computer'}: {data['memories']} memories, "
                              f"{data['observations']} observations?", parent=self)
            box.setInformativeText("The memories on this computer are replaced by the backup's. They are kept as a "
                                   "backup first, so this can be undone. Capture pauses while the restore runs.")
            restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() is not restore:
                return
            if backup.needs_code:
                self.ask_code_and_restore(path, data)
            else:
                self.restore(path)

        EngineOp(self, lambda engine: inspect_backup(engine.paths, path)).success(confirm).run_in_background()

    def ask_code_and_restore(self, path: str, data: dict, error: str = "") -> None:
        dialog = CodeEntryDialog(self, reason=f"This backup opens with your recovery code (the one that was current on "
                                 f"{(data.get('created_at') or '')[:10]}). Type it to restore.", error=error)
        if dialog.exec() and dialog.code is not None:
            self.restore(path, dialog.code, retry=lambda message: self.ask_code_and_restore(path, data, message))

    def restore(self, path: str, code=None, *, retry: Callable[[str], None] | None = None) -> None:
        from core.backup.recovery import WrongRecoveryCodeError
        from core.backup.restore import restore_backup

        def done(report: dict) -> None:
            previous = f" The replaced memories are kept in {report['previous']}." if report.get("previous") else ""
            self.result_label.setText(f"Restored {report['memories']} memories from {Path(path).name}.{previous}")

        def failed(exc: BaseException) -> None:
            if isinstance(exc, WrongRecoveryCodeError) and retry is not None:
                retry(exc.message)
                return
            message, fix = error_text(exc)
            self.result_label.setText(message + (f" {fix}" if fix else ""))
            show_error(self, exc)

        self._run("restore", "Restoring",
                  lambda engine, report, cancel: restore_backup(engine.paths, engine.settings, path, code=code,
                                                                engine=engine, progress=report, stop=cancel),
                  done, failed)

    # recovery code

    def open_recovery_dialog(self) -> RecoveryCodeDialog:
        exists = bool(((self.facts.get("status") or {}).get("recovery") or {}).get("exists"))
        dialog = RecoveryCodeDialog(self, replacing=exists)
        dialog.saved.connect(self.reload)
        dialog.open()
        self.recovery_dialog = dialog
        return dialog

    # export and import

    def _reveal_toggled(self, on: bool) -> None:
        if not on:
            return
        answer = QMessageBox.question(
            self, "Write vault values in the clear?",
            "The export will hold your passwords, account numbers and other vault values in plain text. Anyone who "
            "can read the exported files can read them. Keep the export somewhere private, and delete it when done.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.reveal_box.blockSignals(True)
            self.reveal_box.setChecked(False)
            self.reveal_box.blockSignals(False)

    def export_options(self) -> dict[str, Any]:
        memory_type = self.type_box.currentData()
        return {
            "fmt": self.format_box.currentData(),
            "types": [memory_type] if memory_type else None,
            "since": self.since_edit.date().toString("yyyy-MM-dd") if self.since_check.isChecked() else None,
            "until": self.until_edit.date().addDays(1).toString("yyyy-MM-dd") if self.until_check.isChecked() else None,
            "reveal_vault": self.reveal_box.isChecked(),
        }

    def export_with_dialog(self) -> None:
        options = self.export_options()
        day = time.strftime("%Y-%m-%d")
        start = str(Path.home() / (f"engram-export-{day}.json" if options["fmt"] == "json" else f"engram-{options['fmt']}-{day}"))
        if options["fmt"] == "json":
            path, _ = QFileDialog.getSaveFileName(self, "Export memories", start, "JSON (*.json)")
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export memories into a new folder", start)
        if path:
            self.export(path, **options)

    def export(self, path: str, *, fmt: str, types=None, since=None, until=None, reveal_vault: bool = False) -> None:
        from core.backup.exporting import export_memories

        def done(report: dict) -> None:
            masked = " Vault values are masked." if report.get("vault_masked") else ""
            self.result_label.setText(f"Exported {report['memories']} memories to {report['path']}.{masked}")

        self._run("export", "Exporting",
                  lambda engine, report, cancel: export_memories(engine, fmt, Path(path), types=types, since=since,
                                                                 until=until, reveal_vault=reveal_vault,
                                                                 progress=report, stop=cancel), done)

    def import_with_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a JSON export", str(Path.home()), "JSON (*.json)")
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        from core.backup.importing import import_memories

        def done(report: dict) -> None:
            self.result_label.setText(f"Imported {report['added']} memories; {report['skipped']} were already here."
                                      + (f" {report['notes'][0]}." if report.get("notes") else ""))

        self._run("import", "Importing",
                  lambda engine, report, cancel: import_memories(engine, Path(path), progress=report, stop=cancel), done)
