"""Capture bench: Engram's pipeline against naive full-frame OCR, on the same frames.

Replays the recorded desktop sequence (bench/record_capture.py: typing, a
scrolled document, application switches, idle stretches) through

* Engram: ``CaptureService`` ticks with a replaying screen -- exclusion check,
  grab, change detection, the frame queue, changed-region OCR, masking,
  thumbnail, store (into a sink that discards);
* naive: full-frame OCR of every frame that is not near-identical to the
  previous one,

and reports CPU seconds per frame (this process and its tesseract children),
OCR calls and words found.  Targets: Engram at most 0.2 of the naive CPU with
at least 0.95 of its words.  Then a soak of ``--soak-frames`` frames through
Engram reports RSS growth (budget < 20 MB) and the CPU share of one core at
the default 3 s interval (budget < 5 %).

Two costs are measured beside the pipeline, each as a ratio in the same run:
Tesseract fed through pipes against the pytesseract way it replaced (image and
TSV in temporary files), on the same frames; and listing the windows of an X
display (twice per frame, to blank excluded windows) on an Xvfb with 60 windows,
against Engram's CPU per frame.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil  # noqa: E402
from PIL import Image  # noqa: E402

from core.capture.changes import diff_frames  # noqa: E402
from core.capture.ocr import TesseractOcr  # noqa: E402
from core.capture.screen import Monitor, ScreenSource, WindowContext  # noqa: E402
from core.capture.service import CaptureService  # noqa: E402
from core.events import EventBus  # noqa: E402
from core.settings import declared_settings  # noqa: E402
from record_capture import HEIGHT, WIDTH, recorded_frames  # noqa: E402

INTERVAL = 3.0


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class DefaultSettings:
    def __init__(self, **overrides):
        self.values = {spec.key: spec.default for spec in declared_settings()}
        self.values.update(overrides)

    def get(self, key):
        return self.values[key]


class DiscardingSink:
    def __init__(self):
        self.count = 0

    def add(self, kind, text, **fields):
        self.count += 1
        return self.count

    def purge_thumbnails(self, older_than):
        return 0


class ReplayScreen(ScreenSource):
    """A screen whose next grab is whatever the bench sets."""

    monitor = Monitor(1, 0, 0, WIDTH, HEIGHT)

    def __init__(self):
        self.frame = None
        self.context = WindowContext()

    def monitors(self):
        return [self.monitor]

    def focused_window(self):
        return self.context

    def grab(self, monitor):
        return self.frame


class PytesseractOcr(TesseractOcr):
    """The reader Engram used before: pytesseract, which goes through temporary files. For comparison only."""

    def read_image(self, image):
        import pytesseract

        from core.capture.changes import Rect, Word

        data = pytesseract.image_to_data(image, lang=self.language, config=f"--psm {self.psm}",
                                         output_type=pytesseract.Output.DICT)
        words = []
        for text, conf, left, top, width, height in zip(
            data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"]
        ):
            text = str(text).strip()
            if text and float(conf) >= self.min_confidence:
                words.append(Word(text, float(conf), Rect(int(left), int(top), int(left) + int(width), int(top) + int(height))))
        return words


def words_of(text: str) -> Counter:
    return Counter(text.split())


def run_engram(frames, ocr):
    screen = ReplayScreen()
    service = CaptureService(DefaultSettings(), EventBus(), DiscardingSink(), screen_factory=lambda: screen, ocr=ocr)
    texts = []
    cpu = 0.0
    for label, app, title, frame in frames:
        screen.frame = frame
        screen.context = WindowContext(app=app, title=title)
        start = cpu_seconds()
        service._tick()
        job = service.queue.get(timeout=0)
        if job is not None:
            service._read_job(job)
        cpu += cpu_seconds() - start
        cache = service._texts.get(1)
        texts.append(words_of(" ".join(w.text for w in cache.words)) if cache else Counter())
    return cpu, texts, service


def run_naive(frames, ocr):
    previous = None
    texts = []
    ocr_frames = []
    cpu = 0.0
    for index, (label, app, title, frame) in enumerate(frames):
        start = cpu_seconds()
        if not diff_frames(previous, frame).negligible:
            image = Image.frombuffer("RGB", (frame.shape[1], frame.shape[0]), frame, "raw", "BGRX", 0, 1)
            words = ocr.read_regions(image, [_full()]).words
            texts.append(words_of(" ".join(w.text for w in words)))
            ocr_frames.append(index)
            previous = frame
        else:
            texts.append(texts[-1] if texts else Counter())
        cpu += cpu_seconds() - start
    return cpu, texts, ocr_frames


def _full():
    from core.capture.changes import Rect

    return Rect(0, 0, WIDTH, HEIGHT)


def _light_sequence():
    """The recorded sequence with frames stored compressed, so the soak's own memory stays flat."""
    import io

    for label, app, title, frame in recorded_frames():
        buffer = io.BytesIO()
        Image.frombuffer("RGB", (frame.shape[1], frame.shape[0]), frame, "raw", "BGRX", 0, 1).save(buffer, "PNG", compress_level=1)
        yield label, app, title, buffer.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak-frames", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    ocr_engram = TesseractOcr("eng", 60)
    ocr_naive = TesseractOcr("eng", 60)
    ocr_engram.check()

    frames = list(recorded_frames())
    labels = Counter(label for label, *_ in frames)
    print(f"sequence: {len(frames)} frames {dict(labels)}")
    engram_cpu, engram_texts, service = run_engram(frames, ocr_engram)
    naive_cpu, naive_texts, naive_frames = run_naive(frames, ocr_naive)
    del frames
    found = sum(sum((engram_texts[i] & naive_texts[i]).values()) for i in naive_frames)
    naive_words = sum(sum(naive_texts[i].values()) for i in naive_frames)
    engram_words = sum(sum(engram_texts[i].values()) for i in naive_frames)
    count = len(engram_texts)
    print(f"naive : {naive_cpu / count:.3f} CPU s/frame, {ocr_naive.calls} OCR calls, {naive_words} words")
    print(f"engram: {engram_cpu / count:.3f} CPU s/frame, {ocr_engram.calls} OCR calls, {engram_words} words, "
          f"{found} of the naive words")
    cpu_ratio = engram_cpu / naive_cpu if naive_cpu else float("nan")
    word_ratio = found / naive_words if naive_words else float("nan")
    print(f"CPU ratio engram/naive: {cpu_ratio:.3f} (target <= 0.2)  {'OK' if cpu_ratio <= 0.2 else 'MISSED'}")
    print(f"word ratio engram/naive: {word_ratio:.3f} (target >= 0.95)  {'OK' if word_ratio >= 0.95 else 'MISSED'}")
    status = service.status()
    print(f"engram frames: kept {status['frames_kept']}, skipped {status['frames_skipped']}, "
          f"OCR calls {status['ocr_calls']}")
    transport(frames_for_transport())
    window_listing(engram_cpu / count)
    if args.soak_frames:
        result = soak_png(args.soak_frames, TesseractOcr("eng", 60))
        print(f"soak: {result['frames']} frames, RSS growth {result['rss_growth_mb']:.1f} MB (budget < 20)  "
              f"{'OK' if result['rss_growth_mb'] < 20 else 'MISSED'}")
        print(f"soak: {result['cpu_per_frame']:.3f} CPU s/frame = {result['cpu_percent_at_3s']:.2f}% of one core at "
              f"{INTERVAL:g} s (budget < 5%)  {'OK' if result['cpu_percent_at_3s'] < 5 else 'MISSED'}")
    return 0


def frames_for_transport():
    return list(recorded_frames())


def transport(frames) -> None:
    """Engram's pipeline on the same frames with Tesseract fed through pipes and through pytesseract's files."""
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        print("OCR transport: skipped (pytesseract is not installed to compare with)")
        return
    piped_cpu, piped_texts, _ = run_engram(frames, TesseractOcr("eng", 60))
    files_cpu, files_texts, _ = run_engram(frames, PytesseractOcr("eng", 60))
    same = sum(1 for a, b in zip(piped_texts, files_texts) if a == b)
    print(f"OCR transport: pipes {piped_cpu / len(frames):.3f} CPU s/frame, pytesseract files "
          f"{files_cpu / len(frames):.3f}; ratio pipes/files {piped_cpu / files_cpu:.3f}; "
          f"same words on {same} of {len(frames)} frames")


def window_listing(engram_cpu_per_frame: float, windows: int = 60, mapped_every: int = 4, rounds: int = 300) -> None:
    """The CPU of listing an X display's windows twice per frame, unchanged and with a window moving every frame."""
    if shutil.which("Xvfb") is None:
        print("window listing: skipped (Xvfb is not installed)")
        return
    from Xlib import X, display as xdisplay

    from core.capture.screen import X11Screen
    from tests.xvfb import XvfbServer

    def own_cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)  # Xvfb's own work is not Engram's
        return usage.ru_utime + usage.ru_stime

    server = XvfbServer(WIDTH, HEIGHT)
    try:
        conn = xdisplay.Display(server.name)
        root = conn.screen().root
        made = []
        for index in range(windows):
            window = root.create_window(10 * index, 6 * index, 400, 300, 0, X.CopyFromParent)
            window.set_wm_class(f"app{index}", f"App{index}")
            window.set_wm_name(f"Window {index}")
            if index % mapped_every == 0:
                window.map()
            made.append(window)
        conn.sync()
        screen = X11Screen(server.name)
        screen.windows()
        results = {}
        cases = ("focus checks only (as before)", "unchanged desktop", "a window moves every frame")
        for case in cases:
            start = own_cpu()
            wall = time.perf_counter()
            for index in range(rounds):
                if case == cases[2]:
                    made[0].configure(x=index % 97)
                    conn.sync()
                screen.focused_window()  # before the grab, as every frame did
                if case != cases[0]:
                    screen.windows()
                screen.focused_window()  # after the grab
                if case != cases[0]:
                    screen.windows()
            results[case] = ((own_cpu() - start) / rounds, (time.perf_counter() - wall) / rounds)
        listings = screen._window_list.listings
        screen.close()
        conn.close()
    finally:
        server.stop()
    mapped = len(range(0, windows, mapped_every))
    print(f"window listing ({windows} windows, {mapped} mapped; {listings} listings in {2 * rounds} frames):")
    base_cpu = results[cases[0]][0]
    for case, (cpu, wall) in results.items():
        added = cpu - base_cpu
        share = added / engram_cpu_per_frame if engram_cpu_per_frame else float("nan")
        extra = "" if case == cases[0] else f"; the listing adds {added * 1000:.2f} ms = {share:.4f} of Engram's CPU per frame"
        print(f"  {case}: {cpu * 1000:.2f} ms CPU, {wall * 1000:.2f} ms wall per frame{extra}")


def soak_png(frame_count: int, ocr) -> dict:
    """``soak`` over PNG-stored frames: decoding is outside the measured CPU."""
    import io

    import numpy as np

    process = psutil.Process()
    screen = ReplayScreen()
    service = CaptureService(DefaultSettings(), EventBus(), DiscardingSink(), screen_factory=lambda: screen, ocr=ocr)
    stored = list(_light_sequence())
    cpu = 0.0
    baseline = None
    for index in range(frame_count):
        label, app, title, png = stored[index % len(stored)]
        rgba = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
        screen.frame = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]]).view(np.uint32).reshape(rgba.shape[:2])
        screen.context = WindowContext(app=app, title=title)
        start = cpu_seconds()
        service._tick()
        job = service.queue.get(timeout=0)
        if job is not None:
            service._read_job(job)
        cpu += cpu_seconds() - start
        if index == 49:
            gc.collect()
            baseline = process.memory_info().rss
    gc.collect()
    growth = (process.memory_info().rss - (baseline or 0)) / 2**20
    return {"frames": frame_count, "rss_growth_mb": growth, "cpu_per_frame": cpu / frame_count,
            "cpu_percent_at_3s": cpu / (frame_count * INTERVAL) * 100}


if __name__ == "__main__":
    sys.exit(main())
