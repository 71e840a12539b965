"""Setting up the recovery code (shown once, checked), and asking for it when a restore needs it.

``RecoveryCodeDialog`` walks through three steps: the code, shown once in
large type; a check that it was written down (two of its groups, picked at
random, typed back); saving it (Argon2id runs in the background, about a
second).  Nothing is saved until the check passes, so no code exists that
nobody wrote down.

``CodeEntryDialog`` asks for a code and catches typos (per-group check
characters) before the slow key derivation is tried.
"""

from __future__ import annotations

import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.backup.recovery import GROUP_SIZE, GROUPS, RecoveryCode
from core.errors import InvalidInputError
from desktop.ops import EngineOp, error_text
from desktop.widgets import muted_label


def _mono(widget: QWidget, size: float, *, bold: bool = False) -> None:
    """A monospace font of ``size`` points (through a style sheet: the app's style sheet sets every font size)."""
    widget.setStyleSheet(f"font-family: monospace; font-size: {size}pt;{' font-weight: bold;' if bold else ''}")


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("pageTitle")
    label.setStyleSheet("font-size: 14pt;")
    return label


def _text(html: str) -> QLabel:
    label = QLabel(html)
    label.setWordWrap(True)
    return label


class RecoveryCodeDialog(QDialog):
    """Show a new recovery code, check it was written down, then save it."""

    saved = Signal()

    def __init__(self, parent=None, *, replacing: bool = False, code: RecoveryCode | None = None):
        super().__init__(parent)
        self.setWindowTitle("Recovery code")
        self.setModal(True)
        self.resize(640, 360)
        self.code = code or RecoveryCode.generate()
        self.asked = sorted(random.sample(range(GROUPS), 2))
        self.stack = QStackedWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack, 1)

        # 1. the code
        show = QWidget()
        box = QVBoxLayout(show)
        box.addWidget(_heading("Write down your recovery code"))
        intro = (
            "With this code your backups open on any computer, and Engram can get its key back if this computer's "
            "keyring loses it. <b>It is shown only now.</b> Write it on paper or keep it in a password manager, "
            "away from this computer."
        )
        if replacing:
            intro += " <br><br>It replaces your current code: backups made until now still open with the old one."
        box.addWidget(_text(intro))
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(12)
        for index, group in enumerate(self.code.groups):
            number = QLabel(str(index + 1))
            number.setObjectName("muted")
            number.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value = QLabel(group)
            value.setObjectName(f"group{index + 1}")
            _mono(value, 22, bold=True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)  # no copying to a clipboard manager
            row, column = divmod(index, 4)
            grid.addWidget(number, row, column * 2)
            grid.addWidget(value, row, column * 2 + 1)
        holder = QWidget()
        holder.setObjectName("codeBox")
        holder.setStyleSheet("#codeBox { background: #f3f4f6; border: 1px solid #d1d5db; border-radius: 8px; }")
        holder.setLayout(grid)
        grid.setContentsMargins(18, 14, 18, 14)
        box.addWidget(holder)
        self.written = QCheckBox("I have written the code down")
        box.addWidget(self.written)
        box.addStretch(1)
        self.stack.addWidget(show)

        # 2. the check
        check = QWidget()
        box = QVBoxLayout(check)
        box.addWidget(_heading("Check your copy"))
        box.addWidget(_text(f"From what you wrote down, type group {self.asked[0] + 1} and group {self.asked[1] + 1}."))
        form = QGridLayout()
        self.answers: list[QLineEdit] = []
        for row, index in enumerate(self.asked):
            label = QLabel(f"Group {index + 1}")
            edit = QLineEdit()
            edit.setObjectName(f"answer{row + 1}")
            edit.setMaxLength(GROUP_SIZE + 2)
            _mono(edit, 16)
            edit.setFixedWidth(140)
            form.addWidget(label, row, 0)
            form.addWidget(edit, row, 1)
            self.answers.append(edit)
        form.setColumnStretch(2, 1)
        box.addLayout(form)
        self.check_error = QLabel()
        self.check_error.setObjectName("warning")
        self.check_error.setWordWrap(True)
        box.addWidget(self.check_error)
        box.addStretch(1)
        self.stack.addWidget(check)

        # 3. saving, then done
        done = QWidget()
        box = QVBoxLayout(done)
        self.done_heading = _heading("Saving the recovery code…")
        box.addWidget(self.done_heading)
        self.done_text = _text("Engram is locking its keys with your code (about a second).")
        box.addWidget(self.done_text)
        self.saving = QProgressBar()
        self.saving.setRange(0, 0)
        box.addWidget(self.saving)
        box.addStretch(1)
        self.stack.addWidget(done)

        self.buttons = QDialogButtonBox()
        self.back_button = QPushButton("Back")
        self.next_button = QPushButton("Next")
        self.next_button.setObjectName("primary")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.addButton(self.back_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.next_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        self.cancel_button.clicked.connect(self.reject)
        self.written.toggled.connect(lambda _on: self._update())
        layout.addWidget(self.buttons)
        self._saved = False
        self._update()

    def _update(self) -> None:
        page = self.stack.currentIndex()
        self.back_button.setVisible(page == 1)
        self.next_button.setText({0: "Next", 1: "Save the code", 2: "Done"}[page])
        self.next_button.setEnabled(page != 0 or self.written.isChecked())
        if page == 2:
            self.next_button.setEnabled(self._saved)
            self.cancel_button.setVisible(not self._saved)

    def back(self) -> None:
        self.stack.setCurrentIndex(0)
        self._update()

    def next(self) -> None:
        page = self.stack.currentIndex()
        if page == 0:
            self.stack.setCurrentIndex(1)
            self.answers[0].setFocus()
        elif page == 1:
            if not self.check_answers():
                return
            self.stack.setCurrentIndex(2)
            self.save()
        else:
            self.accept()
        self._update()

    def check_answers(self) -> bool:
        typed = [RecoveryCode.normalise_group(edit.text()) for edit in self.answers]
        wanted = [self.code.groups[i] for i in self.asked]
        if typed == wanted:
            self.check_error.setText("")
            return True
        wrong = [f"group {i + 1}" for i, t, w in zip(self.asked, typed, wanted) if t != w]
        self.check_error.setText(f"That does not match your code ({' and '.join(wrong)}). Look at what you wrote down, "
                                 "or go back to see the code again.")
        return False

    def save(self) -> None:
        code = self.code

        def saved(_recovery) -> None:
            self._saved = True
            self.saving.hide()
            self.done_heading.setText("Your recovery code is set up")
            self.done_text.setText("From now on your backups open with this code on any computer. If this computer's "
                                   "keyring ever loses Engram's key, 'engram recover' gets it back with the code.")
            self._update()
            self.saved.emit()

        def failed(exc: BaseException) -> None:
            message, fix = error_text(exc)
            self.saving.hide()
            self.done_heading.setText("The code was not saved")
            self.done_text.setText(message + (f" {fix}" if fix else ""))
            self.cancel_button.setVisible(True)

        EngineOp(self, lambda engine: engine.backups.set_up_recovery(code), lane="files").success(saved).failure(
            failed).run_in_background()


class CodeEntryDialog(QDialog):
    """Ask for a recovery code; typos are caught here, before the key derivation."""

    def __init__(self, parent=None, *, reason: str = "", error: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Recovery code")
        self.setModal(True)
        self.resize(560, 220)
        self.code: RecoveryCode | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(_text(reason or "Type your recovery code (8 groups of 4 characters)."))
        self.edit = QLineEdit()
        self.edit.setObjectName("codeEntry")
        _mono(self.edit, 13)
        self.edit.setPlaceholderText("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX")
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal)
        layout.addWidget(self.edit)
        self.error = QLabel(error)
        self.error.setObjectName("warning")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        layout.addWidget(muted_label("Case, spaces and dashes do not matter; O is read as 0 and I or L as 1."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(buttons)
        layout.addLayout(row)

    def try_accept(self) -> None:
        try:
            self.code = RecoveryCode.parse(self.edit.text())
        except InvalidInputError as exc:
            self.error.setText(f"{exc.message} {exc.fix or ''}".strip())
            return
        self.accept()
