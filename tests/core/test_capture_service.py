"""The capture service with a fake screen, fake OCR and an in-memory sink (no X, no tesseract)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.capture.changes import Rect, Word
from core.capture.frames import FrameJob, FrameQueue
from core.capture.ocr import FakeOcr, tesseract_missing
from core.capture.privacy import ExclusionRules, PauseSwitch
from core.capture.screen import Monitor, ScreenSource, WindowContext, check_session, url_from_title
from core.capture.service import CaptureService, screen_observation
from core.errors import CaptureError
from core.events import EventBus
from core.settings import Settings


class MemorySink:
    def __init__(self):
        self.rows = []
        self.purged = []

    def add(self, kind, text, **fields):
        self.rows.append({"kind": kind, "text": text, **fields})
        return len(self.rows)

    def purge_thumbnails(self, older_than):
        self.purged.append(older_than)
        return 0


class FakeScreen(ScreenSource):
    def __init__(self, frames=None, context=None):
        self.frames = list(frames or [])
        self.context = context or WindowContext(app="Editor", title="notes.txt")
        self.grabs = 0
        self.idle = None
        self.is_locked = False
        self.fail_with: Exception | None = None

    def monitors(self):
        return [Monitor(1, 0, 0, 64, 48)]

    def focused_window(self):
        if self.fail_with:
            raise self.fail_with
        return self.context

    def grab(self, monitor):
        self.grabs += 1
        return self.frames[min(self.grabs - 1, len(self.frames) - 1)]

    def idle_seconds(self):
        return self.idle

    def locked(self):
        return self.is_locked


def frame(value=0xFFFFFFFF, mark=None):
    pixels = np.full((48, 64), np.uint32(value), dtype=np.uint32)
    if mark is not None:
        pixels[10:22, mark : mark + 20] = np.uint32(0xFF000000)
    return pixels


def words_reader(*texts):
    return lambda image: [Word(t, 95, Rect(2 + 10 * i, 10, 10 + 10 * i, 22)) for i, t in enumerate(texts)]


@pytest.fixture
def settings(paths):
    return Settings(paths)


@pytest.fixture
def events():
    bus = EventBus()
    bus.log = []
    for name in ("capture_did_change_state", "capture_did_pause", "capture_did_resume", "capture_did_fail"):
        bus.subscribe(name, lambda _name=name, **payload: bus.log.append((_name, payload)))
    return bus


def make_service(settings, events, screen, ocr=None, **kw):
    sink = MemorySink()
    service = CaptureService(settings, events, sink, screen_factory=lambda: screen, ocr=ocr or FakeOcr(words_reader("hello", "world")), **kw)
    return service, sink


def run_frames(service, count):
    """Drive the loop and the worker by hand, one tick at a time."""
    for _ in range(count):
        service._tick()
        job = service.queue.get(timeout=0)
        if job is not None:
            service._read_job(job)


# -- construction and lifecycle ----------------------------------------------------------


def test_construction_starts_nothing(settings, events):
    screen = FakeScreen([frame()])
    opened = []
    service = CaptureService(settings, events, MemorySink(), screen_factory=lambda: opened.append(1) or screen)
    assert not service.is_running and opened == [] and service.status()["state"] == "stopped"


def test_start_and_stop_are_idempotent(settings, events):
    screen = FakeScreen([frame(mark=5)])
    service, sink = make_service(settings, events, screen)
    kept = threading.Event()
    events.subscribe("capture_did_update_health", lambda health: health["frames_kept"] and kept.set())
    service.start()
    service.start()
    assert kept.wait(20)
    service.stop()
    service.stop()
    assert not service.is_running and service.status()["state"] == "stopped"
    assert [r["text"] for r in sink.rows] == ["hello world"]
    service.close()
    with pytest.raises(CaptureError):
        service.start()


# -- storing -------------------------------------------------------------------------------


def test_kept_frame_becomes_a_masked_observation(settings, events):
    screen = FakeScreen([frame(mark=5)], WindowContext(app="Firefox", title="Bank — https://bank.example/login"))
    service, sink = make_service(settings, events, screen, FakeOcr(words_reader("card", "4111111111111111")))
    settings.set("privacy.vault_from_screen", True)
    outcome = service.capture_once()
    assert outcome.kept and outcome.reason == "kept"
    row = sink.rows[0]
    assert row["kind"] == "screen" and row["text"] == "card ••••••••11"
    assert row["app"] == "Firefox" and row["url"] == "https://bank.example/login" and row["monitor"] == 1
    assert row["changed_fraction"] == 1.0 and row["ocr_ms"] >= 0
    assert row["thumbnail"][:4] == b"RIFF" and row["thumbnail"][8:12] == b"WEBP"
    # With privacy.vault_from_screen on, the value travels beside the text for the absorber's vault step.
    assert row["meta"]["sensitive"] == ["card"]
    assert row["meta"]["secrets"] == [{"kind": "card", "label": "Visa card", "value": "4111111111111111"}]


def test_screen_secret_values_are_dropped_unless_vault_from_screen(settings, events):
    screen = FakeScreen([frame(mark=5)], WindowContext(app="xterm", title="token AKIAIOSFODNN7EXAMPLE"))
    service, sink = make_service(settings, events, screen, FakeOcr(words_reader("4111111111111111")))
    service.capture_once()
    row = sink.rows[0]
    assert row["text"] == "••••••••11" and row["window_title"] == "token ••••••••LE"
    assert row["meta"]["sensitive"] == ["api_key", "card"] and "secrets" not in row["meta"]


def test_no_thumbnail_when_disabled(settings, events):
    settings.set("capture.thumbnails", False)
    service, sink = make_service(settings, events, FakeScreen([frame(mark=5)]))
    service.capture_once()
    assert sink.rows[0]["thumbnail"] is None


def test_unchanged_screen_is_skipped_without_ocr(settings, events):
    ocr = FakeOcr(words_reader("hello"))
    screen = FakeScreen([frame(mark=5)])
    service, sink = make_service(settings, events, screen, ocr)
    run_frames(service, 5)
    assert ocr.calls == 1 and len(sink.rows) == 1
    status = service.status()
    assert status["frames_kept"] == 1 and status["frames_skipped"] == 4 and status["ocr_calls"] == 1
    assert status["interval_seconds"] > settings.get("capture.interval_seconds")  # backed off


def test_ocr_crash_on_one_frame_is_counted_and_the_next_frame_read(settings, events):
    replies = [RuntimeError("boom"), [Word("after", 95, Rect(1, 1, 20, 12))]]

    def reader(image):
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    screen = FakeScreen([frame(mark=5), frame(mark=30)])
    service, sink = make_service(settings, events, screen, FakeOcr(reader))
    service.queue.put(FrameJob(screen.monitors()[0], frame(mark=5), screen.context, 1.0))
    service.queue.put(FrameJob(Monitor(2, 0, 0, 64, 48), frame(mark=30), screen.context, 2.0))
    service._stop.clear()
    done = threading.Event()  # subscribed before the worker starts, or a fast worker finishes unseen
    events.subscribe("capture_did_update_health", lambda health: health["frames_kept"] and done.set())
    worker = threading.Thread(target=service._worker_main)
    worker.start()
    assert done.wait(20)
    service._stop.set()
    service.queue.close()
    worker.join(10)
    assert service.status()["ocr_failures"] == 1
    assert [r["text"] for r in sink.rows] == ["after"]
    assert [p for n, p in events.log if n == "capture_did_fail"][0]["message"].startswith("OCR failed")


def test_tesseract_missing_reported_once_and_capture_waits(settings, events):
    def reader(image):
        raise tesseract_missing()

    ocr = FakeOcr(reader)
    ocr.check = lambda: (_ for _ in ()).throw(tesseract_missing())
    screen = FakeScreen([frame(mark=5), frame(mark=30)])
    service, sink = make_service(settings, events, screen, ocr)
    for _ in range(3):
        job = FrameJob(screen.monitors()[0], frame(mark=5), screen.context, 1.0)
        service.queue.put(job)
        service._stop.clear()
        try:
            service._read_job(service.queue.get(0))
        except CaptureError as exc:
            service._ocr_error = exc
            service._report(exc, key="ocr")
    fails = [p["message"] for n, p in events.log if n == "capture_did_fail"]
    assert len(fails) == 1 and "tesseract-ocr" in fails[0]
    grabs = screen.grabs
    service._tick()
    assert screen.grabs == grabs and service.status()["state"] == "error"  # no grabbing while OCR is broken
    assert sink.rows == []


# -- privacy -------------------------------------------------------------------------------


def test_excluded_window_is_never_grabbed(settings, events):
    screen = FakeScreen([frame(mark=5)], WindowContext(app="KeePassXC", title="Passwords.kdbx"))
    ocr = FakeOcr(words_reader("secret"))
    service, sink = make_service(settings, events, screen, ocr)
    run_frames(service, 3)
    assert screen.grabs == 0 and ocr.calls == 0 and sink.rows == []
    assert service.status()["frames_excluded"] == 3 and service.status()["state"] == "excluded"
    outcome = service.capture_once()
    assert outcome.reason == "excluded" and not outcome.kept and screen.grabs == 0


def test_exclusion_rules():
    rules = ExclusionRules(["keepassxc", "1password", "engram"], ["(?i)incognito", "(?i)private browsing", "[unclosed"])
    assert rules.match(WindowContext(app="KeePassXC")).rule == "app"
    assert rules.match(WindowContext(app="1Password")) is not None
    assert rules.match(WindowContext(app="engram-desktop")) is not None
    assert rules.match(WindowContext(app="Firefox", title="New Incognito tab")).rule == "title"
    assert rules.match(WindowContext(app="Firefox", title="Mozilla Firefox Private Browsing")) is not None
    assert rules.match(WindowContext(app="xterm", title="cat [unclosed")) is not None  # bad regex matched literally
    assert rules.match(WindowContext(app="Firefox", title="Заметки — 日本語")) is None
    assert rules.match(WindowContext()) is None


def test_pause_with_fake_clock_expires_and_emits(settings, events):
    now = [1000.0]
    screen = FakeScreen([frame(mark=5)])
    service, sink = make_service(settings, events, screen, wall_clock=lambda: now[0])
    until = service.pause(900)
    assert until == 1900.0
    run_frames(service, 2)
    assert screen.grabs == 0 and service.status()["state"] == "paused"
    assert service.capture_once().reason == "paused"
    now[0] = 1900.0
    run_frames(service, 1)
    assert screen.grabs == 1 and len(sink.rows) == 1
    names = [n for n, _ in events.log]
    assert names.index("capture_did_pause") < names.index("capture_did_resume")


def test_pause_until_resumed(settings, events):
    switch = PauseSwitch(lambda: 0.0)
    switch.pause(None)
    assert switch.check() == (True, False) and switch.until is None
    assert switch.resume() and switch.check() == (False, False)
    service, _ = make_service(settings, events, FakeScreen([frame()]))
    service.pause(None)
    service.resume()
    assert [n for n, _ in events.log if "pause" in n or "resume" in n] == ["capture_did_pause", "capture_did_resume"]


def test_idle_and_locked_stop_grabbing(settings, events):
    screen = FakeScreen([frame(mark=5)])
    service, _ = make_service(settings, events, screen)
    screen.idle = 10_000
    run_frames(service, 1)
    screen.idle = None
    screen.is_locked = True
    run_frames(service, 1)
    assert screen.grabs == 0 and service.status()["state"] == "idle"
    screen.is_locked = False
    run_frames(service, 1)
    assert screen.grabs == 1


# -- bad input -------------------------------------------------------------------------------


def test_no_display_is_reported_once_and_retried(settings, events):
    attempts = []

    def factory():
        attempts.append(1)
        raise CaptureError("There is no display to capture (DISPLAY is not set).", fix="Set DISPLAY.")

    service = CaptureService(settings, events, MemorySink(), screen_factory=factory, ocr=FakeOcr())
    delays = [service._tick() for _ in range(3)]
    assert len(attempts) == 3 and all(d == settings.get("capture.max_interval_seconds") for d in delays)
    assert len([1 for n, _ in events.log if n == "capture_did_fail"]) == 1
    assert service.status()["state"] == "error" and "DISPLAY" in service.status()["last_error"]
    with pytest.raises(CaptureError):
        service.capture_once()


def test_display_lost_mid_run_then_back(settings, events):
    screen = FakeScreen([frame(mark=5), frame(mark=30)])
    counter = iter(range(100))
    # Boxes are in the coordinates of the image OCR is given (a strip of crops): put the word mid-image.
    ocr = FakeOcr(lambda image: [Word(f"word{next(counter)}", 95, Rect(2, image.height // 2 - 4, 30, image.height // 2 + 4))])
    service, sink = make_service(settings, events, screen, ocr)
    run_frames(service, 1)
    screen.fail_with = CaptureError("The display :9 went away while capturing.", fix="wait")
    run_frames(service, 2)
    assert service.status()["state"] == "error"
    screen.fail_with = None
    run_frames(service, 1)
    assert service.status()["state"] == "running" and len(sink.rows) == 2
    assert len([1 for n, _ in events.log if n == "capture_did_fail"]) == 1


def test_wayland_and_missing_display_say_so():
    with pytest.raises(CaptureError, match="Wayland"):
        check_session({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"})
    with pytest.raises(CaptureError, match="no display"):
        check_session({})
    assert check_session({"DISPLAY": ":0"}) == ":0"


def test_url_from_title():
    assert url_from_title("Docs https://example.org/a?b=1 - Chromium", "Chromium") == "https://example.org/a?b=1"
    assert url_from_title("github.com/engram/issues - Mozilla Firefox", "firefox") == "github.com/engram/issues"
    assert url_from_title("notes.txt - Editor", "gedit") is None
    assert url_from_title(None, None) is None


def test_unknown_monitor_falls_back_to_all_and_says_so(settings, events):
    settings.set("capture.monitors", "7")
    service, sink = make_service(settings, events, FakeScreen([frame(mark=5)]))
    run_frames(service, 1)
    assert len(sink.rows) == 1 and "no monitor '7'" in service.status()["last_error"]


# -- the frame queue --------------------------------------------------------------------------


def test_queue_merges_per_monitor_and_drops_oldest_when_full():
    queue = FrameQueue(capacity=2)
    ctx = WindowContext()
    m1, m2, m3 = (Monitor(n, 0, 0, 4, 4) for n in (1, 2, 3))
    assert queue.put(FrameJob(m1, frame(), ctx, 1)) == "queued"
    assert queue.put(FrameJob(m1, frame(), ctx, 2)) == "merged"
    assert queue.put(FrameJob(m2, frame(), ctx, 3)) == "queued"
    assert queue.put(FrameJob(m3, frame(), ctx, 4)) == "dropped-oldest"
    assert len(queue) == 2 and queue.merged == 1 and queue.dropped == 1
    assert [queue.get(0).ts, queue.get(0).ts] == [3, 4]
    assert queue.get(0) is None


def test_slow_ocr_merges_frames_and_memory_stays_bounded(settings, events):
    screen = FakeScreen([frame(mark=m) for m in range(0, 40)])
    service, sink = make_service(settings, events, screen)
    for _ in range(30):  # the loop runs, the worker never gets a turn
        service._tick()
    assert len(service.queue) == 1
    status = service.status()
    assert status["frames_merged"] == 29 and status["ocr_backlog"] == 1
    service._read_job(service.queue.get(0))
    assert len(sink.rows) == 1


def test_a_screen_is_stored_as_capture_stores_it_with_every_secret_masked():
    context = WindowContext(app="firefox", title="Login password: Tr0ub4dor - shop.example.com - Mozilla Firefox")
    item = screen_observation("Card 4111 1111 1111 1111 exp 09/29\nPIN 4821", context, keep_values=False)
    assert "4111 1111 1111 1111" not in item["text"] and "4821" not in item["text"]
    assert "Tr0ub4dor" not in item["window_title"] and item["window_title"].endswith("Mozilla Firefox")
    assert item["url"] == "shop.example.com"
    assert "secrets" not in item["meta"]  # the values stay off the screen road unless vault_from_screen is on
    kept = screen_observation("PIN 4821", context, keep_values=True)
    assert "4821" not in kept["text"] and any(s["value"] == "4821" for s in kept["meta"]["secrets"])
    assert screen_observation("plain text", WindowContext(app="xterm", title=None), keep_values=False)["window_title"] is None
