"""Quick recall: a small frameless search window, results as you type.

A keystroke starts a search at once when none is running (so the first results
come within one search's time, well under the 100 ms target); keystrokes that
arrive while a search runs are coalesced: when it finishes, one search for the
latest text follows.  So at most one search is ever queued, however fast the
user types -- the debounce adapts to how long searches take instead of adding
a fixed delay.  Every search carries a generation number and results of an
older generation are dropped, so a slow search for "pa" never overwrites the
results for "pass".  The window is usable with the
keyboard only: arrows move between results (group headers are skipped), Enter
opens the selected result, Esc closes.

Qt has no global hotkeys; the app opens this window from the tray icon (a
single click), the tray menu, and Ctrl+K inside the main window.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from core.ranking import query_terms
from desktop.ops import EngineOp, error_text
from desktop.qtmodels import RecallResultsModel
from desktop.similar import near_identical, word_set
from desktop.widgets import TwoLineDelegate

COALESCE_MS = 120  # a trailing search, in case a result is lost with its op
RESULT_LIMIT = 20
SNIPPET_CHARS = 160
CONTEXT_BEFORE = 36  # characters shown before the match: the row shows about 90, so the match stays in view
VISIBLE_CHARS = 70  # a match this near the start is on screen without moving the snippet


def match_position(text: str, query: str) -> int:
    """Where the first word of ``query`` occurs in ``text`` (a word start), or -1.

    The index matches stems and the word being typed as a prefix, so a word is
    also found by its first characters, down to three ("atlas" finds "Atlas's").
    """
    lowered = text.lower()
    best = -1
    for term in query_terms(query):
        for cut in range(len(term), min(3, len(term)) - 1, -1):
            found = re.search(r"(?<!\w)" + re.escape(term[:cut]), lowered)
            if found:
                if best < 0 or found.start() < best:
                    best = found.start()
                break
    return best


def centred_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """``width`` characters of ``text`` around the first match of ``query``, cut at word boundaries."""
    flat = " ".join((text or "").split())
    at = match_position(flat, query)
    if at <= VISIBLE_CHARS:  # already in view from the start: the start reads better
        return flat if len(flat) <= width else flat[: width - 1].rsplit(" ", 1)[0] + "…"
    start = flat.rfind(" ", 0, at - CONTEXT_BEFORE) + 1 or at - CONTEXT_BEFORE
    piece = flat[start : start + width]
    if start + width < len(flat):
        piece = piece.rsplit(" ", 1)[0] + "…"
    return "…" + piece


def collapse_near_identical(results: list[dict[str, Any]], texts: dict[int, str]) -> list[dict[str, Any]]:
    """One row per moment: screen frames of one window whose words are nearly the same fold into the best-ranked.

    The kept row carries ``similar``, how many frames it stands for.  Memories are never folded.
    """
    kept: list[dict[str, Any]] = []
    groups: list[tuple[dict[str, Any], set[str]]] = []
    for result in results:
        if result.get("kind") != "observation":
            kept.append(result)
            continue
        words = word_set(texts.get(result["id"], result.get("snippet") or ""))
        for leader, leader_words in groups:
            same_window = (leader.get("app"), leader.get("title")) == (result.get("app"), result.get("title"))
            if same_window and near_identical(words, leader_words):
                leader["similar"] = leader.get("similar", 1) + 1
                break
        else:
            result = dict(result)
            groups.append((result, words))
            kept.append(result)
    return kept


def recall_results(engine, text: str, limit: int = RESULT_LIMIT) -> list[dict[str, Any]]:
    """Quick recall as the window shows it: snippets around the match, repeated frames folded into one row.

    Runs on the database lane.  The engine's snippet is the start of an
    observation's text, so the full texts of the (at most ``limit``) observations
    found are read by id to centre the snippet; memories' snippets are short and
    already masked, so they are centred within what the engine returned.
    """
    results = engine.quick_recall(text, limit=limit)
    observation_ids = [r["id"] for r in results if r.get("kind") == "observation"]
    texts = {oid: o.text for oid, o in engine.observations.get_many(observation_ids).items()} if observation_ids else {}
    out = []
    for result in results:
        result = dict(result)
        source = texts.get(result["id"]) if result.get("kind") == "observation" else None
        source = source if source is not None else result.get("snippet") or ""
        title = result.get("title") or ""
        if title and source.startswith(title + " | "):  # the indexed text starts with the title, shown above it
            source = source[len(title) + 3 :]
        result["snippet"] = centred_snippet(source, text)
        out.append(result)
    return collapse_near_identical(out, texts)


class QuickRecallWindow(QWidget):
    """The quick-recall popup; ``open_requested(result)`` fires when the user picks a result."""

    open_requested = Signal(dict)
    results_shown = Signal(int)  # the number of results now on screen

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("quickRecall")
        self.setWindowTitle("Engram quick recall")
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground, False)
        self.resize(680, 440)
        self.generation = 0
        self.searched_text = ""
        self._in_flight = False
        self._open_when_ready = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        box = QFrame()
        box.setObjectName("recallBox")
        outer.addWidget(box)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(0)

        self.input = QLineEdit()
        self.input.setObjectName("recallInput")
        self.input.setPlaceholderText("Recall anything: a name, a number, what you read…")
        self.input.setClearButtonEnabled(True)
        self.input.installEventFilter(self)
        layout.addWidget(self.input)

        self.model = RecallResultsModel(self)
        self.results = QListView()
        self.results.setObjectName("recallResults")
        self.results.setModel(self.model)
        self.results.setItemDelegate(TwoLineDelegate(self.results))
        self.results.setUniformItemSizes(False)
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # focus stays in the input; arrows are forwarded
        self.results.setMouseTracking(True)
        self.results.activated.connect(lambda index: self._open_row(index.row()))
        self.results.clicked.connect(lambda index: self._open_row(index.row()))
        layout.addWidget(self.results, 1)

        self.hint = QLabel()
        self.hint.setObjectName("recallHint")
        layout.addWidget(self.hint)
        self._set_hint()

        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(COALESCE_MS)
        self.debounce.timeout.connect(self._search_latest)
        self.input.textChanged.connect(self._text_changed)

    # -- showing ------------------------------------------------------------------------

    def popup(self) -> None:
        """Show centred in the upper third of the current screen, ready to type."""
        screen = QGuiApplication.screenAt(self.cursor().pos()) or QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            self.move(area.center().x() - self.width() // 2, area.top() + area.height() // 5)
        self.show()
        self.raise_()
        self.activateWindow()
        self.input.setFocus()
        self.input.selectAll()

    # -- searching ----------------------------------------------------------------------

    def _text_changed(self, text: str) -> None:
        if not text.strip():
            self.debounce.stop()
            self.generation += 1  # anything still running is now stale
            self.model.clear()
            self._set_hint()
            return
        if self._in_flight:
            self.debounce.start()  # coalesced: searched when the running search returns
        else:
            self.search_now()

    def _search_latest(self) -> None:
        if self._in_flight:
            self.debounce.start()
        elif self.input.text().strip() and self.input.text().strip() != self.searched_text:
            self.search_now()

    def search_now(self) -> None:
        text = self.input.text().strip()
        if not text:
            return
        self.debounce.stop()
        self.generation += 1
        generation = self.generation
        self._in_flight = True

        EngineOp(self, lambda engine: recall_results(engine, text, RESULT_LIMIT)).success(
            lambda results: self._show(generation, text, results)
        ).failure(lambda exc: self._failed(generation, text, exc)).run_in_background()

    def _show(self, generation: int, text: str, results: list[dict]) -> None:
        self._done(text)
        if generation != self.generation:
            return  # a newer search has started; these results are stale
        self.searched_text = text
        self.model.set_results(results)
        first = self.model.first_item_row()
        if first >= 0:
            self.results.setCurrentIndex(self.model.index(first))
        if self._open_when_ready and text == self.input.text().strip():
            self._open_when_ready = False
            self._open_row(first)
        count = self.model.result_count()
        self._set_hint(count)
        self.results_shown.emit(count)

    def _done(self, text: str) -> None:
        self._in_flight = False
        if self.input.text().strip() not in ("", text):
            self._search_latest()  # the user typed on while this search ran

    def _failed(self, generation: int, text: str, exc: BaseException) -> None:
        self._done(text)
        if generation != self.generation:
            return
        self.searched_text = text  # not retried until the text changes
        message, fix = error_text(exc)
        self.model.clear()
        self.hint.setText(message + (f" {fix}" if fix else ""))
        self.results_shown.emit(0)

    def _set_hint(self, count: int | None = None) -> None:
        keys = "↑↓ to move · Enter to open · Esc to close"
        if count is None:
            self.hint.setText("Searches every memory and what you have seen on screen. " + keys)
        elif count == 0:
            self.hint.setText("Nothing found. Try fewer or different words. " + keys)
        else:
            self.hint.setText(f"{count} result{'s' if count != 1 else ''} · " + keys)

    # -- keyboard -----------------------------------------------------------------------

    def eventFilter(self, watched, event) -> bool:
        if watched is self.input and event.type() == QEvent.Type.KeyPress:
            return self._key(event)
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._key(event):
            super().keyPressEvent(event)

    def _key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.hide()
            return True
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            direction = 1 if key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown) else -1
            steps = 5 if key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp) else 1
            row = self.results.currentIndex().row()
            for _ in range(steps):
                row = self.model.step(row, direction)
            if row >= 0:
                self.results.setCurrentIndex(self.model.index(row))
                self.results.scrollTo(self.model.index(row))
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.input.text().strip() != self.searched_text:  # Enter typed before results came: open when they do
                self._open_when_ready = True
                if not self._in_flight:
                    self.search_now()
                return True
            self._open_row(self.results.currentIndex().row())
            return True
        return False

    def _open_row(self, row: int) -> None:
        item = self.model.item(row)
        if item is None:
            return
        self.hide()
        self.open_requested.emit(item)

    def sizeHint(self) -> QSize:
        return QSize(680, 440)
