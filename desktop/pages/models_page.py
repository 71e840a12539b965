"""Models: installed and available models, download with progress and cancel, choose chat and embedding."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.ops import EngineOp, error_text
from desktop.qtmodels import ModelListModel, human_size
from desktop.widgets import muted_label, page_header


class ModelsPage(QWidget):
    loaded = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cancel: threading.Event | None = None
        self._downloading: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.addWidget(page_header(
            "Models",
            "Engram's models run on this computer. The small seed model works offline from the start; a larger chat model builds better memories.",
        ))
        self.status = muted_label()
        layout.addWidget(self.status)
        self.model = ModelListModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._update_buttons())
        layout.addWidget(self.table, 1)
        self.notes = muted_label()
        layout.addWidget(self.notes)
        row = QHBoxLayout()
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("primary")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button = QPushButton("Use this model")
        self.use_button.clicked.connect(self.use_selected)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setTextVisible(True)
        row.addWidget(self.download_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.use_button)
        self.progress.setMinimumWidth(320)
        row.addWidget(self.progress)
        row.addStretch(1)
        layout.addLayout(row)
        self._update_buttons()

    def activate(self) -> None:
        self.reload()

    def reload(self) -> None:
        def work(engine):
            if engine.models is None:
                return None
            return engine.models.list(), engine.models.status()

        def shown(result) -> None:
            if result is None:
                self.status.setText("Model management is not part of this installation.")
                self.model.set_rows([])
                self.loaded.emit(0)
                return
            listing, status = result
            self.model.set_rows(listing.get("models", []))
            parts = []
            for role, label in (("chat", "Chat"), ("embedding", "Search")):
                info = status.get(role) or {}
                state = "loaded" if info.get("loaded") else ("ready" if info.get("installed") else "not installed")
                parts.append(f"{label} model: {info.get('configured') or '—'} ({state})")
            ram = listing.get("total_ram_bytes")
            if ram:
                parts.append(f"this computer has {human_size(ram)} of memory")
            self.status.setText(" · ".join(parts))
            self._update_buttons()
            self.loaded.emit(len(listing.get("models", [])))

        EngineOp(self, work).success(shown).run_in_background()

    def _selected(self) -> dict | None:
        index = self.table.currentIndex()
        return self.model.row_data(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        row = self._selected()
        busy = self._downloading is not None
        self.download_button.setEnabled(bool(row) and not busy and not row.get("installed") and bool(row.get("downloadable")))
        self.cancel_button.setEnabled(busy)
        self.cancel_button.setVisible(busy)
        self.use_button.setEnabled(bool(row) and bool(row.get("installed")) and not row.get("configured"))
        if row:
            ram = f" Needs about {row['ram_mb']} MB of memory." if row.get("ram_mb") else ""
            self.notes.setText((row.get("notes") or "") + ram)
        else:
            self.notes.setText("Select a model to download it or use it.")

    def download_selected(self) -> None:
        row = self._selected()
        if row is None:
            return
        name = row["name"]
        cancel = threading.Event()
        self._cancel = cancel
        self._downloading = name
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat(f"Downloading {row.get('label') or name}…")
        self._update_buttons()

        def progress(done: int, total: int | None) -> None:
            if total:
                self.progress.setRange(0, 1000)
                self.progress.setValue(int(done * 1000 / total))
                self.progress.setFormat(f"{human_size(done)} of {human_size(total)}")
            self.model.set_progress(name, done, total)

        def finished(_path) -> None:
            self._end_download(name, f"{row.get('label') or name} is installed. Choose “Use this model” to switch to it.")

        def failed(exc: BaseException) -> None:
            message, fix = error_text(exc)
            self._end_download(name, message + (f" {fix}" if fix else ""))

        EngineOp(self, lambda engine, report: engine.models.pull(name, progress=report, cancel=cancel), lane="download").progress(
            progress
        ).success(finished).failure(failed).run_in_background()

    def _end_download(self, name: str, message: str) -> None:
        self._downloading = None
        self._cancel = None
        self.model.clear_progress(name)
        self.progress.setVisible(False)
        self.notes.setText(message)
        self.reload()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def use_selected(self) -> None:
        row = self._selected()
        if row is None:
            return
        EngineOp(self, lambda engine: engine.models.use(row["name"])).success(lambda _role: self.reload()).run_in_background()
