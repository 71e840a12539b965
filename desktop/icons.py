"""Icons drawn with QPainter: the app mark, and the tray's state badges.

Drawing them keeps the tray honest without shipping one file per state: the
mark is the same everywhere and a badge in the lower right says what Engram is
doing -- a red dot while recording, amber bars while paused, blue dots while
building memories, an orange triangle when something needs attention, and a
grey mark when capture is off.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

TRAY_STATES = ("off", "recording", "paused", "absorbing", "problem")

ACCENT = QColor("#4f46e5")
STATE_COLORS = {
    "off": QColor("#9ca3af"),
    "recording": QColor("#dc2626"),
    "paused": QColor("#d97706"),
    "absorbing": QColor("#2563eb"),
    "problem": QColor("#ea580c"),
}
STATE_LABELS = {
    "off": "capture is off",
    "recording": "recording",
    "paused": "paused",
    "absorbing": "building memories",
    "problem": "needs attention",
}


def _draw_mark(painter: QPainter, size: int, color: QColor) -> None:
    """The Engram mark: a rounded tile with three stacked strokes (layers of memory)."""
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    margin = size * 0.06
    painter.drawRoundedRect(QRectF(margin, margin, size - 2 * margin, size - 2 * margin), size * 0.22, size * 0.22)
    pen = QPen(QColor("white"), size * 0.09, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    left, right = size * 0.28, size * 0.72
    for fraction, shorten in ((0.32, 0.0), (0.5, 0.1), (0.68, 0.0)):
        y = size * fraction
        painter.drawLine(QPointF(left, y), QPointF(right - size * shorten, y))


def _draw_badge(painter: QPainter, size: int, state: str) -> None:
    color = STATE_COLORS[state]
    radius = size * 0.22
    center = QPointF(size - radius - size * 0.02, size - radius - size * 0.02)
    painter.setPen(QPen(QColor("white"), size * 0.05))
    painter.setBrush(color)
    if state == "problem":
        path = QPainterPath()
        path.moveTo(center.x(), center.y() - radius)
        path.lineTo(center.x() + radius, center.y() + radius * 0.85)
        path.lineTo(center.x() - radius, center.y() + radius * 0.85)
        path.closeSubpath()
        painter.drawPath(path)
        painter.setPen(QPen(QColor("white"), size * 0.06, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(QPointF(center.x(), center.y() - radius * 0.35), QPointF(center.x(), center.y() + radius * 0.2))
        painter.drawPoint(QPointF(center.x(), center.y() + radius * 0.55))
        return
    painter.drawEllipse(center, radius, radius)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("white"))
    if state == "paused":
        bar_w, bar_h = radius * 0.3, radius * 1.0
        painter.drawRect(QRectF(center.x() - bar_w * 1.4, center.y() - bar_h / 2, bar_w, bar_h))
        painter.drawRect(QRectF(center.x() + bar_w * 0.4, center.y() - bar_h / 2, bar_w, bar_h))
    elif state == "absorbing":
        for offset in (-0.5, 0.0, 0.5):
            painter.drawEllipse(QPointF(center.x() + radius * offset, center.y()), radius * 0.16, radius * 0.16)
    elif state == "recording":
        painter.drawEllipse(center, radius * 0.38, radius * 0.38)


def paint_mark(painter: QPainter, size: int, state: str | None = None) -> None:
    """Paint the mark (with the badge of ``state``) onto any paint device: a pixmap, or an SVG for the package."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    base = STATE_COLORS["off"] if state == "off" else ACCENT
    _draw_mark(painter, size, base)
    if state and state != "off":
        _draw_badge(painter, size, state)


def mark_pixmap(size: int = 64, state: str | None = None) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    paint_mark(painter, size, state)
    painter.end()
    return pixmap


@lru_cache(maxsize=None)
def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        icon.addPixmap(mark_pixmap(size))
    return icon


@lru_cache(maxsize=None)
def tray_icon(state: str) -> QIcon:
    if state not in TRAY_STATES:
        raise ValueError(f"unknown tray state {state!r}")
    icon = QIcon()
    for size in (16, 22, 24, 32, 48, 64):
        icon.addPixmap(mark_pixmap(size, state))
    return icon


def type_badge(text: str, color: QColor, height: int = 18) -> QPixmap:
    """A small rounded label (used for memory type chips)."""
    font = QFont()
    font.setPointSizeF(8)
    font.setBold(True)
    width = 10 + len(text) * 7
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(QRectF(0, 0, width, height), height / 2, height / 2)
    painter.setPen(QColor("white"))
    painter.setFont(font)
    painter.drawText(QRectF(0, 0, width, height), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap
