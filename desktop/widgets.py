"""Small shared widgets: the two-line item delegate, page headers, empty states."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import QLabel, QStyle, QStyledItemDelegate, QVBoxLayout, QWidget

from desktop.qtmodels import HeaderRole

MUTED = QColor("#6b7280")
SELECTED = QColor("#e0e7ff")


class TwoLineDelegate(QStyledItemDelegate):
    """Paints 'title\\nsecond line' items: bold title, muted second line, optional thumbnail on the left.

    Header rows (``HeaderRole``) are painted as small coloured group labels.
    """

    def __init__(self, parent=None, *, thumb_size: QSize | None = None, lines: int = 2):
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.lines = lines

    def sizeHint(self, option, index) -> QSize:
        metrics = QFontMetrics(option.font)
        if index.data(HeaderRole):
            return QSize(200, metrics.height() + 14)
        height = metrics.height() * self.lines + 16
        if self.thumb_size is not None:
            height = max(height, self.thumb_size.height() + 12)
        return QSize(200, height)

    def paint(self, painter, option, index) -> None:
        painter.save()
        rect = option.rect
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        if index.data(HeaderRole):
            font = QFont(option.font)
            font.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.8))
            font.setBold(True)
            painter.setFont(font)
            color = index.data(Qt.ItemDataRole.ForegroundRole) or MUTED
            painter.setPen(color)
            painter.drawText(rect.adjusted(12, 6, -8, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
            painter.restore()
            return
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, SELECTED)
            painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), QColor("#4f46e5"))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, QColor("#f3f4f6"))
        left = rect.left() + 14
        if self.thumb_size is not None:
            thumb_rect = QRect(left, rect.top() + 6, self.thumb_size.width(), self.thumb_size.height())
            image = index.data(Qt.ItemDataRole.DecorationRole)
            if isinstance(image, QImage) and not image.isNull():
                scaled = image.scaled(self.thumb_size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
                painter.drawImage(thumb_rect.topLeft(), scaled)
            else:
                painter.fillRect(thumb_rect, QColor("#e5e7eb"))
                painter.setPen(MUTED)
                painter.drawText(thumb_rect, Qt.AlignmentFlag.AlignCenter, "no image")
            left = thumb_rect.right() + 12
        title, _, rest = text.partition("\n")
        width = rect.right() - left - 10
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        metrics = QFontMetrics(bold)
        line_h = metrics.height()
        top = rect.top() + 8
        painter.drawText(QRect(left, top, width, line_h), Qt.AlignmentFlag.AlignLeft, metrics.elidedText(title, Qt.TextElideMode.ElideRight, width))
        if rest:
            painter.setFont(option.font)
            painter.setPen(MUTED)
            plain = QFontMetrics(option.font)
            lines_left = self.lines - 1
            if self.thumb_size is not None:
                lines_left = max(lines_left, (self.thumb_size.height() - line_h) // plain.height())
            y = top + line_h + 2
            if lines_left == 1:  # the common case: one elided line, no wrapping to compute
                painter.drawText(QRect(left, y, width, plain.height()), Qt.AlignmentFlag.AlignLeft, plain.elidedText(rest, Qt.TextElideMode.ElideRight, width))
                painter.restore()
                return
            words = rest.split(" ")
            current = ""
            for _ in range(lines_left):
                if not words:
                    break
                current = ""
                while words and plain.horizontalAdvance((current + " " + words[0]).strip()) <= width:
                    current = (current + " " + words.pop(0)).strip()
                if not current:  # one word wider than the line
                    current = words.pop(0)
                if _ == lines_left - 1 and words:
                    current = plain.elidedText(current + " " + " ".join(words), Qt.TextElideMode.ElideRight, width)
                painter.drawText(QRect(left, y, width, plain.height()), Qt.AlignmentFlag.AlignLeft, current)
                y += plain.height()
        painter.restore()


def page_header(title: str, subtitle: str = "") -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 6)
    layout.setSpacing(2)
    heading = QLabel(title)
    heading.setObjectName("pageTitle")
    layout.addWidget(heading)
    if subtitle:
        sub = QLabel(subtitle)
        sub.setObjectName("pageSubtitle")
        sub.setWordWrap(True)
        layout.addWidget(sub)
    return box


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with … instead of setting a minimum width.

    The status bar's labels, side by side at their full length, made the main
    window at least about 980 pixels wide.  ``keep`` is the width (pixels) the
    label keeps before it shortens, for the one a reader must not lose: at
    960 pixels the capture line shrank to "Screen …" while the backlog kept
    its whole sentence.
    """

    def __init__(self, text: str = "", parent=None, *, keep: int = 60):
        super().__init__(text, parent)
        self.keep = keep

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(max(60, self.keep), self.sizeHint().width()), hint.height())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        rect = self.contentsRect().adjusted(self.margin(), 0, -self.margin(), 0)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), text)


def muted_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


STYLESHEET = """
QWidget { font-size: 10pt; }
#sidebar { background: #1f2937; border: none; color: #e5e7eb; outline: none; }
#sidebar::item { padding: 10px 16px; border-radius: 6px; margin: 2px 8px; }
#sidebar::item:selected { background: #4f46e5; color: white; }
#sidebar::item:hover:!selected { background: #374151; }
#brand { background: #1f2937; color: white; font-size: 15pt; font-weight: bold; padding: 16px 18px 10px 18px; }
#pageTitle { font-size: 17pt; font-weight: bold; color: #111827; }
#pageSubtitle, #muted { color: #6b7280; }
#banner { background: #fef3c7; color: #92400e; border: 1px solid #fcd34d; border-radius: 6px; padding: 8px 10px; }
#warning { color: #b45309; font-weight: bold; }
QLabel#outcome { border-radius: 6px; padding: 8px 10px; background: #ecfdf5; color: #065f46; border: 1px solid #a7f3d0; }
QLabel#outcome[error="true"] { background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; }
#recallBox { background: white; border: 1px solid #c7d2fe; border-radius: 10px; }
#recallInput { font-size: 15pt; border: none; padding: 10px 12px; background: transparent; }
#recallHint { color: #6b7280; font-size: 8.5pt; padding: 4px 12px 8px 12px; }
QListView#recallResults { border: none; border-top: 1px solid #e5e7eb; background: white; }
QTextBrowser#transcript { border: 1px solid #e5e7eb; border-radius: 8px; background: white; padding: 6px; }
QTableView { gridline-color: #f3f4f6; selection-background-color: #e0e7ff; selection-color: #111827; }
QHeaderView::section { background: #f9fafb; border: none; border-bottom: 1px solid #e5e7eb; padding: 5px; font-weight: bold; color: #374151; }
QPushButton { padding: 5px 12px; }
QPushButton#primary { background: #4f46e5; color: white; border: none; border-radius: 5px; padding: 6px 14px; font-weight: bold; }
QPushButton#primary:disabled { background: #a5b4fc; }
QPushButton#danger { color: #b91c1c; }
QStatusBar QLabel { padding: 0 8px; color: #374151; }
QStatusBar QLabel#statusWarning { color: #b45309; font-weight: bold; }
QGroupBox { font-weight: bold; border: 1px solid #e5e7eb; border-radius: 8px; margin-top: 14px; padding: 10px; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; }
"""
