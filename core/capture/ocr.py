"""OCR backends: one abstract reader, Tesseract through pipes, and a fake.

``OcrEngine.read_regions(image, rects)`` reads several rectangles of one
grayscale monitor image in a single OCR call: the crops are stacked into one
strip with blank gaps, read once, and every word is mapped back to its crop and
to monitor coordinates.  Tesseract is a separate process per call, and its
start-up costs about as much as reading a line, so one call per frame keeps
changed-region OCR cheap.

Screen pixels and the text read from them never touch the disk: Tesseract
gets the image on its standard input (as PNM, which costs no compression) and
writes its TSV to its standard output.  (pytesseract, used before, wrote both
to world-readable files in ``$TMPDIR`` that stayed when the process was killed.)
"""

from __future__ import annotations

import logging
import os
import subprocess
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
DEFAULT_TIMEOUT = 60.0  # seconds for one Tesseract call (a whole 4K frame takes a few)
CHECK_TIMEOUT = 15.0


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
    """Tesseract run once per call, fed through pipes; words below ``min_confidence`` are dropped.

    ``timeout`` bounds one call (seconds): a stuck Tesseract is killed and the
    call raises CaptureError, so capture moves on.
    """

    name = "tesseract"

    def __init__(
        self,
        language: str = "eng",
        min_confidence: float = 60,
        psm: int = 3,
        *,
        command: str = "tesseract",
        timeout: float = DEFAULT_TIMEOUT,
    ):
        super().__init__()
        self.language = language
        self.min_confidence = min_confidence
        self.psm = psm
        self.command = command
        self.timeout = timeout
        # Tesseract's OpenMP threads spin on idle cores: on a desktop they cost
        # more CPU than they save time.  One thread per call unless the user says otherwise.
        self._env = dict(os.environ)
        self._env.setdefault("OMP_THREAD_LIMIT", "1")

    def _run(self, args: list[str], payload: bytes | None = None, timeout: float | None = None) -> bytes:
        """Tesseract's standard output for ``args``; CaptureError when it is missing, stuck or fails."""
        limit = self.timeout if timeout is None else timeout
        try:
            done = subprocess.run(
                [self.command, *args], input=payload, capture_output=True, timeout=limit, env=self._env, check=False
            )
        except FileNotFoundError as exc:
            raise tesseract_missing() from exc
        except subprocess.TimeoutExpired as exc:
            raise CaptureError(
                f"Tesseract took longer than {limit:g} s to read one screen image and was stopped.",
                fix="Capture goes on with the next frame; if this repeats, the computer is overloaded: "
                "raise 'Interval' in the capture settings or capture one monitor only.",
            ) from exc
        except OSError as exc:  # not executable, too many processes, ...
            raise CaptureError(
                f"Could not start Tesseract ({self.command}): {exc.strerror or exc}.",
                fix="Check that Tesseract is installed and runs: 'tesseract --version'.",
            ) from exc
        if done.returncode != 0:
            errors = done.stderr.decode("utf-8", "replace")
            if "Failed loading language" in errors or "loading languages" in errors:
                raise language_missing(self.language.split("+"))
            detail = " ".join(line.strip() for line in errors.splitlines() if line.strip())[-300:]
            raise CaptureError(
                f"Tesseract failed (exit status {done.returncode}): {detail or 'no message'}.",
                fix="Check that 'tesseract --version' works; capture goes on with the next frame.",
            )
        return done.stdout

    def check(self) -> str:
        """Tesseract's version, or a CaptureError that says how to install it."""
        version_text = self._run(["--version"], timeout=CHECK_TIMEOUT).decode("utf-8", "replace")
        version = version_text.split("\n", 1)[0].replace("tesseract", "").strip() or "unknown version"
        try:
            listing = self._run(["--list-langs"], timeout=CHECK_TIMEOUT).decode("utf-8", "replace")
        except CaptureError:  # listing languages is a nicety; reading will tell
            return version
        languages = {line.strip() for line in listing.splitlines()[1:] if line.strip()}
        missing = [code for code in self.language.split("+") if code and code not in languages]
        if missing:
            raise language_missing(missing)
        return version

    def read_image(self, image: Image.Image) -> list[Word]:
        args = ["stdin", "stdout", "-l", self.language, "--psm", str(self.psm), "-c", "tessedit_create_tsv=1"]
        return parse_tsv(self._run(args, pnm_bytes(image)).decode("utf-8", "replace"), self.min_confidence)


def pnm_bytes(image: Image.Image) -> bytes:
    """``image`` as binary PGM (grayscale) or PPM (colour): Tesseract reads it from a pipe, no compression."""
    if image.mode not in ("L", "RGB"):
        if "A" in image.getbands():
            # Transparent pixels read as white paper, not black.
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image, (0, 0), image.getchannel("A"))
            image = background
        else:
            image = image.convert("L" if image.mode in ("1", "I", "I;16", "F") else "RGB")
    magic = b"P5" if image.mode == "L" else b"P6"
    return b"%s\n%d %d\n255\n" % (magic, image.width, image.height) + image.tobytes()


def parse_tsv(tsv: str, min_confidence: float) -> list[Word]:
    """The words of Tesseract's TSV output with a confidence of at least ``min_confidence``."""
    words = []
    for line in tsv.splitlines():
        fields = line.split("\t", 11)
        if len(fields) < 12 or fields[0] != "5":  # level 5 is a word (the header and blocks are not)
            continue
        text = fields[11].strip()
        try:
            left, top, width, height = (int(v) for v in fields[6:10])
            conf = float(fields[10])
        except ValueError:
            continue
        if not text or conf < min_confidence:
            continue
        words.append(Word(text, conf, Rect(left, top, left + width, top + height)))
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
