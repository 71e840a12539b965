"""Make the desktop sequence the capture bench replays.

The sequence is rendered, not filmed: a 1280x800 desktop with a top bar and
clock, an editor, a document viewer and a browser, drawn with PIL from a fixed
script (typing in the editor, scrolling the document, switching applications,
idle stretches with a blinking caret).  Rendering is deterministic, so the
bench regenerates the same frames every run instead of storing megabytes of
pixels; ``python bench/record_capture.py OUT_DIR`` writes them as PNGs to look
at.

``recorded_frames()`` yields ``(label, app, title, frame)`` with ``frame`` a
``(800, 1280)`` array of packed BGRA ``uint32``, as mss grabs them.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1280, 800
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/noto", "/usr/share/fonts/dejavu")

WORDS = (
    "memory capture engram invoice meeting project budget review quarterly design schedule client report "
    "deadline database encrypted private local search recall summary notes tomorrow morning afternoon call "
    "Globex Initech Umbrella Hooli contract signed pending shipment tracking number customer support ticket "
    "release version feature branch merge request pipeline failed passed deployment server kernel network"
).split()


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for directory in FONT_DIRS:
        path = Path(directory) / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default()


def _sentences(seed: int, count: int, words_per_line: int = 9) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(words_per_line)).capitalize() for _ in range(count)]


class Desktop:
    """The state of the fake desktop; ``render()`` draws it."""

    def __init__(self) -> None:
        self.mono = _font("DejaVuSansMono.ttf", 15)
        self.sans = _font("DejaVuSans.ttf", 15)
        self.bar = _font("DejaVuSans.ttf", 13)
        self.app = "editor"
        self.minute = 0
        self.caret = True
        self.editor_lines = _sentences(1, 12, 7)
        self.typing = ""
        self.document = _sentences(2, 160, 10)
        self.scroll = 0  # pixels
        self.browser = _sentences(3, 20, 8)

    def title(self) -> str:
        return {"editor": "notes.txt - Editor", "viewer": "Annual report.pdf - Viewer", "browser": "Globex support - Browser"}[self.app]

    def render(self) -> Image.Image:
        image = Image.new("RGB", (WIDTH, HEIGHT), (236, 236, 236))
        draw = ImageDraw.Draw(image)
        # Top bar with a clock that ticks each minute.
        draw.rectangle((0, 0, WIDTH, 28), fill=(40, 40, 48))
        draw.text((12, 6), "Activities    Files    " + self.title(), font=self.bar, fill=(230, 230, 230))
        draw.text((WIDTH - 70, 6), f"10:{self.minute:02d}", font=self.bar, fill=(230, 230, 230))
        # A static side panel.
        draw.rectangle((0, 28, 200, HEIGHT), fill=(250, 250, 250))
        for index, name in enumerate(("Inbox", "Projects", "Invoices", "Meetings", "Archive", "Travel")):
            draw.text((16, 50 + index * 28), name, font=self.sans, fill=(30, 30, 30))
        # The focused application's window.
        left, top, right, bottom = 220, 48, WIDTH - 20, HEIGHT - 20
        draw.rectangle((left, top, right, bottom), fill=(255, 255, 255), outline=(160, 160, 160))
        draw.rectangle((left, top, right, top + 26), fill=(220, 222, 228))
        draw.text((left + 10, top + 5), self.title(), font=self.bar, fill=(20, 20, 20))
        body_top = top + 36
        if self.app == "editor":
            lines = self.editor_lines + [self.typing]
            for index, line in enumerate(lines):
                draw.text((left + 14, body_top + index * 22), line, font=self.mono, fill=(10, 10, 10))
            if self.caret:
                x = left + 14 + int(draw.textlength(self.typing, font=self.mono)) + 1
                y = body_top + (len(lines) - 1) * 22
                draw.line((x, y, x, y + 17), fill=(0, 0, 0), width=1)
        elif self.app == "viewer":
            line_height = 24
            first = self.scroll // line_height
            offset = self.scroll % line_height
            view = Image.new("RGB", (right - left - 2, bottom - body_top - 2), (255, 255, 255))
            view_draw = ImageDraw.Draw(view)
            for row in range(view.height // line_height + 2):
                index = first + row
                if index < len(self.document):
                    view_draw.text((14, row * line_height - offset), self.document[index], font=self.sans, fill=(10, 10, 10))
            image.paste(view, (left + 1, body_top + 1))
        else:
            for index, line in enumerate(self.browser):
                draw.text((left + 14, body_top + index * 26), line, font=self.sans, fill=(20, 20, 90))
        return image


def to_frame(image: Image.Image) -> np.ndarray:
    """A PIL RGB image as packed BGRA uint32, the layout mss delivers."""
    rgba = np.asarray(image.convert("RGBA"))
    bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
    return bgra.view(np.uint32).reshape(image.height, image.width)


def recorded_frames() -> Iterator[tuple[str, str, str, np.ndarray]]:
    """The bench sequence: 124 frames of typing, idle, scrolling and app switching."""
    desktop = Desktop()
    rng = random.Random(7)

    def frame(label: str):
        return label, desktop.app, desktop.title(), to_frame(desktop.render())

    def type_for(frames: int):
        for _ in range(frames):
            target = rng.choice(WORDS)
            desktop.typing += (" " if desktop.typing else "") + target
            if len(desktop.typing) > 70:
                desktop.editor_lines.append(desktop.typing)
                desktop.typing = ""
                if len(desktop.editor_lines) > 26:
                    desktop.editor_lines.pop(0)
            desktop.caret = not desktop.caret
            yield frame("typing")

    def idle_for(frames: int):
        for _ in range(frames):
            desktop.caret = not desktop.caret
            yield frame("idle")

    yield from type_for(30)
    yield from idle_for(14)
    desktop.app = "viewer"
    yield frame("switch")
    for _ in range(24):
        desktop.scroll += 72
        yield frame("scroll")
    desktop.minute += 1
    yield from idle_for(12)
    for app in ("browser", "editor", "viewer", "browser", "editor"):
        desktop.app = app
        yield frame("switch")
    yield from type_for(22)
    desktop.minute += 1
    yield from idle_for(16)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/engram-capture-sequence")
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for count, (label, app, title, pixels) in enumerate(recorded_frames(), start=1):
        rgb = Image.frombuffer("RGB", (pixels.shape[1], pixels.shape[0]), pixels, "raw", "BGRX", 0, 1)
        rgb.save(out / f"{count:04d}-{label}.png")
    print(f"wrote {count} frames to {out}")
