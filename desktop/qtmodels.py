"""Qt item models for the app's lists and tables, testable without any view.

The models hold plain data produced by background ops (dicts, never live
engine objects) and never call the engine themselves, except through the
request callbacks they are given -- so a view scrolling never waits on the
database.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from PySide6.QtCore import QAbstractListModel, QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QImage

from core.store.types import MEMORY_TYPES

ItemRole = Qt.ItemDataRole.UserRole + 1
HeaderRole = Qt.ItemDataRole.UserRole + 2
KindRole = Qt.ItemDataRole.UserRole + 3

RECALL_GROUP_ORDER = ("core", "knowledge_vault", "semantic", "episodic", "procedural", "resource", "observation")
TYPE_LABELS = {name: spec.label for name, spec in MEMORY_TYPES.items()} | {"observation": "Seen on screen or in chats"}
TYPE_COLORS = {
    "core": QColor("#7c3aed"),
    "episodic": QColor("#0891b2"),
    "semantic": QColor("#2563eb"),
    "procedural": QColor("#059669"),
    "resource": QColor("#b45309"),
    "knowledge_vault": QColor("#be123c"),
    "observation": QColor("#6b7280"),
}


def parse_time(value: Any) -> datetime | None:
    """A local datetime from an ISO string (as the engine returns) or a unix timestamp."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value).astimezone()
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return parsed.astimezone()


def friendly_time(value: Any, now: datetime | None = None) -> str:
    """'14:05' today, 'Yesterday 14:05', 'Mon 3 Mar 14:05' otherwise."""
    when = parse_time(value)
    if when is None:
        return ""
    now = (now or datetime.now().astimezone())
    if when.date() == now.date():
        return when.strftime("%H:%M")
    if when.date() == (now - timedelta(days=1)).date():
        return "Yesterday " + when.strftime("%H:%M")
    if when.year == now.year:
        return when.strftime("%a %-d %b %H:%M")
    return when.strftime("%-d %b %Y %H:%M")


# -- quick recall --------------------------------------------------------------------


class RecallResultsModel(QAbstractListModel):
    """Quick-recall results grouped by type, each group under a header row.

    Header rows are neither selectable nor enabled, so arrow keys skip them.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[tuple[str, dict | str]] = []  # ("header", type) or ("item", result)

    def set_results(self, results: Iterable[dict]) -> None:
        groups: dict[str, list[dict]] = defaultdict(list)
        for result in results:
            groups[result.get("type") or "observation"].append(result)
        order = [t for t in RECALL_GROUP_ORDER if t in groups] + sorted(t for t in groups if t not in RECALL_GROUP_ORDER)
        self.beginResetModel()
        self._rows = []
        for type_name in order:
            self._rows.append(("header", type_name))
            self._rows.extend(("item", result) for result in groups[type_name])
        self.endResetModel()

    def clear(self) -> None:
        self.set_results([])

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def result_count(self) -> int:
        return sum(1 for kind, _ in self._rows if kind == "item")

    def is_header(self, row: int) -> bool:
        return 0 <= row < len(self._rows) and self._rows[row][0] == "header"

    def item(self, row: int) -> dict | None:
        if 0 <= row < len(self._rows) and self._rows[row][0] == "item":
            return self._rows[row][1]  # type: ignore[return-value]
        return None

    def first_item_row(self) -> int:
        return self.step(-1, 1)

    def step(self, row: int, direction: int) -> int:
        """The next item row from ``row`` going ``direction`` (+1/-1), skipping headers; -1 if none."""
        candidate = row + direction
        while 0 <= candidate < len(self._rows):
            if self._rows[candidate][0] == "item":
                return candidate
            candidate += direction
        return row if self.item(row) is not None else -1

    def flags(self, index):
        if self.is_header(index.row()):
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        kind, value = self._rows[index.row()]
        if kind == "header":
            if role == Qt.ItemDataRole.DisplayRole:
                return TYPE_LABELS.get(value, str(value)).upper()
            if role == HeaderRole:
                return True
            if role == Qt.ItemDataRole.ForegroundRole:
                return TYPE_COLORS.get(value, QColor("#6b7280"))
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setPointSizeF(8)
                font.setBold(True)
                return font
            return None
        result: dict = value  # type: ignore[assignment]
        if role == Qt.ItemDataRole.DisplayRole:
            title = result.get("title") or "(untitled)"
            snippet = " ".join((result.get("snippet") or "").split())
            if snippet.startswith(title + " | "):  # the indexed text starts with the title; do not repeat it
                snippet = snippet[len(title) + 3 :]
            snippet = snippet.replace(" | ", " · ")  # fields of a memory, joined for the index
            when = friendly_time(result.get("time"))
            similar = result.get("similar", 1)
            seen = f"seen {similar} times" if similar > 1 else ""
            meta = " · ".join(p for p in (when, result.get("app") or "", seen) if p)
            second = " — ".join(p for p in (meta, snippet[:160]) if p)
            return f"{title}\n{second}" if second else title
        if role == ItemRole:
            return result
        if role == HeaderRole:
            return False
        if role == KindRole:
            return result.get("kind")
        if role == Qt.ItemDataRole.ToolTipRole:
            return result.get("snippet")
        return None


# -- memories ------------------------------------------------------------------------


# Short labels (kind, sensitivity, source) are in the detail pane; "What it says" is the memory's prose.
_SAYS_SKIPPED = {"entry_type", "event_type", "resource_type", "location", "sensitivity", "source", "actor", "secret_value"}


def readable_text(memory) -> str:
    """What a memory says, as prose: its text fields other than the title, as sentences; steps numbered."""
    spec = memory.spec
    parts: list[str] = []
    for field in spec.fields:
        if field.name in (spec.title_field, *_SAYS_SKIPPED) or field.kind in ("time", "int", "choice") or not field.indexed:
            continue
        value = memory.fields.get(field.name)
        steps = value if isinstance(value, list) else [value]
        for number, step in enumerate(steps, 1):
            text = " ".join(str(step or "").split())
            if not text:
                continue
            if text[-1] not in ".!?:;…":
                text += "."
            parts.append(f"{number}. {text}" if isinstance(value, list) else text)
    if not parts:  # nothing but a title: say what kind of thing it is
        parts = [str(memory.fields[name]) for name in ("event_type", "actor", "resource_type", "entry_type", "location")
                 if memory.fields.get(name) and name != spec.title_field]
        return " · ".join(parts)
    return " ".join(parts)


def memory_row(memory) -> dict:
    """Plain data for one memory as the browser shows it; vault secrets stay masked."""
    data = memory.to_dict(reveal=False)
    data["title"] = memory.title
    data["time"] = data.get(memory.spec.time_field) if memory.spec.time_field else data.get("created_at")
    data["says"] = readable_text(memory)
    return data


class RowTableModel(QAbstractTableModel):
    """A table of dict rows with declared columns (``COLUMNS``) and their headers (``HEADERS``)."""

    COLUMNS: tuple[str, ...] = ()
    HEADERS: dict[str, str] = {}
    _rows: list

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[self.COLUMNS[section]]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == ItemRole:
            return row
        return self.cell(row, self.COLUMNS[index.column()], role)

    def cell(self, row: dict, column: str, role):
        """What ``column`` of ``row`` shows for ``role``; subclasses say."""
        return None


class MemoryTableModel(RowTableModel):
    """The memories of one type: pin, title, what it says, when."""

    COLUMNS = ("pinned", "title", "text", "time")
    HEADERS = {"pinned": "", "title": "Title", "text": "What it says", "time": "When"}

    def __init__(self, memory_type: str, parent=None):
        super().__init__(parent)
        self.memory_type = memory_type
        self._rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_data(self, row: int) -> dict | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, memory_id: int) -> int:
        for row, data in enumerate(self._rows):
            if data["id"] == memory_id:
                return row
        return -1

    def replace(self, data: dict) -> None:
        row = self.row_of(data["id"])
        if row >= 0:
            self._rows[row] = data
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    def remove(self, memory_id: int) -> None:
        row = self.row_of(memory_id)
        if row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()

    def cell(self, row: dict, column: str, role):
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "pinned":
                return "★" if row.get("pinned") else ""
            if column == "title":
                return row.get("title") or ""
            if column == "text":
                if self.memory_type == "knowledge_vault":
                    return f"{row.get('entry_type') or ''}: {row.get('secret_value') or ''}"
                text = row.get("says") or row.get("text") or ""
                return text if len(text) <= 160 else text[:157] + "…"
            if column == "time":
                return friendly_time(row.get("time"))
        if role == Qt.ItemDataRole.ForegroundRole and column == "pinned":
            return QColor("#d97706")
        if role == Qt.ItemDataRole.ToolTipRole and column in ("pinned",):
            return "Pinned: never archived" if row.get("pinned") else None
        return None


# -- timeline ------------------------------------------------------------------------


def observation_row(observation) -> dict:
    return {
        "id": observation.id,
        "kind": observation.kind,
        "ts": observation.ts,
        "app": observation.app or "",
        "window_title": observation.window_title or "",
        "text": observation.text or "",
        "url": observation.url or "",
    }


MAX_THUMBNAILS = 600  # decoded list thumbnails kept (about 40 KB each)


class TimelineModel(QAbstractListModel):
    """One day of observations.  Thumbnails are requested only for rows a view paints."""

    def __init__(self, request_thumbnail: Callable[[int], None] | None = None, parent=None):
        super().__init__(parent)
        self._rows: list[dict] = []
        self._thumbs: dict[int, QImage | None] = {}
        self._requested: set[int] = set()
        self._request = request_thumbnail

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._thumbs.clear()
        self._requested.clear()
        self.endResetModel()

    def row_data(self, row: int) -> dict | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_at_or_after(self, ts: float) -> int:
        for row, data in enumerate(self._rows):
            if data["ts"] >= ts:
                return row
        return len(self._rows) - 1

    def row_of(self, observation_id: int) -> int:
        for row, data in enumerate(self._rows):
            if data["id"] == observation_id:
                return row
        return -1

    def append_rows(self, rows: list[dict]) -> int:
        """Add observations that arrived since the list was loaded (newest last); returns how many were new."""
        known = {data["id"] for data in self._rows}
        fresh = sorted((r for r in rows if r["id"] not in known), key=lambda r: (r["ts"], r["id"]))
        if not fresh:
            return 0
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(fresh) - 1)
        self._rows.extend(fresh)
        self.endInsertRows()
        return len(fresh)

    def last_ts(self) -> float | None:
        return self._rows[-1]["ts"] if self._rows else None

    def thumbnail(self, observation_id: int) -> tuple[bool, QImage | None]:
        """(loaded, image): asks for the thumbnail when it has not been loaded yet."""
        if observation_id in self._thumbs:
            return True, self._thumbs[observation_id]
        if self._request is not None and observation_id not in self._requested:
            self._requested.add(observation_id)
            self._request(observation_id)
        return False, None

    def drop_thumbnails(self) -> None:
        """Forget every decoded thumbnail; the view asks again for the rows it paints."""
        self._thumbs.clear()
        self._requested.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1), [Qt.ItemDataRole.DecorationRole])

    def set_thumbnail(self, observation_id: int, image: QImage | None) -> None:
        if len(self._thumbs) >= MAX_THUMBNAILS:  # a long day scrolled end to end: keep the newest decoded
            for old in list(self._thumbs)[: MAX_THUMBNAILS // 4]:
                del self._thumbs[old]
                self._requested.discard(old)
        self._thumbs[observation_id] = image
        row = self.row_of(observation_id)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == ItemRole:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            when = datetime.fromtimestamp(row["ts"]).strftime("%H:%M:%S")
            where = " — ".join(p for p in (row["app"], row["window_title"]) if p) or row["kind"]
            text = " ".join(row["text"].split())
            text = text if len(text) <= 220 else text[:217] + "…"
            return f"{when}  {where}\n{text or '(no text)'}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnail(row["id"])[1]
        return None


# -- activity ------------------------------------------------------------------------


def activity_by_day(rows: Iterable[dict], *, max_gap: float = 60.0) -> dict[str, dict[str, float]]:
    """Seconds per application per local day, from observation rows sorted by time.

    Each screen observation counts for the time until the next one, capped at
    ``max_gap`` so an idle or locked stretch does not count as use.
    """
    screen = sorted((r for r in rows if r.get("kind", "screen") == "screen"), key=lambda r: r["ts"])
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for current, following in zip(screen, screen[1:] + [None]):
        span = min(max_gap, (following["ts"] - current["ts"]) if following else max_gap / 2)
        day = datetime.fromtimestamp(current["ts"]).strftime("%Y-%m-%d")
        out[day][current.get("app") or "unknown"] += max(0.0, span)
    return {day: dict(apps) for day, apps in out.items()}


# -- models --------------------------------------------------------------------------


class ModelListModel(RowTableModel):
    """Installed and available models as the models manager lists them."""

    COLUMNS = ("label", "role", "size", "state")
    HEADERS = {"label": "Model", "role": "Used for", "size": "Size", "state": "State"}

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[dict] = []
        self._progress: dict[str, tuple[int, int]] = {}

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_data(self, row: int) -> dict | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_progress(self, name: str, done: int, total: int | None) -> None:
        self._progress[name] = (done, total or 0)
        for row, data in enumerate(self._rows):
            if data.get("name") == name:
                self.dataChanged.emit(self.index(row, 3), self.index(row, 3))

    def clear_progress(self, name: str) -> None:
        self._progress.pop(name, None)

    def state_text(self, data: dict) -> str:
        name = data.get("name")
        if name in self._progress:
            done, total = self._progress[name]
            return f"Downloading {done * 100 // total}%" if total else f"Downloading {human_size(done)}"
        parts = []
        if data.get("configured"):
            parts.append("In use")
        elif data.get("installed"):
            parts.append("Installed")
        else:
            parts.append("Available")
        if data.get("recommended"):
            parts.append("recommended")
        return ", ".join(parts)

    def cell(self, row: dict, column: str, role):
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "label":
                return row.get("label") or row.get("name")
            if column == "role":
                return {"chat": "Chat and memory building", "embedding": "Search by meaning"}.get(row.get("role"), row.get("role") or "")
            if column == "size":
                return human_size(row.get("size"))
            if column == "state":
                return self.state_text(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.get("notes")
        if role == Qt.ItemDataRole.FontRole and row.get("configured"):
            font = QFont()
            font.setBold(True)
            return font
        return None


def human_size(size: Any) -> str:
    if not size:
        return ""
    size = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return ""
