"""Real Tesseract reads through pipes: no screen image or OCR text is ever written to a file."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading

import pytest
from PIL import Image, ImageDraw, ImageFont

from core.capture.changes import Rect
from core.capture.ocr import TesseractOcr

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed (Debian 'tesseract-ocr')"),
]

LINES = ("Quarterly invoice from Globex Corporation", "card number 4111 1111 1111 1111", "Meeting with Umbrella")


def page() -> Image.Image:
    image = Image.new("RGB", (900, 300), "white")
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22)
    except OSError:
        font = ImageFont.load_default()
    for index, line in enumerate(LINES):
        draw.text((20, 20 + 90 * index), line, fill="black", font=font)
    return image


class DirectoryWatch:
    """Lists a directory over and over on a thread; remembers every name it ever saw there."""

    def __init__(self, path):
        self.path = path
        self.seen: set[str] = set()
        self.looks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.seen.update(os.listdir(self.path))
            self.looks += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self.seen.update(os.listdir(self.path))


def test_ocr_leaves_nothing_in_tmpdir(tmp_path, monkeypatch):
    watched = tmp_path / "tmp"
    watched.mkdir()
    monkeypatch.setenv("TMPDIR", str(watched))
    monkeypatch.setattr(tempfile, "tempdir", None)  # forget the cached temporary directory
    assert tempfile.gettempdir() == str(watched)
    ocr = TesseractOcr("eng", 60)
    image = page()
    with DirectoryWatch(watched) as watch:
        whole = ocr.read_regions(image, [Rect(0, 0, image.width, image.height)]).words
        parts = ocr.read_regions(image, [Rect(0, 0, 900, 80), Rect(0, 180, 900, 300)]).words
    assert watch.looks > 10
    assert watch.seen == set(), f"files written during OCR: {sorted(watch.seen)}"
    assert {"Quarterly", "Globex", "4111", "Umbrella"} <= {w.text for w in whole}
    assert {"Quarterly", "Globex", "Umbrella"} <= {w.text for w in parts} and "4111" not in {w.text for w in parts}
