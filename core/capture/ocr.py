"""OCR backends: one abstract reader, Tesseract through pytesseract, and a fake.

``OcrEngine.read_regions(image, rects)`` reads several rectangles of one
grayscale monitor image in a single OCR call: the crops are stacked into one
strip with blank gaps, read once, and every word is mapped back to its crop and
to monitor coordinates.  Tesseract is a separate process per call, and its
start-up costs about as much as reading a line, so one call per frame keeps
changed-region OCR cheap.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

from PIL import Image

from core.capture.changes import Rect, Word
from core.errors import CaptureError

log = logging.getLogger(__name__)

GAP = 24  # blank pixels between stacked crops; wider than any line spacing


@dataclass
class OcrResult:
    words: list[Word]
    ms: float


class OcrEngine(ABC):
    """Reads words from a grayscale image.  Called from one worker thread at a time."""

    name = "ocr"

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def check(self) -> str:
        """A description of the reader, or a CaptureError saying how to make it work."""
        return self.name

    @abstractmethod
    def read_image(self, image: Image.Image) -> list[Word]:
        """Every confident word of ``image`` with boxes in its own pixel coordinates."""

    def read_regions(self, image: Image.Image, rects: list[Rect]) -> OcrResult:
        """The words inside ``rects`` of ``image``, in ``image`` coordinates, read in one call."""
        started = time.perf_counter()
        rects = [r for r in rects if r.area > 0]
        if not rects:
            return OcrResult([], 0.0)
        with self._lock:
            self.calls += 1
        if len(rects) == 1 and rects[0] == Rect(0, 0, image.width, image.height):
            words = self.read_image(image)
            return OcrResult(words, (time.perf_counter() - started) * 1000)
        strip_width = max(r.width for r in rects)
        strip_height = sum(r.height for r in rects) + GAP * (len(rects) + 1)
        strip = Image.new("L", (strip_width, strip_height), 255)
        offsets = []
        y = GAP
        for rect in rects:
            strip.paste(image.crop((rect.x0, rect.y0, rect.x1, rect.y1)), (0, y))
            offsets.append(y)
            y += rect.height + GAP
        words = []
        for word in self.read_image(strip):
            cx, cy = word.center
            for rect, top in zip(rects, offsets):
                if top <= cy < top + rect.height and cx < rect.width:
                    dx, dy = rect.x0, rect.y0 - top
                    box = word.box
                    words.append(Word(word.text, word.conf, Rect(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy)))
                    break
        return OcrResult(words, (time.perf_counter() - started) * 1000)


class TesseractOcr(OcrEngine):
    """Tesseract via ``pytesseract.image_to_data``; words below ``min_confidence`` are dropped."""

    name = "tesseract"

    def __init__(self, language: str = "eng", min_confidence: float = 60, psm: int = 3):
        super().__init__()
        self.language = language
        self.min_confidence = min_confidence
        self.psm = psm
        # Tesseract's OpenMP threads spin on idle cores: on a desktop they cost
        # more CPU than they save time.  One thread per call.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    def check(self) -> str:
        """Tesseract's version, or a CaptureError that says how to install it."""
        import pytesseract

        try:
            version = str(pytesseract.get_tesseract_version())
        except pytesseract.TesseractNotFoundError as exc:
            raise tesseract_missing() from exc
        try:
            languages = set(pytesseract.get_languages(config=""))
        except Exception:  # noqa: BLE001 - listing languages is a nicety; reading will tell
            return version
        missing = [code for code in self.language.split("+") if code and code not in languages]
        if missing:
            raise language_missing(missing)
        return version

    def read_image(self, image: Image.Image) -> list[Word]:
        import pytesseract

        try:
            data = pytesseract.image_to_data(
                image, lang=self.language, config=f"--psm {self.psm}", output_type=pytesseract.Output.DICT
            )
        except pytesseract.TesseractNotFoundError as exc:
            raise tesseract_missing() from exc
        except pytesseract.TesseractError as exc:
            if "Failed loading language" in str(exc) or "loading languages" in str(exc):
                raise language_missing(self.language.split("+")) from exc
            raise
        words = []
        for text, conf, left, top, width, height in zip(
            data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"]
        ):
            text = str(text).strip()
            conf = float(conf)
            if not text or conf < self.min_confidence:
                continue
            words.append(Word(text, conf, Rect(int(left), int(top), int(left) + int(width), int(top) + int(height))))
        return words


class FakeOcr(OcrEngine):
    """A scripted reader for tests: ``reader(image) -> list[Word]``, or raise what it raises."""

    name = "fake"

    def __init__(self, reader: Callable[[Image.Image], list[Word]] | None = None):
        super().__init__()
        self.reader = reader or (lambda image: [])
        self.images: list[tuple[int, int]] = []

    def read_image(self, image: Image.Image) -> list[Word]:
        self.images.append(image.size)
        return list(self.reader(image))


def tesseract_missing() -> CaptureError:
    return CaptureError(
        "Tesseract, the OCR program Engram reads the screen with, is not installed.",
        fix="Install it: 'sudo apt install tesseract-ocr' (or your system's package), then restart capture.",
    )


def language_missing(codes: list[str]) -> CaptureError:
    names = ", ".join(codes)
    packages = " ".join(f"tesseract-ocr-{code}" for code in codes)
    return CaptureError(
        f"Tesseract has no data for the OCR language {names}.",
        fix=f"Install it ('sudo apt install {packages}') or change 'OCR language' in the capture settings.",
    )
