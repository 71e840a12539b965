"""Change detection, tiling, merging, scrolling and the word cache, on synthetic frames."""

import numpy as np

from core.capture.changes import (
    MonitorText,
    Rect,
    Word,
    changed_rects,
    detect_scroll,
    diff_frames,
    grow_to_lines,
    merge_rects,
    words_to_text,
)

WHITE = np.uint32(0xFFFFFFFF)
INK = np.uint32(0xFF101010)


def blank(height=200, width=320):
    return np.full((height, width), WHITE, dtype=np.uint32)


def draw_line(frame, y, x0, x1, seed=0):
    """A 'text line': 12 rows of glyph-like noise, every row different from its neighbours."""
    rng = np.random.default_rng(seed)
    block = np.where(rng.random((12, x1 - x0)) < 0.4, INK, WHITE).astype(np.uint32)
    block[:, ::7] = WHITE  # letter gaps
    frame[y : y + 12, x0:x1] = block
    return frame


def test_identical_frames_are_negligible():
    frame = draw_line(blank(), 20, 10, 200)
    diff = diff_frames(frame, frame.copy())
    assert diff.negligible and diff.changed_pixels == 0


def test_first_frame_is_a_full_change():
    diff = diff_frames(None, blank())
    assert not diff.negligible and diff.changed_fraction == 1.0


def test_blinking_caret_is_negligible_but_a_typed_word_is_not():
    before = draw_line(blank(), 20, 10, 200)
    caret = before.copy()
    caret[20:36, 205] = INK
    assert diff_frames(before, caret).negligible
    typed = draw_line(before.copy(), 20, 200, 260, seed=3)
    assert not diff_frames(before, typed).negligible


def test_changed_rects_group_tile_rows_and_bound_columns():
    mask = np.zeros((200, 320), dtype=bool)
    mask[20:25, 40:60] = True  # tile row 1, cols 2-3
    mask[40:42, 100:110] = True  # tile row 2 -> same run
    mask[150:152, 300:305] = True  # far below: its own rectangle
    rects = changed_rects(mask)
    assert rects == [Rect(32, 16, 112, 48), Rect(288, 144, 320, 160)]


def test_merge_rects_joins_overlapping_and_touching():
    merged = merge_rects([Rect(0, 0, 10, 10), Rect(10, 0, 20, 10), Rect(50, 50, 60, 60), Rect(5, 5, 15, 15)])
    assert merged == [Rect(0, 0, 20, 15), Rect(50, 50, 60, 60)]


def test_grow_to_lines_reaches_whole_text_lines():
    frame = draw_line(blank(), 40, 10, 300)
    grown = grow_to_lines(frame, Rect(100, 48, 140, 50))
    assert grown.y0 <= 40 and grown.y1 >= 52
    assert grown.y0 >= 30 and grown.y1 <= 60  # stopped at the blank rows around the line


def test_scroll_is_detected_and_only_new_rows_are_read():
    document = blank(400, 320)
    for index in range(24):
        draw_line(document, 10 + index * 16, 10, 300, seed=index)
    view_before = document[0:200].copy()
    view_after = document[48:248].copy()
    dy, explained = detect_scroll(view_before, view_after, Rect(0, 0, 320, 200))
    assert dy == -48
    assert explained[:140].all() and not explained[160:].all()

    cache = MonitorText()
    first = cache.plan(view_before)
    words = [Word(f"line{i}", 90, Rect(10, 10 + i * 16, 300, 22 + i * 16)) for i in range(12)]
    cache.apply(view_before, first, words)
    plan = cache.plan(view_after)
    assert plan.status == "changed" and plan.scrolled == -48
    assert plan.ocr_area < 0.4 * view_after.size  # just the strip that scrolled in
    kept = {w.text: w.box.y0 for w in plan.kept_words}
    assert kept["line5"] == 10 + 5 * 16 - 48  # moved with the content
    assert "line0" not in kept and "line1" not in kept  # scrolled out


def test_changed_region_replaces_only_its_words_and_keeps_the_rest():
    before = blank()
    draw_line(before, 20, 10, 300, seed=1)
    draw_line(before, 100, 10, 300, seed=2)
    cache = MonitorText()
    cache.apply(before, cache.plan(before), [
        Word("top", 90, Rect(10, 20, 60, 32)), Word("bottom", 90, Rect(10, 100, 80, 112)),
    ])
    after = before.copy()
    draw_line(after, 100, 10, 300, seed=9)
    plan = cache.plan(after)
    assert [w.text for w in plan.kept_words] == ["top"]
    assert all(r.y0 <= 100 and r.y1 >= 112 for r in plan.ocr_rects)
    words = cache.apply(after, plan, [Word("changed", 90, Rect(10, 100, 90, 112)), Word("stray", 90, Rect(10, 20, 50, 32))])
    # A word the OCR reports outside the regions it was given is not trusted.
    assert sorted(w.text for w in words) == ["changed", "top"]


def test_region_grows_to_cover_a_cached_word_it_cuts():
    frame = blank()
    draw_line(frame, 40, 10, 300)
    cache = MonitorText()
    cache.apply(frame, cache.plan(frame), [Word("wideword", 90, Rect(10, 40, 200, 52))])
    after = frame.copy()
    after[42:50, 190:196] = INK ^ np.uint32(0x00FF00)
    plan = cache.plan(after)
    assert any(r.x0 <= 10 and r.x1 >= 200 for r in plan.ocr_rects)


def test_words_to_text_orders_lines_then_columns():
    words = [
        Word("world", 90, Rect(60, 10, 100, 22)),
        Word("second", 90, Rect(10, 40, 70, 52)),
        Word("hello", 90, Rect(10, 12, 50, 24)),
    ]
    assert words_to_text(words) == "hello world\nsecond"
