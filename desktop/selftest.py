"""``engram app --selftest DIR``: open every part of the app and save a PNG of each.

Runs against a fresh temporary ENGRAM_HOME (the user's data is never opened)
with sample memories and observations, so the screenshots can be reviewed on
machines without a person at the screen.

To stay fast and independent of model files, the self-test injects two
stand-ins, and only here:

* ``FakeEmbedder`` (core.models.base) for search by meaning, and
* a canned chat model (``FakeChatModel`` with a scripted reply) for the Chat page.

Both are labelled "self-test" in the app so nobody mistakes the canned answer
for a real model's output.
"""

from __future__ import annotations

import logging
import os
import shutil

import tempfile
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

CANNED_ANSWER = (
    "**Ada** is your sister; she lives in Porto and works as a nurse [2].\n\n"
    "- You called her about the *Porto trip* [3].\n- Her birthday is on 12 March [2]."
)


def _canned_reply(messages, schema):
    # The self-test's stand-in for a chat model: a fixed answer citing the first two memories.
    return CANNED_ANSWER


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def _settle(runner, seconds: float = 0.3) -> None:
    """Let background ops finish and the window repaint."""
    _wait(lambda: runner.pending == 0, 15.0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()
        time.sleep(0.01)
    _wait(lambda: runner.pending == 0, 15.0)


def run_selftest(out_dir: str) -> int:
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="engram-selftest-"))
    os.environ["ENGRAM_HOME"] = str(home)
    os.environ["ENGRAM_KEYRING"] = "file"  # never touch the user's keyring from a self-test
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        return _run(out, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run(out: Path, home: Path) -> int:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QPainter, QPixmap
    from PySide6.QtTest import QTest

    from core.engine import Engine
    from core.models.base import FakeChatModel, FakeEmbedder
    from core.paths import Paths
    from desktop.app import EngramApp, make_qt_app
    from desktop.first_run import FirstRunWizard, first_run_facts
    from desktop.icons import STATE_LABELS, TRAY_STATES, mark_pixmap
    from desktop.sample_data import add_sample_data

    qt = make_qt_app()
    engine = Engine(
        Paths.from_env(),
        embedder=FakeEmbedder(64, name="self-test embedder"),
        chat_model=FakeChatModel(_canned_reply, name="self-test canned answers"),
    )
    saved: list[str] = []

    def save(name: str, pixmap: QPixmap) -> None:
        path = out / f"{name}.png"
        if not pixmap.save(str(path)):
            raise RuntimeError(f"could not save {path}")
        saved.append(path.name)

    try:
        counts = add_sample_data(engine)
        engram = EngramApp(engine, start_engine=False)
        window = engram.window
        window.resize(1280, 800)
        engram.start(first_run=False)
        runner = engram.runner
        _settle(runner)

        # First run, as a new user sees it.
        facts = first_run_facts(engine)
        wizard = FirstRunWizard(facts, window)
        wizard.show()
        for page in range(5):
            _settle(runner, 0.2)
            save(f"first-run-{page + 1}", wizard.grab())
            wizard.next()
        wizard.close()

        # Chat with one answered question.
        window.show_page("chat")
        window.chat.send("Who is Ada?")
        _wait(lambda: window.chat._stop is None, 20)
        _settle(runner)
        save("chat", window.grab())

        # Memories, with one row chosen as a user would (the page never picks one itself).
        window.show_page("memories")
        _settle(runner)
        window.memories.show_type("semantic")
        _settle(runner)
        window.memories.table.selectRow(0)
        _settle(runner)
        save("memories", window.grab())
        window.memories.show_type("knowledge_vault")
        _settle(runner)
        window.memories.table.selectRow(0)
        _settle(runner)
        save("memories-vault", window.grab())

        window.show_page("timeline")
        _settle(runner)
        timeline = window.timeline
        if timeline.model.rowCount():
            timeline.list.setCurrentIndex(timeline.model.index(min(3, timeline.model.rowCount() - 1)))
        _settle(runner, 0.5)
        timeline._selection_changed()
        _settle(runner)
        save("timeline", window.grab())

        for name in ("activity", "models", "settings"):
            window.show_page(name)
            _settle(runner, 0.4)
            save(name, window.grab())

        _backup_screens(window, runner, save)
        # A download that cannot reach its server: the Models page says why and what to do.
        os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"  # nothing listens there; nothing leaves this computer
        window.show_page("models")
        _settle(runner, 0.3)
        models = window.models
        for row in range(models.model.rowCount()):
            data = models.model.row_data(row) or {}
            if data.get("downloadable") and not data.get("installed"):
                models.table.selectRow(row)
                models.download_selected()
                _wait(lambda: models._downloading is None, 30)
                break
        _settle(runner, 0.4)
        save("models-download-failed", window.grab())

        # Quick recall with a typed query.
        engram.show_quick_recall()
        QTest.keyClicks(engram.recall.input, "porto")
        _wait(lambda: engram.recall.searched_text == "porto", 10)
        _settle(runner)
        save("quick-recall", engram.recall.grab())
        engram.recall.hide()

        # The tray menu, and the tray icon in each state.
        menu = engram.tray.menu
        menu.popup(window.mapToGlobal(QPoint(200, 120)))
        _settle(runner, 0.3)
        save("tray-menu", menu.grab())
        menu.hide()
        strip = QPixmap(len(TRAY_STATES) * 150, 110)
        strip.fill(QColor("#e5e7eb"))
        painter = QPainter(strip)
        for index, state in enumerate(TRAY_STATES):
            painter.drawPixmap(index * 150 + 43, 10, mark_pixmap(64, state))
            painter.drawText(index * 150, 80, 150, 24, 0x0084, STATE_LABELS[state])  # AlignHCenter | AlignVCenter
        painter.end()
        save("tray-icons", strip)

        engram.close()
        print(f"selftest: saved {len(saved)} screenshots to {out} ({counts['memories']} memories, {counts['observations']} observations)")
        for name in saved:
            print(f"  {name}")
        return 0
    finally:
        engine.close()
        qt.processEvents()


def _backup_screens(window, runner, save) -> None:
    """Backup & export before and after a backup, the recovery-code steps, and the code prompt of a restore."""
    from PySide6.QtTest import QTest

    from core.backup.recovery import RecoveryCode
    from desktop.recovery_dialog import CodeEntryDialog

    window.show_page("backup")
    _settle(runner, 0.4)
    save("backup-empty", window.grab())
    page = window.backup
    finished: list = []
    page.action_finished.connect(lambda action, result: finished.append((action, result)))
    page.back_up_now()
    _wait(lambda: bool(finished), 30)
    _settle(runner, 0.4)
    save("backup", window.grab())

    dialog = page.open_recovery_dialog()
    _settle(runner, 0.3)
    save("recovery-code", dialog.grab())
    dialog.written.setChecked(True)
    dialog.next()
    for edit, index in zip(dialog.answers, dialog.asked):
        QTest.keyClicks(edit, dialog.code.groups[index].lower())
    _settle(runner, 0.2)
    save("recovery-check", dialog.grab())
    dialog.next()
    _wait(lambda: dialog._saved, 30)
    _settle(runner, 0.3)
    save("recovery-saved", dialog.grab())
    dialog.accept()
    _settle(runner, 0.4)

    entry = CodeEntryDialog(window, reason="This backup opens with your recovery code (the one that was current on "
                            "2026-05-02). Type it to restore.")
    typo = RecoveryCode.generate().formatted()
    QTest.keyClicks(entry.edit, typo[:10] + ("0" if typo[10] != "0" else "1") + typo[11:])
    entry.try_accept()
    entry.show()
    _settle(runner, 0.3)
    save("restore-code", entry.grab())
    entry.close()
