"""Memories: Delete acts only on what the user selected (one or many, button or Delete key), rows read as prose,
and the detail pane wraps instead of scrolling sideways, with Hide always in view after Reveal.  A core block
the user edited here is what absorb leaves alone and what the page keeps showing."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop.pages.memories import MemoryEditDialog
from tests.desktop.conftest import wait_idle


def _open(app, qtbot, memory_type: str):
    page = app.window.memories
    app.window.show_page("memories")
    with qtbot.waitSignal(page.rows_loaded, timeout=5_000):
        page.show_type(memory_type)
    wait_idle(qtbot, app)
    return page


def _row(page, memory_type, title):
    model = page.models[memory_type]
    return next(r for r in range(model.rowCount()) if model.row_data(r)["title"] == title)


def test_nothing_is_picked_for_the_user_and_delete_is_disabled(make_app, qtbot):
    app = make_app(samples=True)
    page = _open(app, qtbot, "semantic")
    assert page.models["semantic"].rowCount() == 2
    assert page.selected_rows() == []
    assert not page.delete_button.isEnabled()
    asked = []
    page.confirm = lambda *a: asked.append(a) or True
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    page.delete_selected()
    wait_idle(qtbot, app)
    assert asked == [] and page.models["semantic"].rowCount() == 2


def test_several_memories_are_deleted_with_the_delete_key(make_app, qtbot):
    app = make_app(samples=True)
    engine = app.engine
    for name in ("Carol", "Dan", "Eve"):
        engine.memories.add("semantic", {"name": name, "summary": f"{name} is a colleague."})
    page = _open(app, qtbot, "semantic")
    selection = page.table.selectionModel()
    chosen = [_row(page, "semantic", "Carol"), _row(page, "semantic", "Eve")]
    for row in chosen:
        selection.select(page.models["semantic"].index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    assert page.delete_button.isEnabled() and page.delete_button.text() == "Delete 2…"
    assert not page.edit_button.isEnabled()  # edit and pin are for one memory
    asked = []
    page.confirm = lambda _parent, _title, text, _action: asked.append(text) or True
    page.table.setFocus()
    with qtbot.waitSignal(page.memory_deleted, timeout=5_000):
        qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    wait_idle(qtbot, app)
    assert asked and "2 memories" in asked[0]
    titles = {page.models["semantic"].row_data(r)["title"] for r in range(page.models["semantic"].rowCount())}
    assert titles == {"Ada Lovelace", "Project Atlas", "Dan"}
    assert not page.delete_button.isEnabled()


def test_what_it_says_reads_as_prose(make_app, qtbot):
    app = make_app(samples=True)
    page = _open(app, qtbot, "semantic")
    model = page.models["semantic"]
    says = model.data(model.index(_row(page, "semantic", "Ada Lovelace"), 2))
    assert says == "Ada is my sister; she lives in Porto and works as a nurse. Birthday 12 March. Likes hiking."
    page = _open(app, qtbot, "procedural")
    says = page.models["procedural"].row_data(0)["says"]
    assert "|" not in says and says.startswith("1. Bump the version in package.json. 2. Run npm run build.")


def test_the_detail_wraps_instead_of_scrolling_sideways(make_app, qtbot):
    app = make_app(samples=True)
    engine = app.engine
    ids = engine.observations.add_many([dict(kind="screen", text=f"frame {i}", app="firefox") for i in range(14)])
    engine.memories.add("resource", {
        "title": "Quarterly report", "resource_type": "document",
        "location": "/home/sam/Documents/finance/quarterly-reports/2026/q3-final-reviewed-by-legal-and-finance.pdf",
        "summary": "The quarterly report with revenue, costs and the hiring plan for the next two quarters, reviewed by legal.",
    }, sources=ids)
    page = _open(app, qtbot, "resource")
    page.splitter.setSizes([760, 330])
    page.table.selectRow(_row(page, "resource", "Quarterly report"))
    wait_idle(qtbot, app)
    qtbot.wait(50)
    scroll = page.detail_scroll
    assert not scroll.horizontalScrollBar().isVisible()
    assert page.fields_box.width() <= scroll.viewport().width()
    labels = [page.fields_form.itemAt(r, page.fields_form.ItemRole.LabelRole).widget().text()
              for r in range(page.fields_form.rowCount()) if page.fields_form.itemAt(r, page.fields_form.ItemRole.LabelRole)]
    assert "Summary:" in labels and "Seen in:" in labels
    for row in range(page.fields_form.rowCount()):
        item = page.fields_form.itemAt(row, page.fields_form.ItemRole.FieldRole)
        if item and item.widget():
            field = item.widget()
            right = field.mapTo(page.fields_box, QPoint(field.width(), 0)).x()
            assert right <= scroll.viewport().width() + 1, field.text()


def test_hide_stays_in_view_after_reveal(make_app, qtbot):
    app = make_app(samples=True)
    app.engine.memories.add("knowledge_vault", {"entry_type": "api key", "caption": "Deploy token",
                                                "secret_value": "ghp_" + "x7Q2" * 20})
    page = _open(app, qtbot, "knowledge_vault")
    page.splitter.setSizes([760, 330])
    page.table.selectRow(_row(page, "knowledge_vault", "Deploy token"))
    wait_idle(qtbot, app)
    page.reveal_button.click()
    qtbot.waitUntil(lambda: page.revealed, timeout=5_000)
    qtbot.wait(50)
    button = page.reveal_button
    assert button.text() == "Hide"
    assert button.isVisible() and not button.visibleRegion().isEmpty()
    assert button.mapTo(page.detail, QPoint(button.width(), 0)).x() <= page.detail.width()
    assert page.secret_label.text().startswith("ghp_x7Q2")
    button.click()
    assert not page.revealed and "x7Q2x7Q2" not in page.secret_label.text()


def _fill_the_editor(value: str, seen: list) -> None:
    """Play the user in the modal edit dialog: replace the Value and press Save."""
    dialog = QApplication.activeModalWidget()
    seen.append(dialog)
    if not isinstance(dialog, MemoryEditDialog):
        return
    editor = dialog.findChild(QWidget, "edit_value")
    editor.setPlainText(value) if hasattr(editor, "setPlainText") else editor.setText(value)
    dialog.accept()


def test_a_core_block_edited_in_the_app_survives_absorb_and_stays_shown(make_app, qtbot):
    # Issue 16, item 5, through the window: the user's rewrite outranks what a later chat says about the same label.
    app = make_app()
    engine = app.engine
    engine.observations.add("chat", "I prefer aisle seats.", role="user", conversation="c1")
    engine.make_absorber(use_llm=False).absorb_backlog()
    page = _open(app, qtbot, "core")
    row = _row(page, "core", "preferences")
    page.table.selectRow(row)
    wait_idle(qtbot, app)
    assert page.current["label"] == "preferences" and page.edit_button.isEnabled()
    mine = "Name: Sam. Prefers aisle seats, tea, no meetings before 10."
    seen: list = []
    QTimer.singleShot(0, lambda: _fill_the_editor(mine, seen))
    with qtbot.waitSignal(page.memory_changed, timeout=5_000):
        page.edit_button.click()  # opens the editor; the timer above fills it in and saves
    assert seen and isinstance(seen[0], MemoryEditDialog)
    block_id = page.current["id"]
    assert engine.memories.get(block_id).fields["value"] == mine

    engine.observations.add("chat", "I prefer green tea in the morning.", role="user", conversation="c2")
    with qtbot.waitSignal(page.rows_loaded, timeout=10_000):  # the page refreshes on absorb's changes
        engine.make_absorber(use_llm=False).absorb_backlog()
    wait_idle(qtbot, app)
    assert engine.memories.get(block_id).fields["value"] == mine
    model = page.models["core"]
    titles = {model.row_data(r)["title"]: model.row_data(r) for r in range(model.rowCount())}
    assert titles["preferences"]["value"] == mine and "green tea" not in titles["preferences"]["says"]
    assert "green tea" in titles["preferences (suggested)"]["value"]  # the new information, offered beside it
    page.table.selectRow(_row(page, "core", "preferences"))
    wait_idle(qtbot, app)
    shown = [label.text().replace("\u200b", "") for label in page.fields_box.findChildren(QLabel)]
    assert mine in shown, shown
    assert not [text for text in shown if "green tea" in text]
