"""Memories: one view per type, with search, filters, detail, edit, delete and pin.

Knowledge-vault values are masked everywhere; "Reveal" fetches the value in the
background, shows it, and masks it again after ``REVEAL_SECONDS``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable

from PySide6.QtCore import QDateTime, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.store.types import MEMORY_TYPES, TypeSpec
from desktop.ops import EngineOp
from desktop.qtmodels import MemoryTableModel, TYPE_LABELS, friendly_time, memory_row, parse_time
from desktop.widgets import muted_label, page_header

REVEAL_SECONDS = 8
LIST_LIMIT = 500
LONG_FIELDS = {"value", "details", "summary", "content_excerpt", "steps"}


def ask_confirmation(parent: QWidget, title: str, text: str, action: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Cancel, parent)
    confirm = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is confirm


class MemoryEditDialog(QDialog):
    """An edit form generated from the memory type's declared fields."""

    def __init__(self, spec: TypeSpec, data: dict, parent=None):
        super().__init__(parent)
        self.spec = spec
        self.setWindowTitle(f"Edit {spec.label.lower()} memory")
        self.resize(520, 420)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.editors: dict[str, Callable[[], Any]] = {}
        self.original: dict[str, Any] = {}
        for field in spec.fields:
            value = data.get(field.name)
            if field.name == "secret_value":
                editor = QLineEdit()
                editor.setEchoMode(QLineEdit.EchoMode.Password)
                editor.setPlaceholderText("Leave empty to keep the current value")
                self.editors[field.name] = lambda e=editor: e.text() or None
                form.addRow(field.label or field.name, editor)
                continue
            if field.kind == "time":
                editor = QDateTimeEdit()
                editor.setCalendarPopup(True)
                editor.setDisplayFormat("yyyy-MM-dd HH:mm")
                when = parse_time(value)
                if when is None:
                    editor.setSpecialValueText("—")
                    editor.setDateTime(editor.minimumDateTime())
                else:
                    editor.setDateTime(QDateTime.fromSecsSinceEpoch(int(when.timestamp())))
                self.editors[field.name] = lambda e=editor: None if e.dateTime() == e.minimumDateTime() else datetime.fromtimestamp(e.dateTime().toSecsSinceEpoch()).astimezone().isoformat()
                self.original[field.name] = self.editors[field.name]()
            elif field.kind == "int":
                editor = QSpinBox()
                editor.setRange(1, 1_000_000)
                editor.setValue(int(value or field.default or 1))
                self.editors[field.name] = editor.value
                self.original[field.name] = editor.value()
            elif field.kind == "choice":
                editor = QComboBox()
                editor.addItems(list(field.choices))
                editor.setCurrentText(str(value or field.default or field.choices[0]))
                self.editors[field.name] = editor.currentText
                self.original[field.name] = editor.currentText()
            elif field.kind == "list" or field.name in LONG_FIELDS:
                editor = QPlainTextEdit()
                text = "\n".join(value) if isinstance(value, list) else str(value or "")
                editor.setPlainText(text)
                editor.setMinimumHeight(70)
                if field.kind == "list":
                    editor.setPlaceholderText("One step per line")
                    self.editors[field.name] = lambda e=editor: [s for s in e.toPlainText().splitlines() if s.strip()]
                else:
                    self.editors[field.name] = lambda e=editor: e.toPlainText()
                self.original[field.name] = self.editors[field.name]()
            else:
                editor = QLineEdit(str(value or ""))
                self.editors[field.name] = editor.text
                self.original[field.name] = editor.text()
            editor.setObjectName(f"edit_{field.name}")
            form.addRow((field.label or field.name) + (" *" if field.required else ""), editor)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def changes(self) -> dict[str, Any]:
        """Only the fields the user changed (an untouched vault value is kept)."""
        out = {}
        for name, read in self.editors.items():
            value = read()
            if name == "secret_value":
                if value:
                    out[name] = value
                continue
            if value != self.original.get(name):
                out[name] = value
        return out


class MemoriesPage(QWidget):
    """The memory browser."""

    rows_loaded = Signal(str, int)  # type, number of rows
    memory_changed = Signal(int)
    memory_deleted = Signal(int)
    observation_opened = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.types = list(MEMORY_TYPES)
        self.current_type = self.types[0]
        self.current: dict | None = None
        self.confirm: Callable[[QWidget, str, str, str], bool] = ask_confirmation
        self._load_generation = 0
        self._revealed_id: int | None = None
        self._pending_select: int | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.addWidget(page_header("Memories", "Everything Engram remembers, by kind. Edit or delete anything; pinned memories are never archived."))
        self.tabs = QTabBar()
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        for name in self.types:
            self.tabs.addTab(TYPE_LABELS[name])
        self.tabs.currentChanged.connect(lambda i: self.show_type(self.types[i]))
        layout.addWidget(self.tabs)
        self.type_description = muted_label()
        layout.addWidget(self.type_description)

        filters = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search this kind of memory…")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.pinned_only = QCheckBox("Pinned only")
        self.pinned_only.toggled.connect(lambda _b: self.reload())
        self.with_archived = QCheckBox("Include archived")
        self.with_archived.toggled.connect(lambda _b: self.reload())
        self.count_label = muted_label()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.pinned_only)
        filters.addWidget(self.with_archived)
        filters.addWidget(self.count_label)
        layout.addLayout(filters)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter = splitter
        self.models = {name: MemoryTableModel(name, self) for name in self.types}
        self.table = QTableView()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.installEventFilter(self)  # the Delete key deletes the selection
        self.table.setModel(self.models[self.current_type])
        self._configure_columns()
        splitter.addWidget(self.table)

        self.detail = QFrame()
        self.detail.setMinimumWidth(320)
        detail_layout = QVBoxLayout(self.detail)
        detail_layout.setContentsMargins(12, 0, 0, 0)
        self.detail_title = QLabel()
        self.detail_title.setWordWrap(True)
        self.detail_title.setStyleSheet("font-size: 13pt; font-weight: bold;")
        detail_layout.addWidget(self.detail_title)
        self.detail_meta = muted_label()
        detail_layout.addWidget(self.detail_meta)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # The detail wraps to the pane's width: a horizontal scrollbar hid Summary and "Seen in".
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.detail_scroll = scroll
        self.fields_box = QWidget()
        self.fields_box.setMinimumWidth(1)  # never wider than the pane, whatever a field holds
        self.fields_form = QFormLayout(self.fields_box)
        self.fields_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.fields_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        scroll.setWidget(self.fields_box)
        detail_layout.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_current)
        self.pin_button = QPushButton("Pin")
        self.pin_button.clicked.connect(self.toggle_pin)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("danger")
        self.delete_button.setToolTip("Delete the selected memories (Delete key)")
        self.delete_button.clicked.connect(self.delete_selected)
        for button in (self.edit_button, self.pin_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        detail_layout.addLayout(buttons)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([620, 380])
        layout.addWidget(splitter, 1)

        self.secret_label: QLineEdit | None = None
        self.reveal_button: QPushButton | None = None
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.timeout.connect(self._mask_again)
        self._connect_selection()
        self.show_detail(None)
        self.type_description.setText(MEMORY_TYPES[self.current_type].description.replace(" -- ", " — "))

    def release_memory(self) -> None:
        """Forget the rows of the kinds not on screen; switching to one loads it again."""
        for name, model in self.models.items():
            if name != self.current_type and model.rowCount():
                model.set_rows([])

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table and event.type() == QEvent.Type.KeyPress and event.matches(QKeySequence.StandardKey.Delete):
            self.delete_selected()
            return True
        return super().eventFilter(watched, event)

    def _connect_selection(self) -> None:
        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._row_changed)
        selection.selectionChanged.connect(lambda *_a: self._update_buttons())
        self.table.model().modelReset.connect(self._update_buttons)
        self.table.model().rowsRemoved.connect(lambda *_a: self._update_buttons())

    def selected_rows(self) -> list[dict]:
        """The memories the user selected (never a row picked for them)."""
        model = self.models[self.current_type]
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [data for data in (model.row_data(r) for r in rows) if data is not None]

    def _update_buttons(self) -> None:
        selected = self.selected_rows()
        single = len(selected) == 1 and self.current is not None and selected[0]["id"] == self.current["id"]
        self.edit_button.setEnabled(single)
        self.pin_button.setEnabled(single)
        self.delete_button.setEnabled(bool(selected))
        self.delete_button.setText(f"Delete {len(selected)}…" if len(selected) > 1 else "Delete…")

    def _configure_columns(self) -> None:
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(0, 28)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(1, 200)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)

    # -- loading ------------------------------------------------------------------------

    def activate(self) -> None:
        self.reload()

    def show_type(self, memory_type: str) -> None:
        if memory_type != self.current_type:
            self.current_type = memory_type
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(self.types.index(memory_type))
            self.tabs.blockSignals(False)
            self.table.setModel(self.models[memory_type])
            self._configure_columns()
            self._connect_selection()
            self.type_description.setText(MEMORY_TYPES[memory_type].description.replace(" -- ", " — "))
            self.show_detail(None)
        self.reload()

    def reload(self) -> None:
        memory_type = self.current_type
        query = self.search.text().strip()
        pinned_only = self.pinned_only.isChecked()
        archived = self.with_archived.isChecked()
        self._load_generation += 1
        generation = self._load_generation

        def work(engine):
            if query:
                memories = [r.memory for r in engine.memories.search(query, types=[memory_type], limit=200, include_archived=archived, for_reader=False)]
            else:
                memories = engine.memories.list(memory_type, limit=LIST_LIMIT, include_archived=archived)
            if pinned_only:
                memories = [m for m in memories if m.pinned]
            return [memory_row(m) for m in memories], engine.memories.count(memory_type, include_archived=archived)

        def loaded(result) -> None:
            if generation != self._load_generation:
                return
            rows, total = result
            self.models[memory_type].set_rows(rows)
            shown = len(rows)
            self.count_label.setText(f"{shown} shown" if query or pinned_only else f"{total} memor{'y' if total == 1 else 'ies'}")
            if self._pending_select is not None:
                self._select(self._pending_select)
            elif self.current is not None and self.models[memory_type].row_of(self.current["id"]) >= 0:
                self._select(self.current["id"])
            else:
                # Nothing is picked for the user: Delete must never act on a row they did not choose.
                self.show_detail(None)
            self.rows_loaded.emit(memory_type, shown)

        EngineOp(self, work).success(loaded).run_in_background()

    def open_memory(self, memory_id: int) -> None:
        """Show one memory (from quick recall or a chat citation), switching to its type."""

        def shown(row: dict) -> None:
            self._pending_select = row["id"]
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.show_detail(row)
            self.show_type(row["type"])

        EngineOp(self, lambda engine: memory_row(engine.memories.get(memory_id))).success(shown).run_in_background()

    def _select(self, memory_id: int) -> None:
        self._pending_select = None
        row = self.models[self.current_type].row_of(memory_id)
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.models[self.current_type].index(row, 0))

    def _row_changed(self, current, _previous) -> None:
        self.show_detail(self.models[self.current_type].row_data(current.row()) if current.isValid() else None)

    # -- detail -------------------------------------------------------------------------

    def show_detail(self, data: dict | None) -> None:
        self.current = data
        self._mask_again()
        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)
        self.secret_label = None
        self.reveal_button = None
        self._update_buttons()
        if data is None:
            self.detail_title.setText("")
            self.detail_meta.setText("Select a memory to see it here.")
            return
        spec = MEMORY_TYPES[data["type"]]
        self.detail_title.setText(("★ " if data.get("pinned") else "") + (data.get("title") or "(untitled)"))
        meta = [spec.label, f"added {friendly_time(data.get('created_at'))}"]
        if data.get("updated_at") != data.get("created_at"):
            meta.append(f"changed {friendly_time(data.get('updated_at'))}")
        if data.get("archived"):
            meta.append("archived")
        self.detail_meta.setText(" · ".join(meta))
        for field in spec.fields:
            value = data.get(field.name)
            if field.name == "secret_value":
                # A read-only line: a long value scrolls inside it and never pushes Reveal/Hide out of view.
                self.secret_label = QLineEdit(str(value or ""))
                self.secret_label.setObjectName("secretValue")
                self.secret_label.setReadOnly(True)
                self.secret_label.setFrame(False)
                self.secret_label.setMinimumWidth(60)
                self.reveal_button = QPushButton("Reveal")
                self.reveal_button.setToolTip(f"Shows the value for {REVEAL_SECONDS} seconds")
                self.reveal_button.clicked.connect(self.reveal)
                row = QWidget()
                row_layout = QHBoxLayout(row)
                row_layout.setContentsMargins(0, 0, 0, 0)
                row_layout.addWidget(self.secret_label, 1)
                row_layout.addWidget(self.reveal_button)
                self.fields_form.addRow(field.label + ":", row)
                continue
            if value in (None, "", []):
                continue
            if field.kind == "time":
                text = friendly_time(value)
            elif isinstance(value, list):
                text = "\n".join(f"{i}. {step}" for i, step in enumerate(value, 1))
            else:
                text = str(value)
            label = QLabel(breakable(text))
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields_form.addRow((field.label or field.name) + ":", label)
        if data.get("sources"):
            shown = data["sources"][:10]
            links = ", ".join(f'<a href="{s}">moment {s}</a>' for s in shown)
            if len(data["sources"]) > len(shown):
                links += f" and {len(data['sources']) - len(shown)} more"
            sources = QLabel(links)
            sources.setWordWrap(True)
            sources.linkActivated.connect(lambda href: self.observation_opened.emit(int(href)))
            self.fields_form.addRow("Seen in:", sources)
        self.pin_button.setText("Unpin" if data.get("pinned") else "Pin")

    def reveal(self) -> None:
        data = self.current
        if data is None or data["type"] != "knowledge_vault":
            return
        memory_id = data["id"]

        def shown(secret: str) -> None:
            if self.current is None or self.current["id"] != memory_id or self.secret_label is None:
                return
            self.secret_label.setText(secret)
            self._revealed_id = memory_id
            if self.reveal_button is not None:
                self.reveal_button.setText("Hide")
                self.reveal_button.clicked.disconnect()
                self.reveal_button.clicked.connect(self._mask_again)
            self._hide_timer.start(REVEAL_SECONDS * 1000)

        EngineOp(self, lambda engine: engine.memories.get(memory_id).to_dict(reveal=True)["secret_value"]).success(shown).run_in_background()

    def _mask_again(self) -> None:
        self._hide_timer.stop()
        if self._revealed_id is None:
            return
        self._revealed_id = None
        if self.secret_label is not None and self.current is not None:
            self.secret_label.setText(str(self.current.get("secret_value") or ""))
        if self.reveal_button is not None:
            self.reveal_button.setText("Reveal")
            self.reveal_button.clicked.disconnect()
            self.reveal_button.clicked.connect(self.reveal)

    @property
    def revealed(self) -> bool:
        return self._revealed_id is not None

    # -- changing -----------------------------------------------------------------------

    def edit_current(self) -> None:
        if self.current is None:
            return
        dialog = MemoryEditDialog(MEMORY_TYPES[self.current["type"]], self.current, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            changes = dialog.changes()
            if changes:
                self.save_changes(self.current["id"], changes)

    def save_changes(self, memory_id: int, changes: dict) -> None:
        def saved(row: dict) -> None:
            self.models[row["type"]].replace(row)
            if self.current is not None and self.current["id"] == row["id"]:
                self.show_detail(row)
            self.memory_changed.emit(row["id"])

        def save(engine) -> dict:
            memory, _vault = engine.memories.update_from_user(memory_id, changes, reason="edited in the app")
            return memory_row(memory)

        EngineOp(self, save).success(
            saved
        ).run_in_background()

    def toggle_pin(self) -> None:
        if self.current is not None:
            self.save_changes(self.current["id"], {"pinned": not self.current.get("pinned")})

    def delete_selected(self) -> None:
        """Delete the memories the user selected, after asking; never a row the page picked."""
        chosen = self.selected_rows()
        if not chosen:
            return
        forgotten = "its words leave the history and the search indexes" if len(chosen) == 1 else \
            "their words leave the history and the search indexes"
        if len(chosen) == 1:
            question = f"Delete “{chosen[0].get('title') or 'this memory'}”? It is forgotten for good: {forgotten}."
        else:
            question = f"Delete these {len(chosen)} memories? They are forgotten for good: {forgotten}."
        if not self.confirm(self, "Delete memory" if len(chosen) == 1 else "Delete memories", question, "Delete"):
            return
        ids = [row["id"] for row in chosen]
        memory_type = chosen[0]["type"]

        def work(engine) -> list[int]:
            # A user's delete forgets: the history keeps a tombstone, the indexes and the WAL are rewritten.
            for memory_id in ids:
                engine.forgetting.forget_memory(memory_id)
            return ids

        def deleted(gone: list[int]) -> None:
            for memory_id in gone:
                self.models[memory_type].remove(memory_id)
                if self.current is not None and self.current["id"] == memory_id:
                    self.show_detail(None)
                self.memory_deleted.emit(memory_id)

        EngineOp(self, work).success(deleted).run_in_background()


def breakable(text: str, longest: int = 40) -> str:
    """``text`` with a zero-width space inside words longer than ``longest`` (paths, URLs), so a label can wrap them."""
    def split(word: str) -> str:
        if len(word) <= longest:
            return word
        return re.sub(r"([/\\._\-?&=])", "\\1\u200b", word)

    return " ".join(split(word) for word in text.split(" "))
