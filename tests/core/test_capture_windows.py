"""Hiding excluded windows: the pure geometry and blanking, and the service with a fake window list."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from core.capture.changes import Rect, Word
from core.capture.ocr import FakeOcr
from core.capture.privacy import ExclusionRules
from core.capture.screen import Monitor, ScreenSource, WindowContext
from core.capture.service import CaptureService
from core.capture.windows import (
    BLANK,
    ScreenWindow,
    blank,
    describe_hidden,
    hidden_windows,
    on_monitor,
    subtract,
    visible_parts,
)
from core.events import EventBus
from core.settings import Settings

WHITE = 0xFFFFFFFF
INK = 0xFF102030


def window(app, rect, title="", pid=None, instance=None, covers="same"):
    rect = Rect(*rect)
    return ScreenWindow(
        window_id=hash((app, rect)) & 0xFFFFFF,
        rect=rect,
        context=WindowContext(app=app, title=title, pid=pid, instance=instance),
        covers=rect if covers == "same" else covers,
    )


def area(rects):
    return sum(r.area for r in rects)


# -- geometry -----------------------------------------------------------------------------


def test_subtract_leaves_the_frame_around_a_hole():
    parts = subtract(Rect(0, 0, 10, 10), Rect(3, 3, 6, 6))
    assert area(parts) == 100 - 9 and len(parts) == 4
    assert all(not p.intersects(Rect(3, 3, 6, 6)) for p in parts)
    assert subtract(Rect(0, 0, 10, 10), Rect(20, 20, 30, 30)) == [Rect(0, 0, 10, 10)]
    assert subtract(Rect(2, 2, 4, 4), Rect(0, 0, 10, 10)) == []
    assert subtract(Rect(0, 0, 10, 10), Rect(5, -5, 15, 15)) == [Rect(0, 0, 5, 10)]


def test_visible_parts_under_several_covers():
    parts = visible_parts(Rect(0, 0, 100, 100), [Rect(50, 0, 100, 100), Rect(0, 50, 100, 100)])
    assert parts == [Rect(0, 0, 50, 50)]
    assert visible_parts(Rect(0, 0, 10, 10), [Rect(0, 0, 10, 10)]) == []
    assert visible_parts(Rect(5, 5, 5, 9), []) == []  # an empty window shows nothing


def test_hidden_windows_only_their_visible_parts_top_most_first():
    rules = ExclusionRules(["keepassxc"], ["(?i)incognito"], own_pid=4242)
    stack = [  # bottom to top
        window("KeePassXC", (0, 0, 600, 400)),
        window("Firefox", (100, 100, 700, 500), title="Bank — Incognito"),
        window("Editor", (300, 0, 1000, 800)),  # focused, on top
        window("Buried", (320, 10, 900, 700), title="an incognito thing under the editor"),
    ]
    # The last one is on top of the editor but let us bury it: put it below everything.
    stack = [stack[3]] + stack[:3]
    found = hidden_windows(stack, rules.match)
    assert [h.label for h in found] == ["Firefox", "KeePassXC"]  # 'Buried' is wholly covered by the editor
    firefox, keepass = found
    assert firefox.rule == "title" and area(firefox.regions) == 200 * 400
    assert keepass.rule == "app" and area(keepass.regions) == 300 * 400 - 200 * 300
    for region in keepass.regions:
        assert not region.intersects(Rect(300, 0, 1000, 800))  # never over the editor


def test_engram_windows_are_hidden_whatever_the_settings():
    rules = ExclusionRules([], [], own_pid=4242)
    stack = [
        window("Notes", (0, 0, 800, 600), pid=77),
        window("python3", (0, 0, 100, 100), pid=4242),  # this process, whatever its class
        window("Engram", (200, 0, 300, 100), pid=99, instance="engram"),  # another Engram process
        window("Engramtestpad", (400, 0, 500, 100)),  # not Engram
    ]
    found = hidden_windows(stack, rules.match)
    assert [(h.label, h.rule) for h in found] == [("Engram", "self"), ("Engram", "self")]
    assert rules.match(WindowContext(app="Engram", instance="engram")).rule == "self"
    assert rules.match(WindowContext(app="Notes", pid=4242)).rule == "self"
    assert rules.match(WindowContext(app="Engramtestpad")) is None
    assert ExclusionRules([], []).own_pid == os.getpid()


def test_translucent_and_shadowed_windows_do_not_hide_what_is_below():
    rules = ExclusionRules(["keepassxc"], [])
    below = window("KeePassXC", (0, 0, 400, 400))
    glass = window("Terminal", (0, 0, 400, 400), covers=None)  # translucent: covers nothing
    assert area(hidden_windows([below, glass], rules.match)[0].regions) == 400 * 400
    shadowed = window("Gedit", (0, 0, 400, 400), covers=Rect(20, 20, 380, 380))  # client-side shadow
    regions = hidden_windows([below, shadowed], rules.match)[0].regions
    assert area(regions) == 400 * 400 - 360 * 360


def test_on_monitor_translates_and_clips():
    right = Monitor(2, 1920, 0, 1280, 1024)
    assert on_monitor([Rect(1800, 100, 2000, 200)], right) == [Rect(0, 100, 80, 200)]
    assert on_monitor([Rect(0, 0, 1920, 1080)], right) == []
    assert on_monitor([Rect(3000, 1000, 3500, 1100)], right) == [Rect(1080, 1000, 1280, 1024)]


# -- blanking ------------------------------------------------------------------------------


def test_blank_fills_the_rectangles_and_leaves_the_input_alone():
    frame = np.full((10, 20), np.uint32(WHITE), dtype=np.uint32)
    frame[2:4, 2:18] = INK
    out = blank(frame, [Rect(0, 0, 5, 5), Rect(15, 8, 40, 40)])
    assert out is not frame and (frame[2:4, 2:18] == INK).all() and (frame != BLANK).all()
    assert (out[0:5, 0:5] == BLANK).all() and (out[8:10, 15:20] == BLANK).all()
    assert (out[2:4, 5:15] == INK).all() and int(np.count_nonzero(out == BLANK)) == 25 + 10
    assert blank(frame, []) is frame and blank(frame, [Rect(30, 30, 40, 40)]) is frame


# -- status text ---------------------------------------------------------------------------


def test_describe_hidden():
    assert describe_hidden([]) is None
    assert describe_hidden(["KeePassXC"]) == "1 window hidden from capture: KeePassXC"
    assert describe_hidden(["KeePassXC", "Engram"]) == "2 windows hidden from capture: KeePassXC, Engram"
    assert describe_hidden(["Engram"], 3) == "3 windows hidden from capture: Engram"


# -- the service ---------------------------------------------------------------------------


class WindowedScreen(ScreenSource):
    """A 200x100 screen: an editor (focused) at the right, a password manager at the left; both show text."""

    def __init__(self, stacks):
        self.stacks = list(stacks)  # one window list per call of windows(); the last repeats
        self.calls = 0
        self.context = WindowContext(app="Editor", title="notes.txt", pid=77)

    def monitors(self):
        return [Monitor(1, 0, 0, 200, 100)]

    def focused_window(self):
        return self.context

    def grab(self, monitor):
        frame = np.full((100, 200), np.uint32(WHITE), dtype=np.uint32)
        frame[10:20, 10:90] = INK  # the password manager's text
        frame[10:20, 110:190] = INK  # the editor's text
        return frame

    def windows(self):
        stack = self.stacks[min(self.calls, len(self.stacks) - 1)]
        self.calls += 1
        return stack


KEEPASS = window("KeePassXC", (0, 0, 120, 100), pid=55)
EDITOR = window("Editor", (100, 0, 200, 100), pid=77)


def ink_reader(image):
    """A fake OCR: one word per run of ink in the text row, named by where it starts (black is no ink)."""
    pixels = np.asarray(image.convert("L"))
    words = []
    if pixels.shape[0] > 15:
        row = (pixels[15] > 10) & (pixels[15] < 128)
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                words.append(Word("vault" if start < 100 else "notes", 95, Rect(start, 10, x, 20)))
            x += 1
    return words


def make(paths, screen):
    rows = []

    class Sink:
        def add(self, kind, text, **fields):
            rows.append({"text": text, **fields})
            return len(rows)

        def purge_thumbnails(self, older_than):
            return 0

    service = CaptureService(Settings(paths), EventBus(), Sink(), screen_factory=lambda: screen, ocr=FakeOcr(ink_reader))
    return service, rows


def test_background_excluded_window_is_blanked_before_ocr_and_thumbnail(paths):
    service, rows = make(paths, WindowedScreen([[KEEPASS, EDITOR]]))
    outcome = service.capture_once()
    assert outcome.kept and rows[0]["text"] == "notes"
    thumb = np.asarray(Image.open(io.BytesIO(rows[0]["thumbnail"])).convert("L"))
    assert thumb[:, : thumb.shape[1] * 100 // 200 - 2].max() < 40  # the password manager's part is black
    assert thumb[:, thumb.shape[1] * 120 // 200 + 2 :].max() > 200  # the editor is not
    status = service.status()
    assert status["windows_hidden"] == 1 and status["hidden_windows"] == ["KeePassXC"]
    assert status["hidden_summary"] == "1 window hidden from capture: KeePassXC"


def test_without_the_rule_the_same_window_is_read(paths):
    settings = Settings(paths)
    settings.set("privacy.exclude_apps", [])
    service, rows = make(paths, WindowedScreen([[KEEPASS, EDITOR]]))
    service.settings = settings
    assert service.capture_once().kept and rows[0]["text"] == "vault notes"
    assert service.status()["hidden_summary"] is None


def test_a_window_moving_during_the_grab_drops_the_frame(paths):
    moved = window("KeePassXC", (0, 0, 60, 100), pid=55)
    screen = WindowedScreen([[KEEPASS, EDITOR], [moved, EDITOR], [KEEPASS, EDITOR]])
    service, rows = make(paths, screen)
    outcome = service.capture_once()
    assert outcome.reason == "excluded" and "moved" in outcome.detail and rows == []
    assert service.status()["frames_window_moved"] == 1
    assert service.capture_once().kept and rows[0]["text"] == "notes"  # the next look is steady


def test_focused_engram_window_is_never_grabbed(paths):
    screen = WindowedScreen([[EDITOR]])
    screen.context = WindowContext(app="python3", title="Memories", pid=os.getpid())
    service, rows = make(paths, screen)
    outcome = service.capture_once()
    assert outcome.reason == "excluded" and "Engram's own" in outcome.detail and rows == []
    assert screen.calls == 0  # not even listed: nothing is grabbed


def test_loop_blanks_before_change_detection(paths):
    """A hidden window's own changes never make a frame count as changed."""
    screen = WindowedScreen([[KEEPASS, EDITOR]])
    service, rows = make(paths, screen)
    frames = iter([0, 1])

    def grab(monitor, base=screen.grab):
        frame = base(monitor)
        frame[50:60, 10:90] = INK if next(frames, 1) else WHITE  # only the password manager changes
        return frame

    screen.grab = grab
    for _ in range(2):
        service._tick()
        job = service.queue.get(timeout=0)
        if job is not None:
            service._read_job(job, allow_defer=False)
    assert [r["text"] for r in rows] == ["notes"] and service.status()["frames_skipped"] == 1


@pytest.mark.parametrize("stack", [None, []])
def test_sources_that_cannot_list_windows_keep_the_focused_window_rule(paths, stack):
    screen = WindowedScreen([stack])
    service, rows = make(paths, screen)
    assert service.capture_once().kept and rows[0]["text"] == "vault notes"
