"""Settings: inputs line up across groups, no gaps under lists, the wheel scrolls the page,
and the chat and embedding models are picked from the installed ones."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox

from tests.desktop.conftest import wait_idle


def _open(app, qtbot):
    page = app.window.settings
    app.window.resize(1280, 800)
    with qtbot.waitSignal(page.loaded, timeout=5_000):
        app.window.show_page("settings")
    qtbot.wait(50)
    return page


def _wheel(widget, steps: int = -1) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_inputs_line_up_across_every_group(make_app, qtbot):
    app = make_app()
    page = _open(app, qtbot)
    body = page.scroll.widget()
    lefts = {key: editor.mapTo(body, QPoint(0, 0)).x() for key, editor in page.editors.items()}
    assert len(set(lefts.values())) == 1, lefts
    label_lefts = {label.mapTo(body, QPoint(0, 0)).x() for label in page.labels.values()}
    assert len(label_lefts) == 1


def test_no_gap_under_list_boxes(make_app, qtbot):
    app = make_app()
    page = _open(app, qtbot)
    body = page.scroll.widget()
    for key in ("privacy.exclude_apps", "privacy.exclude_titles"):
        editor = page.editors[key]
        bottom = editor.mapTo(body, QPoint(0, editor.height())).y()
        below = [w for w in body.findChildren(type(page.labels[key])) if w.objectName() == "muted"
                 and w.text() and w.mapTo(body, QPoint(0, 0)).y() >= bottom - 1]
        nearest = min(w.mapTo(body, QPoint(0, 0)).y() for w in below)
        assert nearest - bottom <= 12, f"{key}: {nearest - bottom} px between the list and its hint"


def test_the_wheel_scrolls_the_page_not_an_unfocused_input(make_app, qtbot):
    app = make_app()
    page = _open(app, qtbot)
    bar = page.scroll.verticalScrollBar()
    bar.setValue(0)
    spin = page.editors["capture.idle_seconds"]
    before = spin.value()
    app.window.settings.setFocus()
    _wheel(spin)
    assert spin.value() == before, "the wheel changed a setting the user never clicked"
    assert bar.value() > 0
    lists = page.editors["privacy.exclude_apps"]
    at = bar.value()
    _wheel(lists.viewport())
    assert bar.value() > at and lists.verticalScrollBar().value() == 0
    # once the user has clicked into it, the wheel is the input's
    app.window.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=5_000)
    _wheel(spin, steps=1)
    assert spin.value() != before


def test_models_are_picked_from_the_installed_ones(make_app, qtbot, monkeypatch):
    import core.models.catalog as catalog

    app = make_app()
    tiny = catalog.CatalogEntry(name="test-tiny-chat", role="chat", file="tiny-chat.gguf", label="Tiny chat")
    missing = catalog.CatalogEntry(name="test-missing-chat", role="chat", file="missing.gguf", label="Missing chat",
                                   repo="org/missing")
    real = catalog.shipped_entries
    monkeypatch.setattr(catalog, "shipped_entries", lambda: [*real(), tiny, missing])
    app.engine.paths.models_dir.mkdir(parents=True, exist_ok=True)
    (app.engine.paths.models_dir / "tiny-chat.gguf").write_bytes(b"GGUF")
    page = _open(app, qtbot)
    picker = page.editors["models.chat"]
    assert isinstance(picker, QComboBox)
    names = [picker.itemData(i) for i in range(picker.count())]
    assert "test-tiny-chat" in names and "test-missing-chat" not in names
    assert picker.currentData() == app.engine.settings.get("models.chat")
    assert isinstance(page.editors["models.embedding"], QComboBox)
    with qtbot.waitSignal(page.saved, timeout=5_000):
        picker.setCurrentIndex(names.index("test-tiny-chat"))
        picker.activated.emit(picker.currentIndex())
    wait_idle(qtbot, app)
    assert app.engine.settings.get("models.chat") == "test-tiny-chat"
    assert not isinstance(page.editors["capture.enabled"], QComboBox) and isinstance(page.editors["capture.enabled"], QCheckBox)
