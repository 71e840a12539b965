"""Timeline: one day of what Engram saw, with thumbnails; jump to a time; forget a range."""

from __future__ import annotations

from datetime import datetime, time as dtime, timedelta
from typing import Callable

from PySide6.QtCore import QDate, QSize, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.ops import EngineOp
from desktop.pages.memories import ask_confirmation
from desktop.qtmodels import ItemRole, TimelineModel, observation_row
from desktop.widgets import TwoLineDelegate, muted_label, page_header

THUMB = QSize(128, 80)


def _decode(data: bytes | None, fit: QSize | None = None) -> QImage | None:
    """The stored WebP as an image; with ``fit``, scaled down to it (a list row needs a sixth of the pixels)."""
    if not data:
        return None
    image = QImage.fromData(data)
    if image.isNull():
        return None
    if fit is not None and (image.width() > fit.width() or image.height() > fit.height()):
        image = image.scaled(fit, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return image


class TimelinePage(QWidget):
    day_loaded = Signal(int)  # observations shown
    forgotten = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.confirm: Callable[[QWidget, str, str, str], bool] = ask_confirmation
        self._generation = 0
        self._jump_to: float | None = None
        self._shown_day: QDate | None = None
        self._preview_id: int | None = None
        # Captures arrive every few seconds and a chat adds two at once: new rows are fetched once per burst.
        self._arrivals = QTimer(self)
        self._arrivals.setSingleShot(True)
        self._arrivals.setInterval(300)
        self._arrivals.timeout.connect(self._append_new)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.addWidget(page_header("Timeline", "What Engram saw on your screen and in chats, one day at a time. Select moments and forget them for good."))

        bar = QHBoxLayout()
        self.prev_button = QPushButton("◀")
        self.prev_button.setToolTip("Previous day")
        self.prev_button.clicked.connect(lambda: self.show_day(self.date.date().addDays(-1)))
        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("ddd d MMM yyyy")
        self.date.dateChanged.connect(lambda d: self.show_day(d))
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("Next day")
        self.next_button.clicked.connect(lambda: self.show_day(self.date.date().addDays(1)))
        self.today_button = QPushButton("Today")
        self.today_button.clicked.connect(lambda: self.show_day(QDate.currentDate()))
        self.time = QTimeEdit(QTime(9, 0))
        self.time.setDisplayFormat("HH:mm")
        self.jump_button = QPushButton("Go to time")
        self.jump_button.clicked.connect(self.jump)
        self.forget_button = QPushButton("Forget selected…")
        self.forget_button.setObjectName("danger")
        self.forget_button.setEnabled(False)
        self.forget_button.clicked.connect(self.forget_selection)
        for widget in (self.prev_button, self.date, self.next_button, self.today_button):
            bar.addWidget(widget)
        bar.addSpacing(8)
        bar.addWidget(self.time)
        bar.addWidget(self.jump_button)
        bar.addStretch(1)
        bar.addWidget(self.forget_button)
        layout.addLayout(bar)
        self.summary = muted_label()
        layout.addWidget(self.summary)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.model = TimelineModel(self._request_thumbnail, self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setItemDelegate(TwoLineDelegate(self.list, thumb_size=THUMB, lines=4))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setUniformItemSizes(True)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.selectionModel().selectionChanged.connect(self._selection_changed)
        self.list.selectionModel().currentChanged.connect(self._selection_changed)
        # A reload or a removal clears the selection without selectionChanged: the Forget button must follow.
        self.model.modelReset.connect(self._selection_changed)
        self.model.rowsRemoved.connect(self._selection_changed)
        splitter.addWidget(self.list)

        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(12, 0, 0, 0)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(200)
        self.preview.setStyleSheet("background: #f3f4f6; border-radius: 6px; color: #6b7280;")
        detail_layout.addWidget(self.preview)
        self.detail_title = QLabel()
        self.detail_title.setWordWrap(True)
        self.detail_title.setStyleSheet("font-weight: bold;")
        detail_layout.addWidget(self.detail_title)
        self.detail_text = QPlainTextEdit()
        self.detail_text.setReadOnly(True)
        detail_layout.addWidget(self.detail_text, 1)
        splitter.addWidget(detail)
        splitter.setSizes([620, 400])
        layout.addWidget(splitter, 1)
        self._show_detail(None)

    # -- loading ------------------------------------------------------------------------

    def activate(self) -> None:
        self.show_day(self.date.date())

    def show_day(self, day: QDate) -> None:
        if day != self.date.date():
            self.date.blockSignals(True)
            self.date.setDate(day)
            self.date.blockSignals(False)
        start = datetime.combine(day.toPython(), dtime()).astimezone()
        end = start + timedelta(days=1)
        self._generation += 1
        generation = self._generation

        def loaded(rows: list[dict]) -> None:
            if generation != self._generation:
                return
            self._shown_day = day
            self.model.set_rows(rows)
            self._show_summary()
            self.next_button.setEnabled(day < QDate.currentDate())
            if self._jump_to is not None:
                row = self.model.row_at_or_after(self._jump_to)
                self._jump_to = None
                if row >= 0:
                    self.list.setCurrentIndex(self.model.index(row))
                    self.list.scrollTo(self.model.index(row), QAbstractItemView.ScrollHint.PositionAtTop)
            else:
                self._show_detail(None)
            self.day_loaded.emit(len(rows))

        EngineOp(self, lambda engine: [observation_row(o) for o in engine.observations.list_between(start.timestamp(), end.timestamp())]).success(
            loaded
        ).run_in_background()

    def _show_summary(self) -> None:
        rows = [self.model.row_data(r) for r in range(self.model.rowCount())]
        apps = len({r["app"] for r in rows if r["app"]})
        self.summary.setText(
            f"{len(rows)} moment{'s' if len(rows) != 1 else ''} from {apps} application{'s' if apps != 1 else ''}"
            if rows else "Nothing was captured on this day."
        )

    def observation_added(self) -> None:
        """A capture or chat stored a moment: show it if it belongs to the day on screen."""
        if self._shown_day is not None and self._shown_day == QDate.currentDate():
            self._arrivals.start()

    def _append_new(self) -> None:
        day = self._shown_day
        if day is None:
            return
        start = datetime.combine(day.toPython(), dtime()).astimezone()
        since = max(start.timestamp(), self.model.last_ts() or 0.0)
        until = (start + timedelta(days=1)).timestamp()
        generation = self._generation

        def arrived(rows: list[dict]) -> None:
            if generation != self._generation or day != self._shown_day:
                return  # another day was loaded meanwhile
            bar = self.list.verticalScrollBar()
            at_end = bar.value() >= bar.maximum() - 4
            if self.model.append_rows(rows):
                self._show_summary()
                if at_end:
                    self.list.scrollToBottom()

        EngineOp(self, lambda engine: [observation_row(o) for o in engine.observations.list_between(since, until)]).success(
            arrived
        ).run_in_background()

    def jump(self) -> None:
        moment = datetime.combine(self.date.date().toPython(), self.time.time().toPython()).astimezone().timestamp()
        row = self.model.row_at_or_after(moment)
        if row >= 0:
            self.list.setCurrentIndex(self.model.index(row))
            self.list.scrollTo(self.model.index(row), QAbstractItemView.ScrollHint.PositionAtTop)

    def open_observation(self, observation_id: int) -> None:
        """Show the day of one observation, scrolled to it (from a chat citation or quick recall)."""

        def found(row: dict) -> None:
            when = datetime.fromtimestamp(row["ts"])
            self._jump_to = row["ts"]
            self.time.setTime(QTime(when.hour, when.minute))
            self.date.blockSignals(True)
            self.date.setDate(QDate(when.year, when.month, when.day))
            self.date.blockSignals(False)
            self.show_day(self.date.date())

        EngineOp(self, lambda engine: observation_row(engine.observations.get(observation_id))).success(found).run_in_background()

    def _request_thumbnail(self, observation_id: int) -> None:
        EngineOp(self, lambda engine: _decode(engine.observations.thumbnail(observation_id), THUMB)).success(
            lambda image: self.model.set_thumbnail(observation_id, image)
        ).run_in_background()

    def _request_preview(self, observation_id: int) -> None:
        """The full-size screenshot of the moment in the detail pane (only that one is kept full size)."""

        def shown(image: QImage | None) -> None:
            current = self.list.currentIndex()
            row = current.data(ItemRole) if current.isValid() else None
            if row is None or row["id"] != observation_id:
                return  # the user moved on
            self._preview_id = observation_id
            if image is None:
                self.preview.setPixmap(QPixmap())
                self.preview.setText("No screenshot kept for this moment.")
            else:
                self.preview.setText("")
                self.preview.setPixmap(QPixmap.fromImage(image).scaled(
                    self.preview.width() - 8, 260, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

        EngineOp(self, lambda engine: _decode(engine.observations.thumbnail(observation_id))).success(shown).run_in_background()

    def release_memory(self) -> None:
        """Drop decoded thumbnails; rows on screen ask for theirs again when painted."""
        self.model.drop_thumbnails()

    # -- selection ----------------------------------------------------------------------

    def _selected_rows(self) -> list[dict]:
        rows = [self.model.row_data(i.row()) for i in self.list.selectionModel().selectedRows()]
        return sorted((r for r in rows if r), key=lambda r: r["ts"])

    def _selection_changed(self, *_args) -> None:
        rows = self._selected_rows()
        self.forget_button.setEnabled(bool(rows))
        self.forget_button.setText(f"Forget {len(rows)} moment{'s' if len(rows) != 1 else ''}…" if rows else "Forget selected…")
        current = self.list.currentIndex()
        self._show_detail(current.data(ItemRole) if current.isValid() else None)

    def _show_detail(self, row: dict | None) -> None:
        if row is None:
            self._preview_id = None
            self.preview.setPixmap(QPixmap())
            self.preview.setText("Select a moment to see it here.\nShift-click to select a range.")
            self.detail_title.setText("")
            self.detail_text.setPlainText("")
            return
        when = datetime.fromtimestamp(row["ts"]).strftime("%H:%M:%S")
        self.detail_title.setText(f"{when} · {row['app'] or row['kind']}" + (f" — {row['window_title']}" if row["window_title"] else ""))
        self.detail_text.setPlainText(row["text"] or "(no text)")
        if self._preview_id != row["id"]:
            # Read and decoded in the background: a moment opened from quick recall or a chat citation
            # may not have been painted in the list, so nothing about its screenshot is known yet.
            self.preview.setPixmap(QPixmap())
            self.preview.setText("Loading the screenshot…")
            self._request_preview(row["id"])

    def forget_selection(self) -> None:
        rows = self._selected_rows()
        if not rows:
            return
        start, end = rows[0]["ts"], rows[-1]["ts"]
        count = f"{len(rows)} moment{'s' if len(rows) != 1 else ''}"
        span = f"at {datetime.fromtimestamp(start):%H:%M:%S}" if len(rows) == 1 else f"from {datetime.fromtimestamp(start):%H:%M:%S} to {datetime.fromtimestamp(end):%H:%M:%S}"
        if not self.confirm(
            self,
            "Forget these moments",
            f"Forget the {count} selected ({span})? The text and screenshots are deleted for good, with the "
            "memories built only from them; memories you wrote or edited stay, without the link.",
            "Forget",
        ):
            return
        ids = [r["id"] for r in rows]

        def done(report) -> None:
            self.forgotten.emit(report.observations)
            self.show_day(self.date.date())

        # Exactly the selected moments (a time range would also take unselected ones in between), forgotten for
        # good: indexes rewritten, derived memories rebuilt without them, the write-ahead log emptied.
        EngineOp(self, lambda engine: engine.forgetting.forget_observations(ids)).success(done).run_in_background()
