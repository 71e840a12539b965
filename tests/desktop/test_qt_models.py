"""The app's Qt item models and pure helpers, tested without any view."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from PySide6.QtCore import Qt

from desktop.qtmodels import (
    HeaderRole,
    ItemRole,
    MemoryTableModel,
    ModelListModel,
    RecallResultsModel,
    TimelineModel,
    activity_by_day,
    memory_row,
)
from desktop.tray import tray_state


def _result(id, type, title, kind="memory"):
    return {"kind": kind, "id": id, "type": type, "title": title, "snippet": f"{title} | more", "time": None, "app": None, "score": 1.0}


def test_recall_results_are_grouped_by_type_under_headers(qapp):
    model = RecallResultsModel()
    model.set_results([
        _result(1, "semantic", "Ada"),
        _result(2, "observation", "Firefox", kind="observation"),
        _result(3, "core", "about me"),
        _result(4, "semantic", "Atlas"),
    ])
    rows = [(model.data(model.index(r), HeaderRole), model.data(model.index(r))) for r in range(model.rowCount())]
    assert rows[0] == (True, "CORE")
    assert rows[2] == (True, "SEMANTIC")
    assert [r[1].split("\n")[0] for r in rows if not r[0]] == ["about me", "Ada", "Atlas", "Firefox"]
    assert rows[-2][0] is True and rows[-2][1].startswith("SEEN ON SCREEN")
    assert model.result_count() == 4
    # the title is not repeated in the second line
    assert model.data(model.index(1)).split("\n")[1] == "more"


def test_recall_keyboard_steps_skip_headers(qapp):
    model = RecallResultsModel()
    model.set_results([_result(1, "core", "a"), _result(2, "semantic", "b")])
    first = model.first_item_row()
    assert first == 1 and model.item(first)["id"] == 1
    second = model.step(first, 1)
    assert model.is_header(2) and second == 3 and model.item(second)["id"] == 2
    assert model.step(second, 1) == second  # stays on the last item
    assert model.step(second, -1) == first
    assert model.flags(model.index(0)) == Qt.ItemFlag.NoItemFlags


def test_memory_table_masks_vault_values_and_updates_rows(engine, qapp):
    vault = engine.memories.add("knowledge_vault", {"entry_type": "pin", "caption": "Bank card PIN", "secret_value": "483920571"})
    model = MemoryTableModel("knowledge_vault")
    model.set_rows([memory_row(vault)])
    shown = model.data(model.index(0, 2))
    assert shown == "pin: ••••••••"  # 9 characters: too short to show any
    assert model.data(model.index(0, 1)) == "Bank card PIN"
    pinned = engine.memories.update(vault.id, {"pinned": True})
    model.replace(memory_row(pinned))
    assert model.data(model.index(0, 0)) == "★"
    model.remove(vault.id)
    assert model.rowCount() == 0


def test_timeline_requests_thumbnails_only_for_painted_rows(qapp):
    requested = []
    model = TimelineModel(requested.append)
    now = time.time()
    model.set_rows([{"id": i, "kind": "screen", "ts": now + i, "app": "code", "window_title": "x", "text": "t", "url": ""} for i in range(100)])
    assert requested == []
    model.data(model.index(5), Qt.ItemDataRole.DecorationRole)
    model.data(model.index(5), Qt.ItemDataRole.DecorationRole)
    assert requested == [5]
    assert model.row_at_or_after(now + 50.5) == 51
    assert model.data(model.index(3), ItemRole)["id"] == 3


def test_activity_counts_time_until_the_next_frame_capped():
    base = datetime(2026, 5, 4, 10, 0).timestamp()
    rows = [
        {"ts": base, "app": "code", "kind": "screen"},
        {"ts": base + 30, "app": "code", "kind": "screen"},
        {"ts": base + 40, "app": "firefox", "kind": "screen"},
        {"ts": base + 4000, "app": "code", "kind": "screen"},  # after a long idle gap
        {"ts": base + 4001, "app": "chat", "kind": "chat"},  # chats are not screen time
    ]
    by_day = activity_by_day(rows, max_gap=60)
    day = by_day["2026-05-04"]
    assert day["code"] == pytest.approx(30 + 10 + 30)  # 30, then 10 (to firefox), last frame counts half a gap
    assert day["firefox"] == pytest.approx(60)  # capped, not 3960
    assert "chat" not in day


def test_model_list_shows_download_progress(qapp):
    model = ModelListModel()
    model.set_rows([{"name": "big", "label": "Big model", "role": "chat", "size": 2 * 1024**3, "installed": False, "recommended": True}])
    assert model.data(model.index(0, 3)) == "Available, recommended"
    assert model.data(model.index(0, 2)) == "2.0 GB"
    model.set_progress("big", 512, 1024)
    assert model.data(model.index(0, 3)) == "Downloading 50%"


@pytest.mark.parametrize(
    "capture, absorbing, problem, expected",
    [
        (None, False, None, "off"),
        ({"state": "running", "paused_until": None}, False, None, "recording"),
        ({"state": "running", "paused_until": None}, True, None, "absorbing"),
        ({"state": "paused", "paused_until": None}, True, None, "paused"),
        ({"state": "running", "paused_until": time.time() + 60}, False, None, "paused"),
        ({"state": "error", "paused_until": None}, False, None, "problem"),
        ({"state": "running", "paused_until": None}, False, "OCR failed", "problem"),
    ],
)
def test_tray_state_follows_capture_status(capture, absorbing, problem, expected):
    assert tray_state(capture, absorbing=absorbing, problem=problem) == expected
