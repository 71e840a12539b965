"""Models: installed and available models, download with progress and cancel, choose chat and embedding."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.models.download import DownloadCancelled, hf_endpoint
from desktop.ops import EngineOp, error_html
from desktop.qtmodels import ModelListModel, human_size
from desktop.widgets import muted_label, page_header


class ModelsPage(QWidget):
    """The models table; a download shows its progress, can be cancelled, and says why it failed."""

    loaded = Signal(int)
    download_ended = Signal(str, bool)  # model name, whether it is installed now

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
        # What the last download or switch did: a failure stays here, with its fix, until the next attempt.
        self.outcome = QLabel()
        self.outcome.setObjectName("outcome")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.hide()
        layout.addWidget(self.outcome)
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
        if row is None or self._downloading is not None:
            return
        name = row["name"]
        label = row.get("label") or name
        cancel = threading.Event()
        self._cancel = cancel
        self._downloading = name
        self._clear_outcome()
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)  # busy until the server says how big the file is
        self.progress.setFormat(f"Connecting to {hf_endpoint().split('://', 1)[-1]}…")
        self._update_buttons()

        def progress(done: int, total: int | None) -> None:
            if total:
                self.progress.setRange(0, 1000)
                self.progress.setValue(int(done * 1000 / total))
                self.progress.setFormat(f"{label}: {human_size(done)} of {human_size(total)}")
            else:
                self.progress.setFormat(f"{label}: {human_size(done)}")
            self.model.set_progress(name, done, total)

        def finished(_path) -> None:
            self._end_download(name)
            self._show_outcome(f"{label} is installed. Choose “Use this model” to switch to it.", error=False)
            self.download_ended.emit(name, True)

        def failed(exc: BaseException) -> None:
            self._end_download(name)
            if isinstance(exc, DownloadCancelled):
                self._show_outcome(f"The download of {label} was cancelled. The part already downloaded is kept: "
                                   "choose Download again to resume it.", error=False)
            else:
                self._show_outcome(error_html(exc), error=True)
            self.download_ended.emit(name, False)

        EngineOp(self, lambda engine, report: engine.models.pull(name, progress=report, cancel=cancel), lane="download").progress(
            progress
        ).success(finished).failure(failed).run_in_background()

    def _end_download(self, name: str) -> None:
        self._downloading = None
        self._cancel = None
        self.model.clear_progress(name)
        self.progress.setVisible(False)
        self.reload()

    def _show_outcome(self, text: str, *, error: bool) -> None:
        self.outcome.setProperty("error", error)
        self.outcome.setText(text)
        self.outcome.style().unpolish(self.outcome)
        self.outcome.style().polish(self.outcome)
        self.outcome.show()

    def _clear_outcome(self) -> None:
        self.outcome.clear()
        self.outcome.hide()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.progress.setFormat("Cancelling…")

    def use_selected(self) -> None:
        row = self._selected()
        if row is None:
            return
        self._clear_outcome()
        EngineOp(self, lambda engine: engine.models.use(row["name"])).success(lambda _role: self.reload()).failure(
            lambda exc: self._show_outcome(error_html(exc), error=True)
        ).run_in_background()
