"""Backup & export in the app: back up, recovery code set-up with its check, restore, export, import, cancel."""

from __future__ import annotations

import json

from PySide6.QtTest import QTest

from core.backup.archive import CancelledError
from core.backup.recovery import RecoveryCode
from tests.core.backup_fixtures import fast_kdf  # noqa: F401
from tests.desktop.conftest import wait_idle


def finished_action(qtbot, page, start):
    with qtbot.waitSignal(page.action_finished, timeout=30_000) as blocker:
        start()
    return blocker.args


def test_back_up_now_shows_the_backup_and_the_status_bar_follows(make_app, qtbot):
    app = make_app(samples=True)
    app.window.show_page("backup")
    page = app.window.backup
    wait_idle(qtbot, app)
    assert "None yet" in page.last_label.text()
    assert page.warning.isVisible() and "no backup yet" in page.warning.text()
    assert "no recovery code" in page.recovery_label.text().lower()
    action, info = finished_action(qtbot, page, page.back_up_now)
    assert action == "backup" and info.verified
    wait_idle(qtbot, app)
    assert page.table.rowCount() == 1 and page.table.item(0, 1).text() == "manual"
    assert "just now" in page.last_label.text() and "verified" in page.last_label.text()
    assert not page.warning.isVisible()
    assert not page.progress_box.isVisible() and page.backup_button.isEnabled()
    app.window.status.refresh()
    wait_idle(qtbot, app)
    assert "No recovery code" in app.window.status.backup_label.text()


def test_a_cancelled_backup_leaves_nothing_and_says_so(make_app, qtbot, paths):
    app = make_app(samples=True)
    app.window.show_page("backup")
    page = app.window.backup
    wait_idle(qtbot, app)
    with qtbot.waitSignal(page.action_finished, timeout=30_000) as blocker:
        page.back_up_now()
        assert page.progress_box.isVisible() and not page.backup_button.isEnabled()
        page.cancel()
    assert isinstance(blocker.args[1], CancelledError)
    assert "cancelled" in page.result_label.text()
    assert list(paths.backups_dir.glob("*")) == []


def test_recovery_code_is_saved_only_after_two_groups_are_typed_back(make_app, qtbot, paths, fast_kdf):
    app = make_app()
    app.window.show_page("backup")
    page = app.window.backup
    wait_idle(qtbot, app)
    dialog = page.open_recovery_dialog()
    assert not dialog.next_button.isEnabled()  # not before "I have written it down"
    dialog.written.setChecked(True)
    dialog.next()
    wrong = [g for g in RecoveryCode.generate().groups if g not in dialog.code.groups][:2]
    for edit, text in zip(dialog.answers, wrong):
        QTest.keyClicks(edit, text)
    dialog.next()
    assert dialog.stack.currentIndex() == 1 and "does not match" in dialog.check_error.text()
    assert not paths.recovery_file.exists()
    for edit, index in zip(dialog.answers, dialog.asked):
        edit.clear()
        QTest.keyClicks(edit, " " + dialog.code.groups[index].lower().replace("0", "o"))
    with qtbot.waitSignal(dialog.saved, timeout=30_000):
        dialog.next()
    assert paths.recovery_file.exists()
    dialog.next()  # Done
    wait_idle(qtbot, app)
    assert "is set up" in page.recovery_label.text()
    assert app.engine.backups.recovery().unlock(dialog.code)


def test_cancelling_the_recovery_dialog_saves_nothing(make_app, qtbot, paths):
    app = make_app()
    app.window.show_page("backup")
    dialog = app.window.backup.open_recovery_dialog()
    dialog.written.setChecked(True)
    dialog.next()
    dialog.reject()
    wait_idle(qtbot, app)
    assert not paths.recovery_file.exists()


def test_restore_in_the_app_replaces_the_memories_and_keeps_the_old_ones(make_app, qtbot, fast_kdf):
    app = make_app(samples=True)
    engine = app.engine
    code = RecoveryCode.generate()
    engine.backups.set_up_recovery(code)
    path = str(engine.backups.create().path)
    before = engine.memories.count()
    engine.memories.add("semantic", {"name": "Added later", "summary": "not in the backup"})
    app.window.show_page("backup")
    page = app.window.backup
    wait_idle(qtbot, app)
    action, report = finished_action(qtbot, page, lambda: page.restore(path, code))
    assert action == "restore" and isinstance(report, dict), report
    assert engine.memories.count() == before
    assert engine.memories.search("Added later", semantic=False) == []
    assert "Restored" in page.result_label.text() and "before-restore" in page.result_label.text()
    wait_idle(qtbot, app)
    assert page.table.rowCount() == 2
    app.window.show_page("memories")
    wait_idle(qtbot, app)


def test_a_wrong_code_in_the_app_asks_again(make_app, qtbot, tmp_path, fast_kdf):
    from core.engine import Engine
    from core.models.base import FakeEmbedder
    from core.paths import Paths

    other = Paths.at(tmp_path / "other").ensure()
    with Engine(other, embedder=FakeEmbedder(64)) as engine:
        engine.memories.add("semantic", {"name": "Elsewhere", "summary": "made on another computer"})
        engine.backups.set_up_recovery(RecoveryCode.generate())
        path = str(engine.backups.create().path)
    app = make_app(samples=True)
    page = app.window.backup
    asked = []
    with qtbot.waitSignal(page.action_finished, timeout=30_000):
        page.restore(path, RecoveryCode.generate(), retry=asked.append)
    assert asked and "does not open" in asked[0]
    assert app.engine.memories.search("Elsewhere", semantic=False) == []


def test_export_and_import_from_the_page(make_app, qtbot, tmp_path):
    app = make_app(samples=True)
    page = app.window.backup
    out = tmp_path / "memories.json"
    action, report = finished_action(qtbot, page, lambda: page.export(str(out), fmt="json"))
    assert action == "export" and report["memories"] == app.engine.memories.count()
    data = json.loads(out.read_text())
    assert all("•" in m["fields"]["secret_value"] for m in data["memories"] if m["type"] == "knowledge_vault")
    action, report = finished_action(qtbot, page, lambda: page.import_file(str(out)))
    assert report["added"] == 0 and "already here" in page.result_label.text()
    notes = tmp_path / "notes"
    page.format_box.setCurrentIndex(1)
    page.type_box.setCurrentIndex(page.type_box.findData("semantic"))
    options = page.export_options()
    assert options["fmt"] == "markdown" and options["types"] == ["semantic"]
    finished_action(qtbot, page, lambda: page.export(str(notes), **options))
    assert (notes / "Semantic.md").exists() and not (notes / "Core.md").exists()


def test_first_run_offers_the_recovery_code(make_app, qtbot):
    app = make_app()
    from desktop.first_run import first_run_facts

    app._open_first_run(first_run_facts(app.engine))
    assert app.wizard.recovery_box.isChecked()
    assert app.wizard.choices().recovery_code
    app.wizard.accept()  # Finish
    wait_idle(qtbot, app)
    assert app.window.current_page == "backup"
    dialog = app.window.backup.recovery_dialog
    assert dialog is not None and dialog.isVisible() and dialog.stack.currentIndex() == 0
    dialog.reject()


def test_the_status_bar_backup_warning_opens_the_page(make_app, qtbot):
    from PySide6.QtCore import Qt

    app = make_app()
    app.window.status.refresh()
    wait_idle(qtbot, app)
    label = app.window.status.backup_label
    assert label.text() == "⚠ No recovery code" and "every memory is lost" in label.toolTip()
    qtbot.mouseClick(label, Qt.MouseButton.LeftButton)
    assert app.window.current_page == "backup"
