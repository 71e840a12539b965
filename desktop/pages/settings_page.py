"""Settings, generated from the declaration in resources/settings.json.

One group box per declared group, one editor per visible setting, chosen by
its type (bool -> check box, int/float -> spin box with the declared bounds,
str -> line edit, list -> one entry per line).  A change is saved through
``engine.settings.set`` in the background as soon as the editor is left; an
invalid value shows the setting's error under the group.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
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
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.addWidget(page_header("Settings", "Changes are saved as soon as you leave a field."))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 12, 0)
        groups = setting_groups()
        for group, title in groups.items():
            specs = [s for s in self.specs if s.group == group]
            if not specs:
                continue
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
            for spec in specs:
                editor = self._editor(spec)
                editor.setToolTip(spec.tooltip)
                editor.setObjectName("setting_" + spec.key)
                self.editors[spec.key] = editor
                # Editor and its explanation stacked in one field, so the text wraps at the field's width.
                field = QWidget()
                field_layout = QVBoxLayout(field)
                field_layout.setContentsMargins(0, 0, 0, 6)
                field_layout.setSpacing(2)
                field_layout.addWidget(editor, 0, Qt.AlignmentFlag.AlignLeft)
                if spec.tooltip:
                    hint = QLabel(spec.tooltip)
                    hint.setObjectName("muted")
                    hint.setWordWrap(True)
                    hint.setFixedWidth(520)  # a fixed width gives the wrapped label its true height in the form
                    field_layout.addWidget(hint)
                    # QFormLayout sizes rows from sizeHint, which ignores wrapping: reserve the wrapped height.
                    field.setMinimumHeight(editor.sizeHint().height() + hint.heightForWidth(520) + 10)
                if spec.type == "bool":
                    form.addRow("", field)
                else:
                    label = QLabel(spec.label)
                    label.setToolTip(spec.tooltip)
                    form.addRow(label, field)
            error = QLabel()
            error.setObjectName("warning")
            error.setWordWrap(True)
            error.hide()
            form.addRow(error)
            for spec in specs:
                self._errors[spec.key] = error
            layout.addWidget(box)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

    def _editor(self, spec: SettingSpec) -> QWidget:
        key = spec.key
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
            editor.setFixedSize(420, 110)
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

    def reload(self) -> None:
        def shown(values: dict[str, Any]) -> None:
            self._values = dict(values)
            for key, write in self._writers.items():
                editor = self.editors[key]
                editor.blockSignals(True)
                write(values[key])
                editor.blockSignals(False)
            self.loaded.emit()

        EngineOp(self, lambda engine: engine.settings.as_dict()).success(shown).run_in_background()

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

        EngineOp(self, lambda engine: engine.settings.set(key, value)).success(done).failure(failed).run_in_background()
