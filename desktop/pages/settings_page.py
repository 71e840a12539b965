"""Settings, generated from the declaration in resources/settings.json.

One group box per declared group, one editor per visible setting, chosen by
its type (bool -> check box, int/float -> spin box with the declared bounds,
str -> line edit, list -> one entry per line; the chat and embedding models
-> a picker of the installed models).  Labels share one column width on the
whole page so inputs line up; the wheel scrolls the page unless the input
under the pointer has focus.  A change is saved through ``engine.settings.set``
(``engine.models.use`` for a model) in the background as soon as the editor is
left; an invalid value shows the setting's error under the group.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.settings import SettingSpec, declared_settings, setting_groups
from desktop.ops import EngineOp, error_text
from desktop.widgets import page_header


class _ListEdit(QPlainTextEdit):
    """A plain text editor that reports when it loses focus (lists are saved then)."""

    left = Signal()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.left.emit()


# Settings whose value is one of the installed models of a role: a picker, not free text.
MODEL_PICKERS = {"models.chat": "chat", "models.embedding": "embedding"}
HINT_WIDTH = 560


class SettingsPage(QWidget):
    saved = Signal(str, object)
    loaded = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.specs = [s for s in declared_settings() if not s.hidden]
        self.editors: dict[str, QWidget] = {}
        self._readers: dict[str, Callable[[], Any]] = {}
        self._writers: dict[str, Callable[[Any], None]] = {}
        self._values: dict[str, Any] = {}
        self._errors: dict[str, QLabel] = {}
        self.labels: dict[str, QLabel] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.addWidget(page_header("Settings", "Changes are saved as soon as you leave a field."))
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 12, 0)
        # One label column for every group, so inputs line up down the whole page.
        metrics = QFontMetrics(self.font())
        label_width = max(metrics.horizontalAdvance(s.label) for s in self.specs if s.type != "bool") + 24
        groups = setting_groups()
        for group, title in groups.items():
            specs = [s for s in self.specs if s.group == group]
            if not specs:
                continue
            box = QGroupBox(title)
            grid = QGridLayout(box)
            grid.setColumnMinimumWidth(0, label_width)
            grid.setColumnMinimumWidth(1, 300)
            # Extra width goes to the inputs' column (up to the hints' width), then to the right edge,
            # never between the labels and their inputs.
            grid.setColumnStretch(1, 3)
            grid.setColumnStretch(2, 1)
            grid.setHorizontalSpacing(12)
            grid.setVerticalSpacing(2)
            row = 0
            for spec in specs:
                editor = self._editor(spec)
                editor.setToolTip(spec.tooltip)
                editor.setObjectName("setting_" + spec.key)
                self.editors[spec.key] = editor
                if spec.type != "bool":
                    label = QLabel(spec.label)
                    label.setToolTip(spec.tooltip)
                    label.setBuddy(editor)
                    self.labels[spec.key] = label
                    tall = spec.type == "list"
                    grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignLeft | (Qt.AlignmentFlag.AlignTop if tall else Qt.AlignmentFlag.AlignVCenter))
                grid.addWidget(editor, row, 1, Qt.AlignmentFlag.AlignLeft)
                row += 1
                if spec.tooltip:
                    hint = QLabel(spec.tooltip)
                    hint.setObjectName("muted")
                    hint.setWordWrap(True)
                    hint.setMaximumWidth(HINT_WIDTH)
                    grid.addWidget(hint, row, 1)
                    row += 1
                grid.setRowMinimumHeight(row, 10)  # a little air between settings
                row += 1
            error = QLabel()
            error.setObjectName("warning")
            error.setWordWrap(True)
            error.hide()
            grid.addWidget(error, row, 0, 1, 2)
            for spec in specs:
                self._errors[spec.key] = error
            layout.addWidget(box)
        layout.addStretch(1)
        self.scroll.setWidget(body)
        outer.addWidget(self.scroll, 1)

    def eventFilter(self, watched, event) -> bool:
        # The wheel scrolls the page.  A spin box, picker or list under the pointer takes it only
        # once the user has clicked into it: otherwise scrolling past would change settings.
        if event.type() == QEvent.Type.Wheel:
            owner = watched.parent() if isinstance(watched.parent(), QPlainTextEdit) else watched
            if not owner.hasFocus():
                QApplication.sendEvent(self.scroll.verticalScrollBar(), event)
                return True
        return super().eventFilter(watched, event)

    def _guard_wheel(self, editor: QWidget) -> None:
        editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # no focus from the wheel alone
        editor.installEventFilter(self)
        if isinstance(editor, QPlainTextEdit):
            editor.viewport().installEventFilter(self)

    def _editor(self, spec: SettingSpec) -> QWidget:
        editor = self._make_editor(spec)
        if not isinstance(editor, (QCheckBox, QLineEdit)):
            self._guard_wheel(editor)
        return editor

    def _make_editor(self, spec: SettingSpec) -> QWidget:
        key = spec.key
        if key in MODEL_PICKERS:
            editor = QComboBox()
            editor.setMinimumWidth(320)
            editor.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            editor.activated.connect(lambda _i: self._commit(key))
            self._readers[key] = lambda e=editor: e.currentData()
            self._writers[key] = lambda v, e=editor: self._select_model(e, v)
            return editor
        if spec.type == "bool":
            editor = QCheckBox(spec.label)
            editor.toggled.connect(lambda _b: self._commit(key))
            self._readers[key] = editor.isChecked
            self._writers[key] = lambda v, e=editor: e.setChecked(bool(v))
        elif spec.type == "int":
            editor = QSpinBox()
            editor.setRange(int(spec.min if spec.min is not None else -2**31), int(spec.max if spec.max is not None else 2**31 - 1))
            editor.editingFinished.connect(lambda: self._commit(key))
            editor.setMaximumWidth(160)
            self._readers[key] = editor.value
            self._writers[key] = lambda v, e=editor: e.setValue(int(v))
        elif spec.type == "float":
            editor = QDoubleSpinBox()
            editor.setDecimals(2)
            editor.setRange(spec.min if spec.min is not None else -1e9, spec.max if spec.max is not None else 1e9)
            editor.setSingleStep(0.5 if (spec.max or 0) > 5 else 0.01)
            editor.editingFinished.connect(lambda: self._commit(key))
            editor.setMaximumWidth(160)
            self._readers[key] = editor.value
            self._writers[key] = lambda v, e=editor: e.setValue(float(v))
        elif spec.type == "list":
            editor = _ListEdit()
            editor.setFixedSize(420, 118)
            editor.left.connect(lambda: self._commit(key))
            self._readers[key] = lambda e=editor: [line.strip() for line in e.toPlainText().splitlines() if line.strip()]
            self._writers[key] = lambda v, e=editor: e.setPlainText("\n".join(v))
        else:
            editor = QLineEdit()
            editor.setMinimumWidth(320)
            editor.editingFinished.connect(lambda: self._commit(key))
            self._readers[key] = editor.text
            self._writers[key] = lambda v, e=editor: e.setText(str(v))
        return editor

    def activate(self) -> None:
        self.reload()

    @staticmethod
    def _select_model(editor: QComboBox, name: Any) -> None:
        index = editor.findData(name)
        if index < 0:  # configured but not installed (or unknown): still shown, so nothing changes silently
            editor.addItem(f"{name} (not installed)", name)
            index = editor.count() - 1
        editor.setCurrentIndex(index)

    def _fill_model_pickers(self, models: list[dict]) -> None:
        for key, role in MODEL_PICKERS.items():
            editor = self.editors[key]
            editor.blockSignals(True)
            editor.clear()
            for row in models:
                if row.get("role") == role and row.get("installed"):
                    editor.addItem(row.get("label") or row["name"], row["name"])
            editor.blockSignals(False)

    def reload(self) -> None:
        def work(engine):
            models = engine.models.list()["models"] if engine.models is not None else []
            return engine.settings.as_dict(), models

        def shown(result) -> None:
            values, models = result
            self._fill_model_pickers(models)
            self._values = dict(values)
            for key, write in self._writers.items():
                editor = self.editors[key]
                editor.blockSignals(True)
                write(values[key])
                editor.blockSignals(False)
            self.loaded.emit()

        EngineOp(self, work).success(shown).run_in_background()

    def set_value(self, key: str, value: Any) -> None:
        """Put ``value`` in the editor of ``key`` and save it (as a user would)."""
        self._writers[key](value)
        self._commit(key)

    def _commit(self, key: str) -> None:
        value = self._readers[key]()
        if key in self._values and self._values[key] == value:
            return
        error = self._errors[key]

        def done(_none) -> None:
            self._values[key] = value
            error.hide()
            self.saved.emit(key, value)

        def failed(exc: BaseException) -> None:
            message, fix = error_text(exc)
            error.setText(message + (f" {fix}" if fix else ""))
            error.show()

        def save(engine) -> None:
            if key in MODEL_PICKERS and engine.models is not None:
                engine.models.use(value, MODEL_PICKERS[key])  # checks it is installed and swaps the loaded model
            else:
                engine.settings.set(key, value)

        EngineOp(self, save).success(done).failure(failed).run_in_background()
