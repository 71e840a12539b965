"""Capture on a real Xvfb display with real Tk windows and real Tesseract."""

from __future__ import annotations

import shutil
import threading
from collections import Counter

import pytest

from core.capture.changes import Rect
from core.capture.ocr import TesseractOcr
from core.capture.screen import X11Screen
from core.capture.service import CaptureService
from core.events import EventBus
from core.settings import Settings
from tests.xvfb import TextWindow, XvfbServer, save_png

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed (Debian 'tesseract-ocr')"),
]

TEXT = (
    "Quarterly invoice from Globex Corporation\n"
    "Meeting with Umbrella about the shipment\n"
    "Remember the deadline for the budget review\n"
)


class CountingTesseract(TesseractOcr):
    pass


class MemorySink:
    def __init__(self):
        self.rows = []

    def add(self, kind, text, **fields):
        self.rows.append({"kind": kind, "text": text, **fields})
        return len(self.rows)

    def purge_thumbnails(self, older_than):
        return 0


@pytest.fixture
def window(xvfb, needs_tk):
    win = TextWindow(xvfb.name, "engramtestpad", "Notes — заметки 日本語 📝", TEXT)
    yield win
    win.close()


@pytest.fixture
def service(paths):
    settings = Settings(paths)
    ocr = CountingTesseract(language="eng", min_confidence=60)
    sink = MemorySink()
    svc = CaptureService(settings, EventBus(), sink, ocr=ocr)
    yield svc, sink, ocr, settings
    svc.close()


def words(text):
    return Counter(w.strip(".,:;").lower() for w in text.split() if w.strip(".,:;"))


def test_text_in_a_real_window_is_found_in_the_observation(window, service, tmp_path):
    svc, sink, ocr, _ = service
    screen = X11Screen()
    save_png(screen.grab(screen.monitors()[0]), tmp_path / "frame.png")
    screen.close()
    outcome = svc.capture_once()
    assert outcome.kept, outcome
    row = sink.rows[0]
    for word in ("Globex", "Umbrella", "deadline", "budget"):
        assert word in row["text"]
    assert row["app"] == "Engramtestpad"
    assert row["window_title"] == "Notes — заметки 日本語 📝"
    assert row["monitor"] == 1 and row["thumbnail"]


def test_observation_reaches_the_encrypted_store(xvfb, needs_tk, engine):
    win = TextWindow(xvfb.name, "engramtestpad", "Store test", TEXT)
    try:
        outcome = engine.capture.capture_once()
    finally:
        win.close()
    assert outcome.kept
    stored = engine.observations.get(outcome.observation_ids[0])
    assert stored.kind == "screen" and "Globex" in stored.text and stored.app == "Engramtestpad"


def test_excluded_window_leaves_no_observation(xvfb, needs_tk, service):
    svc, sink, ocr, settings = service
    settings.set("privacy.exclude_apps", ["engramsecret"])
    win = TextWindow(xvfb.name, "engramsecret", "Vault", "secret vault text")
    try:
        outcome = svc.capture_once()
        win.set_title("A normal title")
        assert svc.capture_once().reason == "excluded"
    finally:
        win.close()
    assert outcome.reason == "excluded" and sink.rows == [] and ocr.calls == 0
    assert svc.status()["frames_excluded"] == 2


def test_excluded_title_pattern(xvfb, needs_tk, service):
    svc, sink, ocr, _ = service
    win = TextWindow(xvfb.name, "browserish", "New Incognito Tab", "private things")
    try:
        assert svc.capture_once().reason == "excluded"
    finally:
        win.close()
    assert sink.rows == [] and ocr.calls == 0


def test_unchanged_screen_is_skipped_without_ocr(window, service):
    svc, sink, ocr, _ = service
    assert svc.capture_once().kept
    calls = ocr.calls
    outcome = svc.capture_once()
    assert outcome.reason == "unchanged" and ocr.calls == calls and len(sink.rows) == 1


def test_changed_region_ocr_finds_the_words_full_frame_ocr_finds(window, service, tmp_path):
    svc, sink, ocr, _ = service
    full = TesseractOcr(language="eng", min_confidence=60)
    screen = X11Screen()
    lines = TEXT.splitlines()
    edits = [
        lines + ["Call the client tomorrow morning"],
        lines + ["Call the client tomorrow morning about pending tickets"],
        [lines[0], "Meeting with Initech about the contract", lines[2], "Call the client tomorrow morning"],
        ["Release notes for version seven"] + lines[1:] + ["Signed deployment pipeline passed"],
        ["Release notes for version seven"] + lines[1:] + ["Signed deployment pipeline passed", "Kernel network report"],
    ]
    found = expected = 0
    svc.capture_once()
    for index, edit in enumerate(edits):
        window.set_text("\n".join(edit))
        frame = screen.grab(screen.monitors()[0])
        if index == 0:
            save_png(frame, tmp_path / "edited.png")
        from core.capture.frames import FrameJob

        job = FrameJob(screen.monitors()[0], frame, screen.focused_window(), 0.0)
        svc._read_job(job, allow_defer=False)
        engram_words = words(" ".join(w.text for w in svc._texts[1].words))
        from PIL import Image

        image = Image.frombuffer("RGB", (frame.shape[1], frame.shape[0]), frame, "raw", "BGRX", 0, 1)
        full_words = words(" ".join(w.text for w in full.read_regions(image, [Rect(0, 0, frame.shape[1], frame.shape[0])]).words))
        found += sum((engram_words & full_words).values())
        expected += sum(full_words.values())
    screen.close()
    assert expected > 60
    assert found / expected >= 0.95, (found, expected)
    # And the changed regions were small: no frame after the first was read whole.
    assert all(row["changed_fraction"] < 0.5 for row in sink.rows[1:])


def test_active_window_from_the_window_manager_property(window, xvfb):
    from Xlib import Xatom, display

    conn = display.Display(xvfb.name)
    root = conn.screen().root
    atom = conn.intern_atom("_NET_ACTIVE_WINDOW")
    root.change_property(atom, Xatom.WINDOW, 32, [window.window_id])
    conn.sync()
    try:
        context = X11Screen().focused_window()
        assert context.app == "Engramtestpad" and context.title.startswith("Notes")
    finally:
        root.delete_property(atom)
        conn.sync()
        conn.close()


def test_4k_multi_monitor_layout(needs_tk, paths, monkeypatch):
    server = XvfbServer(7680, 2160)
    monkeypatch.setenv("DISPLAY", server.name)
    win = TextWindow(server.name, "bigpad", "Wide", TEXT, geometry="1200x500+5000+1200")
    try:
        sink = MemorySink()
        svc = CaptureService(Settings(paths), EventBus(), sink, ocr=TesseractOcr())
        outcome = svc.capture_once()
        assert outcome.kept
        assert "Globex" in sink.rows[0]["text"]
    finally:
        win.close()
        server.stop()


def test_display_disappearing_mid_run_is_reported_and_survived(needs_tk, paths, monkeypatch):
    server = XvfbServer(1280, 800)
    monkeypatch.setenv("DISPLAY", server.name)
    win = TextWindow(server.name, "pad", "Doomed", TEXT)
    settings = Settings(paths)
    settings.set("capture.interval_seconds", 1.0)
    settings.set("capture.max_interval_seconds", 3.0)
    events = EventBus()
    kept = threading.Event()
    failed = threading.Event()
    messages = []
    events.subscribe("capture_did_update_health", lambda health: health["frames_kept"] and kept.set())
    events.subscribe("capture_did_fail", lambda message: (messages.append(message), failed.set()))
    svc = CaptureService(settings, events, MemorySink(), ocr=TesseractOcr())
    try:
        svc.start()
        assert kept.wait(60)
        win.close()
        server.stop()
        assert failed.wait(60)
        assert svc.is_running and svc.status()["state"] == "error"
        assert any("display" in m.lower() for m in messages)
    finally:
        svc.stop()
        server.stop()
    assert svc.status()["state"] == "stopped"
