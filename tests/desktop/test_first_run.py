"""First run: honest about the tray, one width for every step, Cancel leaves first run to do."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QWizard

from desktop.first_run import FirstRunWizard, first_run_facts
from tests.desktop.conftest import wait_idle


def _open_wizard(make_app, qtbot):
    app = make_app(show=False)
    app.start(first_run=True)
    qtbot.waitUntil(lambda: app.wizard is not None and app.wizard.isVisible(), timeout=10_000)
    return app, app.wizard


def _all_text(wizard: QWizard) -> str:
    from PySide6.QtWidgets import QAbstractButton, QLabel

    parts = []
    for page_id in wizard.pageIds():
        page = wizard.page(page_id)
        parts += [page.title(), page.subTitle()]
        parts += [w.text() for w in page.findChildren(QLabel) + page.findChildren(QAbstractButton) if w.isVisibleTo(page)]
    return re.sub(r"<code>.*?</code>", "", " ".join(parts))  # paths (the test's own name holds "tray")


def test_cancel_does_not_mark_first_run_done(make_app, qtbot):
    app, wizard = _open_wizard(make_app, qtbot)
    wizard.capture_box.setChecked(True)
    with qtbot.waitSignal(app.first_run_finished, timeout=5_000):
        wizard.reject()
    wait_idle(qtbot, app)
    assert app.engine.settings.get("app.first_run_done") is False
    assert app.engine.settings.get("capture.enabled") is False  # nothing agreed to


def test_finishing_marks_first_run_done_and_applies_the_choice(make_app, qtbot):
    app, wizard = _open_wizard(make_app, qtbot)
    wizard.capture_box.setChecked(False)
    with qtbot.waitSignal(app.first_run_finished, timeout=5_000):
        wizard.accept()
    assert app.engine.settings.get("app.first_run_done") is True


def test_without_a_tray_the_wizard_never_mentions_one(make_app, qtbot):
    app, wizard = _open_wizard(make_app, qtbot)
    assert not app.tray.available  # Xvfb without a tray host
    text = _all_text(wizard)
    assert "tray" not in text.lower(), text
    assert "Ctrl+K" in text
    wizard.reject()


def test_with_a_tray_it_explains_the_tray(make_app, qtbot):
    app = make_app(show=False)
    facts = dict(first_run_facts(app.engine), tray=True)
    wizard = FirstRunWizard(facts)
    assert "tray" in _all_text(wizard).lower()
    wizard.deleteLater()


def test_every_step_has_the_same_width(make_app, qtbot):
    app = make_app(show=False)
    facts = first_run_facts(app.engine)
    facts["recommended"] = {"name": "qwen2.5-1.5b-instruct-q4_k_m", "downloadable": True, "size": 1117320736,
                            "label": "A model with a very long name that would otherwise widen the whole wizard window (Q4_K_M, 32k context)"}
    wizard = FirstRunWizard(facts)
    wizard.show()
    qtbot.waitExposed(wizard)
    widths = []
    for _ in range(len(wizard.pageIds())):
        qtbot.wait(30)
        widths.append(wizard.width())
        wizard.next()
    assert len(set(widths)) == 1, widths
    wizard.close()
    wizard.deleteLater()


def test_the_window_comes_back_where_it_was(paths, qapp, qtbot):
    from core.engine import Engine
    from core.models.base import FakeChatModel, FakeEmbedder
    from desktop.app import EngramApp

    def started():
        engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=FakeChatModel([]))
        app = EngramApp(engine, start_engine=False)
        app.start(first_run=False)
        qtbot.waitExposed(app.window)
        wait_idle(qtbot, app)
        return app, engine

    app, engine = started()
    try:
        app.window.resize(1010, 650)
        app.window.move(60, 40)
        qtbot.waitUntil(lambda: app.window.width() == 1010, timeout=3_000)
    finally:
        app.close()
        engine.close()
    assert "app.window_geometry" in paths.config_file.read_text()  # in Engram's own 0600 settings, not a QSettings file
    again, engine = started()
    try:
        assert (again.window.width(), again.window.height()) == (1010, 650)
    finally:
        again.close()
        engine.close()
