"""Change detection between two frames of one monitor, and the text cache.

A frame is a ``(height, width)`` array of ``uint32``: one packed BGRA pixel
each, as mss returns them.  Screens are digital, so two grabs of an unchanged
screen are bit-identical; comparing packed pixels exactly is both cheaper and
more sensitive than a downscaled grayscale comparison (which would average a
typed character away).  The steps:

1. ``diff_frames``: the exact changed-pixel mask, its fraction, and whether the
   change is negligible (nothing, a few pixels, or a blinking text cursor).
2. ``changed_rects``: the mask reduced to a grid of tiles, changed tiles grouped
   into horizontal runs of tile rows, each run bounded by its changed columns.
3. ``plan_frame``: each rectangle is grown to whole text lines (up to the next
   pair of identical rows) and to cover any cached word it touches, so OCR
   never sees half a word; a vertical scroll inside a rectangle is recognised
   from row signatures and the cached words are moved instead of re-read.
   What remains is the list of rectangles to OCR and the cached words to keep.

``MonitorText`` holds, per monitor, the reference frame (the last one read) and
the words read from it; ``apply`` merges the new OCR words into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TILE = 16
# Fewer changed pixels than this is noise (a blinking caret, a clock's colon).
MIN_CHANGED_PIXELS = 24
# A change no wider than this (in pixels) and no taller than CARET_MAX_HEIGHT is a text caret.
CARET_MAX_WIDTH = 3
CARET_MAX_HEIGHT = 48
# How far a rectangle may grow to reach whole lines, in pixels each way.
MAX_LINE_GROWTH = 40
MARGIN = 8
MIN_SCROLL_HEIGHT = 64


@dataclass(frozen=True, order=True)
class Rect:
    """A half-open pixel rectangle ``[x0, x1) x [y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def intersects(self, other: "Rect") -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def union(self, other: "Rect") -> "Rect":
        return Rect(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def contains_point(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1

    def clip(self, width: int, height: int) -> "Rect":
        return Rect(max(0, self.x0), max(0, self.y0), min(width, self.x1), min(height, self.y1))

    def shifted(self, dy: int) -> "Rect":
        return Rect(self.x0, self.y0 + dy, self.x1, self.y1 + dy)


@dataclass(frozen=True)
class Word:
    """One OCR word with its box in monitor pixels and its confidence (0-100)."""

    text: str
    conf: float
    box: Rect

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box.x0 + self.box.x1) / 2, (self.box.y0 + self.box.y1) / 2)

    def shifted(self, dy: int) -> "Word":
        return Word(self.text, self.conf, self.box.shifted(dy))


@dataclass(frozen=True)
class FrameDiff:
    mask: np.ndarray | None
    changed_pixels: int
    changed_fraction: float
    negligible: bool


def diff_frames(previous: np.ndarray | None, current: np.ndarray) -> FrameDiff:
    """Which pixels changed, and whether the change is too small to read again."""
    total = current.shape[0] * current.shape[1]
    if previous is None or previous.shape != current.shape:
        return FrameDiff(None, total, 1.0, False)
    mask = previous != current
    changed = int(np.count_nonzero(mask))
    if changed == 0:
        return FrameDiff(mask, 0, 0.0, True)
    negligible = changed < MIN_CHANGED_PIXELS
    if not negligible:
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        height = int(rows[-1] - rows[0] + 1)
        width = int(cols[-1] - cols[0] + 1)
        negligible = width <= CARET_MAX_WIDTH and height <= CARET_MAX_HEIGHT
    return FrameDiff(mask, changed, changed / total, negligible)


def tile_counts(mask: np.ndarray, tile: int = TILE) -> np.ndarray:
    """Changed pixels per ``tile`` x ``tile`` tile (edge tiles padded with 'unchanged')."""
    height, width = mask.shape
    rows = -(-height // tile)
    cols = -(-width // tile)
    if rows * tile != height or cols * tile != width:
        padded = np.zeros((rows * tile, cols * tile), dtype=bool)
        padded[:height, :width] = mask
        mask = padded
    return mask.reshape(rows, tile, cols, tile).sum(axis=(1, 3), dtype=np.int32)


def changed_rects(mask: np.ndarray, tile: int = TILE, min_tile_pixels: int = 1) -> list[Rect]:
    """Changed tiles grouped into rectangles: runs of tile rows, each bounded by its changed columns.

    Two runs separated by a single unchanged tile row are joined: text lines
    are closer than that, and one OCR call on a taller strip is cheaper than two.
    """
    counts = tile_counts(mask, tile)
    changed = counts >= min_tile_pixels
    height, width = mask.shape
    row_has = changed.any(axis=1)
    rects: list[Rect] = []
    row = 0
    n_rows = changed.shape[0]
    while row < n_rows:
        if not row_has[row]:
            row += 1
            continue
        start = row
        end = row + 1
        while end < n_rows and (row_has[end] or (end + 1 < n_rows and row_has[end + 1])):
            end += 1
        cols = np.flatnonzero(changed[start:end].any(axis=0))
        rects.append(
            Rect(int(cols[0]) * tile, start * tile, int(cols[-1] + 1) * tile, end * tile).clip(width, height)
        )
        row = end
    return rects


def _row_signatures(frame: np.ndarray, x0: int, x1: int, weights: np.ndarray) -> np.ndarray:
    """One 64-bit signature per row of ``frame[:, x0:x1]`` (wrapping arithmetic is intended)."""
    span = frame[:, x0:x1].astype(np.uint64)
    with np.errstate(over="ignore"):
        return (span * weights[: x1 - x0]).sum(axis=1, dtype=np.uint64)


def _uniform_rows(frame: np.ndarray, x0: int, x1: int) -> np.ndarray:
    span = frame[:, x0:x1]
    return (span == span[:, :1]).all(axis=1)


_WEIGHTS_CACHE: dict[int, np.ndarray] = {}


def _weights(width: int) -> np.ndarray:
    weights = _WEIGHTS_CACHE.get(width)
    if weights is None:
        rng = np.random.default_rng(20240521)
        weights = rng.integers(1, 2**63 - 1, size=width, dtype=np.uint64) | np.uint64(1)
        _WEIGHTS_CACHE[width] = weights
    return weights


def grow_to_lines(frame: np.ndarray, rect: Rect, max_growth: int = MAX_LINE_GROWTH) -> Rect:
    """Grow ``rect`` up and down until a row equals its neighbour (a gap between text lines).

    Glyph rows differ from their neighbours; the background between lines
    repeats.  Growth stops after ``max_growth`` pixels on busy images.
    """
    height, width = frame.shape
    x0 = max(0, rect.x0 - MARGIN)
    x1 = min(width, rect.x1 + MARGIN)
    y0, y1 = rect.y0, rect.y1
    limit = max(0, y0 - max_growth)
    while y0 > limit and not np.array_equal(frame[y0 - 1, x0:x1], frame[y0, x0:x1]):
        y0 -= 1
    limit = min(height, y1 + max_growth)
    while y1 < limit and not np.array_equal(frame[y1 - 1, x0:x1], frame[y1, x0:x1]):
        y1 += 1
    return Rect(x0, y0, x1, y1)


def _cover_words(rect: Rect, words: list[Word], width: int, height: int) -> Rect:
    """Grow ``rect`` until no cached word sticks out of it half-covered."""
    for _ in range(8):
        grown = rect
        for word in words:
            if word.box.intersects(grown):
                grown = grown.union(word.box)
        grown = grown.clip(width, height)
        if grown == rect:
            break
        rect = grown
    return rect


def merge_rects(rects: list[Rect]) -> list[Rect]:
    """Overlapping or touching rectangles merged into their unions."""
    pending = sorted(rects)
    merged: list[Rect] = []
    while pending:
        current = pending.pop(0)
        changed = True
        while changed:
            changed = False
            for other in list(pending):
                touching = Rect(current.x0 - 1, current.y0 - 1, current.x1 + 1, current.y1 + 1)
                if touching.intersects(other):
                    current = current.union(other)
                    pending.remove(other)
                    changed = True
        merged.append(current)
    return sorted(merged, key=lambda r: (r.y0, r.x0))


def detect_scroll(previous: np.ndarray, current: np.ndarray, rect: Rect) -> tuple[int, np.ndarray]:
    """A vertical shift ``dy`` of the content of ``rect``, and which of its rows it explains.

    Rows are compared by signature over the rectangle's columns; the shift
    voted for by most distinctive rows wins if it explains at least a third of
    them.  Returns ``(0, no rows)`` when the change is not a scroll.
    """
    weights = _weights(previous.shape[1])
    old_sig = _row_signatures(previous, rect.x0, rect.x1, weights)
    new_sig = _row_signatures(current, rect.x0, rect.x1, weights)
    explained = np.zeros(rect.height, dtype=bool)
    old_uniform = _uniform_rows(previous, rect.x0, rect.x1)
    positions: dict[int, list[int]] = {}
    for y in range(previous.shape[0]):
        if not old_uniform[y]:
            positions.setdefault(int(old_sig[y]), []).append(y)
    votes: dict[int, int] = {}
    distinctive = 0
    new_uniform = _uniform_rows(current, rect.x0, rect.x1)
    for y in range(rect.y0, rect.y1):
        if new_uniform[y]:
            continue
        distinctive += 1
        found = positions.get(int(new_sig[y]))
        if found and len(found) == 1 and found[0] != y:
            dy = y - found[0]
            votes[dy] = votes.get(dy, 0) + 1
    if not votes or distinctive == 0:
        return 0, explained
    dy, count = max(votes.items(), key=lambda item: item[1])
    if count * 3 < distinctive:
        return 0, explained
    for y in range(rect.y0, rect.y1):
        source = y - dy
        if 0 <= source < previous.shape[0] and new_sig[y] == old_sig[source]:
            explained[y - rect.y0] = True
    return dy, explained


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index runs where ``flags`` is True."""
    runs = []
    start = None
    for index, flag in enumerate(flags):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            runs.append((start, index))
            start = None
    if start is not None:
        runs.append((start, len(flags)))
    return runs


@dataclass
class FramePlan:
    """What to read in a frame: ``ocr_rects`` to OCR, ``kept_words`` carried from the cache."""

    status: str  # "first", "unchanged" or "changed"
    changed_fraction: float
    ocr_rects: list[Rect] = field(default_factory=list)
    kept_words: list[Word] = field(default_factory=list)
    scrolled: int = 0

    @property
    def ocr_area(self) -> int:
        return sum(rect.area for rect in self.ocr_rects)


@dataclass
class MonitorText:
    """The last frame read on one monitor and the words read from it."""

    reference: np.ndarray | None = None
    words: list[Word] = field(default_factory=list)

    def plan(self, frame: np.ndarray) -> FramePlan:
        """Compare ``frame`` with the reference and decide what to OCR."""
        height, width = frame.shape
        diff = diff_frames(self.reference, frame)
        if diff.mask is None:
            return FramePlan("first", 1.0, [Rect(0, 0, width, height)], [])
        if diff.negligible:
            return FramePlan("unchanged", diff.changed_fraction)
        previous = self.reference
        assert previous is not None
        words = list(self.words)
        to_read: list[Rect] = []
        scrolled = 0
        for rect in changed_rects(diff.mask):
            rect = grow_to_lines(frame, rect)
            if rect.height >= MIN_SCROLL_HEIGHT:
                dy, explained = detect_scroll(previous, frame, rect)
                if dy:
                    scrolled = dy
                    words = _scroll_words(words, rect, dy, explained)
                    for start, end in _runs(~explained):
                        band = Rect(rect.x0, rect.y0 + start, rect.x1, rect.y0 + end)
                        to_read.append(grow_to_lines(frame, band))
                    continue
            to_read.append(rect)
        final: list[Rect] = []
        for rect in merge_rects(to_read):
            final.append(_cover_words(rect, words, width, height))
        final = merge_rects(final)
        kept = [word for word in words if not any(r.contains_point(*word.center) for r in final)]
        return FramePlan("changed", diff.changed_fraction, final, kept, scrolled)

    def apply(self, frame: np.ndarray, plan: FramePlan, new_words: list[Word]) -> list[Word]:
        """Make ``frame`` the reference and its words the cache; returns the frame's words."""
        inside = [w for w in new_words if any(r.contains_point(*w.center) for r in plan.ocr_rects)]
        self.reference = frame
        self.words = plan.kept_words + inside
        return list(self.words)

    def reset(self) -> None:
        self.reference = None
        self.words = []


def _scroll_words(words: list[Word], rect: Rect, dy: int, explained: np.ndarray) -> list[Word]:
    """Cached words inside ``rect`` moved by ``dy``; those not wholly on explained rows are dropped."""
    out = []
    for word in words:
        if not rect.contains_point(*word.center):
            out.append(word)
            continue
        moved = word.shifted(dy)
        top = moved.box.y0 - rect.y0
        bottom = moved.box.y1 - rect.y0
        if top >= 0 and bottom <= rect.height and explained[top:bottom].all():
            out.append(moved)
    return out


def words_to_text(words: list[Word]) -> str:
    """Words in reading order: lines top to bottom, words left to right."""
    lines: list[list[Word]] = []
    spans: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: (w.box.y0, w.box.x0)):
        placed = False
        for index in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
            top, bottom = spans[index]
            overlap = min(bottom, word.box.y1) - max(top, word.box.y0)
            if overlap >= 0.5 * min(bottom - top, word.box.height):
                lines[index].append(word)
                spans[index] = (min(top, word.box.y0), max(bottom, word.box.y1))
                placed = True
                break
        if not placed:
            lines.append([word])
            spans.append((word.box.y0, word.box.y1))
    return "\n".join(" ".join(w.text for w in sorted(line, key=lambda w: w.box.x0)) for line in lines)
