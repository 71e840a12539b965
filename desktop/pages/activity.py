"""Activity: time per application per day, as stacked horizontal bars drawn with QPainter."""

from __future__ import annotations

from datetime import date, datetime, time as dtime, timedelta

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from desktop.ops import EngineOp
from desktop.qtmodels import activity_by_day
from desktop.widgets import muted_label, page_header

PALETTE = ["#4f46e5", "#0891b2", "#059669", "#d97706", "#db2777", "#7c3aed", "#65a30d", "#dc2626", "#0d9488"]
OTHER_COLOR = "#9ca3af"
TOP_APPS = 8


def hours_text(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class ActivityChart(QWidget):
    """One row per day; each row a bar split by application, longest first; a legend on top."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.days: list[tuple[date, dict[str, float]]] = []
        self.colors: dict[str, QColor] = {}
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, days: list[tuple[date, dict[str, float]]]) -> None:
        totals: dict[str, float] = {}
        for _day, apps in days:
            for app, seconds in apps.items():
                totals[app] = totals.get(app, 0.0) + seconds
        top = [app for app, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:TOP_APPS]]
        self.colors = {app: QColor(PALETTE[i % len(PALETTE)]) for i, app in enumerate(top)}
        folded = []
        for day, apps in days:
            row: dict[str, float] = {}
            for app, seconds in apps.items():
                key = app if app in self.colors else "Other"
                row[key] = row.get(key, 0.0) + seconds
            folded.append((day, row))
        if any("Other" in row for _d, row in folded):
            self.colors["Other"] = QColor(OTHER_COLOR)
        self.days = folded
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(700, 60 + 44 * max(1, len(self.days)))

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        width = self.width()
        # legend
        x, y = 8.0, 8.0
        for app, color in self.colors.items():
            label_w = metrics.horizontalAdvance(app) + 28
            if x + label_w > width - 8:
                x, y = 8.0, y + metrics.height() + 6
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(QRectF(x, y + 2, 12, 12), 3, 3)
            painter.setPen(QColor("#374151"))
            painter.drawText(QRectF(x + 16, y, label_w, metrics.height() + 4), Qt.AlignmentFlag.AlignVCenter, app)
            x += label_w + 8
        top = y + metrics.height() + 18
        label_w = 110.0
        total_w = 90.0
        longest = max((sum(apps.values()) for _d, apps in self.days), default=0.0) or 1.0
        bar_area = max(50.0, width - label_w - total_w - 24)
        row_h = 40.0
        today = date.today()
        for index, (day, apps) in enumerate(self.days):
            row_y = top + index * row_h
            name = "Today" if day == today else ("Yesterday" if day == today - timedelta(days=1) else day.strftime("%a %-d %b"))
            painter.setPen(QColor("#374151"))
            painter.drawText(QRectF(8, row_y, label_w - 8, row_h - 12), Qt.AlignmentFlag.AlignVCenter, name)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#f3f4f6"))
            painter.drawRoundedRect(QRectF(label_w, row_y + 4, bar_area, row_h - 20), 4, 4)
            bar_x = label_w
            for app, seconds in sorted(apps.items(), key=lambda kv: (kv[0] == "Other", -kv[1])):
                segment = bar_area * seconds / longest
                if segment < 0.5:
                    continue
                painter.setBrush(self.colors.get(app, QColor(OTHER_COLOR)))
                painter.drawRect(QRectF(bar_x, row_y + 4, segment, row_h - 20))
                if segment > metrics.horizontalAdvance(app) + 10:
                    painter.setPen(QColor("white"))
                    painter.drawText(QRectF(bar_x + 5, row_y + 4, segment - 10, row_h - 20), Qt.AlignmentFlag.AlignVCenter, app)
                    painter.setPen(Qt.PenStyle.NoPen)
                bar_x += segment
            painter.setPen(QColor("#6b7280"))
            total = sum(apps.values())
            painter.drawText(
                QRectF(label_w + bar_area + 8, row_y, total_w, row_h - 12),
                Qt.AlignmentFlag.AlignVCenter,
                hours_text(total) if total else "—",
            )
        painter.end()


class ActivityPage(QWidget):
    loaded = Signal(int)  # days with any activity

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.addWidget(page_header("Activity", "Time you spent in each application, from what Engram captured. Idle time and paused stretches are not counted."))
        row = QHBoxLayout()
        self.span = QComboBox()
        self.span.addItem("Last 7 days", 7)
        self.span.addItem("Last 14 days", 14)
        self.span.addItem("Last 30 days", 30)
        self.span.currentIndexChanged.connect(lambda _i: self.reload())
        row.addWidget(self.span)
        self.summary = muted_label()
        row.addWidget(self.summary, 1)
        layout.addLayout(row)
        self.chart = ActivityChart()
        layout.addWidget(self.chart, 1)

    def activate(self) -> None:
        self.reload()

    def reload(self) -> None:
        days = int(self.span.currentData())
        first = date.today() - timedelta(days=days - 1)
        start = datetime.combine(first, dtime()).astimezone().timestamp()
        end = datetime.combine(date.today() + timedelta(days=1), dtime()).astimezone().timestamp()

        def work(engine):
            gap = float(engine.settings.get("capture.max_interval_seconds")) * 2
            rows = [{"ts": o.ts, "app": o.app, "kind": o.kind} for o in engine.observations.list_between(start, end, ["screen"], limit=500_000)]
            return activity_by_day(rows, max_gap=gap)

        def shown(by_day: dict[str, dict[str, float]]) -> None:
            series = [(first + timedelta(days=i), by_day.get((first + timedelta(days=i)).isoformat(), {})) for i in range(days)]
            series.reverse()  # today first
            self.chart.set_data(series)
            active = sum(1 for _d, apps in series if apps)
            total = sum(sum(apps.values()) for _d, apps in series)
            self.summary.setText(
                f"{hours_text(total)} of screen time over {active} day{'s' if active != 1 else ''}" if active else "No screen activity captured in this period yet."
            )
            self.chart.setMinimumHeight(self.chart.sizeHint().height())
            self.loaded.emit(active)

        EngineOp(self, work).success(shown).run_in_background()
