"""Timeline: the screenshot of a moment opened from elsewhere, live updates, and the Forget button's state."""

from __future__ import annotations

import time

from PySide6.QtCore import QItemSelectionModel

from desktop.sample_data import draw_thumbnail
from tests.desktop.conftest import wait_idle


def _show_timeline(app, qtbot):
    page = app.window.timeline
    with qtbot.waitSignal(page.day_loaded, timeout=5_000):
        app.window.show_page("timeline")
    wait_idle(qtbot, app)
    return page


def test_a_moment_opened_from_quick_recall_shows_its_screenshot(make_app, qtbot):
    app = make_app(samples=True)
    engine = app.engine
    newest = engine.observations.list_between(time.time() - 86400, time.time() + 1)[-1]
    assert engine.observations.thumbnail(newest.id)
    app.window.open_recall_result({"kind": "observation", "id": newest.id})
    page = app.window.timeline
    qtbot.waitUntil(lambda: page.list.currentIndex().isValid(), timeout=5_000)
    wait_idle(qtbot, app)
    assert page.model.row_data(page.list.currentIndex().row())["id"] == newest.id
    qtbot.waitUntil(lambda: not page.preview.pixmap().isNull(), timeout=5_000)
    assert "No screenshot" not in page.preview.text()


def test_a_moment_without_a_screenshot_says_so(make_app, qtbot):
    app = make_app()
    obs_id = app.engine.observations.add(kind="screen", text="nothing to see", app="xterm")
    page = _show_timeline(app, qtbot)
    page.list.setCurrentIndex(page.model.index(page.model.row_of(obs_id)))
    qtbot.waitUntil(lambda: "No screenshot kept" in page.preview.text(), timeout=5_000)


def test_the_list_grows_as_captures_arrive_and_keeps_the_selection(make_app, qtbot):
    app = make_app()
    engine = app.engine
    first = engine.observations.add(kind="screen", text="first frame", app="firefox", thumbnail=draw_thumbnail("firefox", "t", ["a"]))
    page = _show_timeline(app, qtbot)
    assert page.model.rowCount() == 1
    page.list.setCurrentIndex(page.model.index(0))
    engine.observations.add(kind="screen", text="second frame", app="firefox")
    engine.observations.add(kind="screen", text="third frame", app="code")
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=5_000)
    assert page.model.row_data(page.list.currentIndex().row())["id"] == first
    assert "first frame" in page.detail_text.toPlainText()
    assert "3 moments" in page.summary.text()


def test_forget_button_counts_the_selection_and_resets_after_forgetting(make_app, qtbot):
    app = make_app()
    engine = app.engine
    ids = [engine.observations.add(kind="screen", text=f"frame {i}", app="firefox") for i in range(4)]
    page = _show_timeline(app, qtbot)
    assert not page.forget_button.isEnabled()
    page.list.setCurrentIndex(page.model.index(0))  # the current row alone is no selection to forget...
    page.list.selectionModel().clearSelection()
    assert not page.forget_button.isEnabled()
    selection = page.list.selectionModel()
    for row in (1, 2):
        selection.select(page.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    assert page.forget_button.isEnabled() and page.forget_button.text() == "Forget 2 moments…"
    page.confirm = lambda *_a: True
    with qtbot.waitSignal(page.forgotten, timeout=5_000):
        page.forget_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=5_000)
    wait_idle(qtbot, app)
    assert not page.forget_button.isEnabled()
    assert page.forget_button.text() == "Forget selected…"
    assert engine.observations.get_many(ids).keys() == {ids[0], ids[3]}
