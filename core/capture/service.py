"""The capture service: a loop that grabs, a worker that reads, and their health.

``CaptureService(settings, events, observations)`` does nothing until
``start()`` (or ``capture_once()``).  Then two daemon threads run:

* the **capture loop** wakes on a ``threading.Event`` timeout (never busy
  waits), checks pause, idle and lock, asks which window has the focus and
  checks it against the exclusions *before* grabbing any pixel, grabs the
  chosen monitors, blanks every visible part of any other excluded window and
  of Engram's own windows (``core.capture.windows``), and hands frames that
  differ from the last grab to the bounded ``FrameQueue``.  Nothing after that
  (change detection, OCR, the thumbnail) ever sees the blanked pixels.  Its
  interval grows by half while nothing changes, up to
  ``capture.max_interval_seconds``.
* the **OCR worker** takes frames from the queue, compares each with the last
  frame it read on that monitor, OCRs only the changed regions, masks
  sensitive text and stores one observation per kept monitor frame.

Every problem (no display, display gone, tesseract missing, one frame failing
OCR) is reported once as ``capture_did_fail`` and in ``status()``; the loop
keeps running and retries.  ``stop()`` and ``start()`` are idempotent;
``close()`` stops for good.

Secrets found on screen (``core.secrets``) are never stored in clear: the
text, title and URL hold their masks.  Only while ``privacy.vault_from_screen``
is on do the values travel in the observation's meta, outside every index, for
the absorber to put into the knowledge vault like any other observation's.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
from PIL import Image

from core.capture.changes import MonitorText, diff_frames, words_to_text
from core.capture.frames import FrameJob, FrameQueue
from core.capture.ocr import OcrEngine, TesseractOcr
from core.capture.privacy import ExclusionRules, PauseSwitch
from core.capture.screen import Monitor, ScreenSource, WindowContext, X11Screen, url_from_title
from core.capture.windows import HiddenWindow, blank, describe_hidden, hidden_windows, on_monitor
from core.errors import CaptureError
from core.secrets import mask_text, shield_observation

log = logging.getLogger(__name__)

STATES = ("stopped", "running", "paused", "idle", "excluded", "error")
THUMBNAIL_WIDTH = 320
THUMBNAIL_QUALITY = 50
MAX_TITLE_CHARS = 1000
BACKOFF_FACTOR = 1.5
# A change smaller than this share of the monitor (typing, a ticking clock) may wait
# for up to SMALL_CHANGE_DEFERRALS more changed frames before it is read: the
# reference frame stays, so the waiting changes add up and nothing is lost, while
# each OCR call (most of its cost is Tesseract starting) reads several of them.
SMALL_CHANGE_FRACTION = 0.03
SMALL_CHANGE_DEFERRALS = 3


class ObservationSink(Protocol):
    """What capture needs from the observation store."""

    def add(self, kind: str, text: str, **fields: Any) -> int: ...


class SettingsSource(Protocol):
    def get(self, key: str) -> Any: ...


@dataclass
class CaptureOutcome:
    """What happened to one capture: ``reason`` is kept, excluded, unchanged, paused, idle, no_text or error."""

    reason: str
    detail: str | None = None
    observation_ids: list[int] = field(default_factory=list)
    monitors: list[dict] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return bool(self.observation_ids)

    def to_dict(self) -> dict:
        return {"kept": self.kept, **asdict(self)}


@dataclass
class CaptureHealth:
    state: str = "stopped"
    last_frame_at: float | None = None
    frames_kept: int = 0
    frames_skipped: int = 0
    frames_excluded: int = 0
    frames_dropped: int = 0
    frames_merged: int = 0
    frames_no_text: int = 0
    frames_deferred: int = 0
    ocr_calls: int = 0
    ocr_failures: int = 0
    ocr_backlog: int = 0
    ocr_ms_last: float | None = None
    interval_seconds: float = 0.0
    paused_until: float | None = None
    last_error: str | None = None
    last_error_fix: str | None = None
    # Windows blanked out of the last frame (excluded apps and titles, Engram's own), by application.
    windows_hidden: int = 0
    hidden_windows: list[str] = field(default_factory=list)
    frames_window_moved: int = 0  # dropped: a window moved or opened while the screen was grabbed


@dataclass
class Grab:
    """What one look at the screen gave: blanked frames, or why there are none (``refused``)."""

    context: WindowContext
    frames: list[tuple[Monitor, np.ndarray]] = field(default_factory=list)
    hidden: list[HiddenWindow] = field(default_factory=list)
    refused: str | None = None
    focus_excluded: bool = False


def screen_observation(text: str, context: WindowContext, *, keep_values: bool, meta: dict | None = None) -> dict:
    """What capture stores of one frame read in ``context``: the title cut to ``MAX_TITLE_CHARS``, the URL
    from the title when the window gives none, and every secret masked in all three (``core.secrets``); their
    values ride along for the vault only when ``keep_values`` (``privacy.vault_from_screen``)."""
    return shield_observation(
        dict(
            kind="screen",
            text=text,
            window_title=context.title[:MAX_TITLE_CHARS] if context.title else None,
            url=context.url or url_from_title(context.title, context.app),
            meta=dict(meta or {}),
        ),
        keep_values=keep_values,
    )


class CaptureService:
    """Screen capture for one engine.  Construction starts nothing."""

    def __init__(
        self,
        settings: SettingsSource,
        events,
        observations: ObservationSink,
        *,
        screen_factory: Callable[[], ScreenSource] | None = None,
        ocr: OcrEngine | None = None,
        wall_clock: Callable[[], float] = time.time,
        queue_capacity: int = 2,
    ):
        self.settings = settings
        self.events = events
        self.observations = observations
        self._screen_factory = screen_factory or X11Screen
        self._fixed_ocr = ocr
        self._ocr: OcrEngine | None = ocr
        self._ocr_key: tuple | None = None
        self._wall = wall_clock
        self.pause_switch = PauseSwitch(wall_clock)
        self.queue = FrameQueue(queue_capacity)
        self._health = CaptureHealth()
        self._health_lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._loop_thread: threading.Thread | None = None
        self._worker_thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._read_lock = threading.Lock()  # the worker and capture_once share the text caches
        self._texts: dict[int, MonitorText] = {}
        self._last_grab: dict[int, np.ndarray] = {}
        self._last_job_frame: dict[int, np.ndarray] = {}
        self._deferred: dict[int, int] = {}  # monitor -> changed frames waiting to be read
        self._last_stored: dict[int, tuple] = {}
        self._screen: ScreenSource | None = None
        self._reported: set[str] = set()
        self._ocr_error: CaptureError | None = None
        self._interval: float | None = None
        self._rules_key: tuple | None = None
        self._rules: ExclusionRules | None = None
        self._closed = False

    # -- public API ---------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._loop_thread is not None and self._loop_thread.is_alive()

    def start(self) -> None:
        """Start the capture loop and the OCR worker; does nothing when already running."""
        with self._lifecycle:
            if self._closed:
                raise CaptureError("Capture was closed with its engine.", fix="Open the engine again.")
            if self.is_running:
                return
            self._stop.clear()
            self.queue.reopen()
            self._interval = None
            self._set_state("paused" if self.pause_switch.until is not None or self.pause_switch.check()[0] else "running")
            self._worker_thread = threading.Thread(target=self._worker_main, name="engram-capture-ocr", daemon=True)
            self._loop_thread = threading.Thread(target=self._loop_main, name="engram-capture", daemon=True)
            self._worker_thread.start()
            self._loop_thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop both threads and wait for them; frames still waiting are dropped and counted."""
        with self._lifecycle:
            self._stop.set()
            self._wake.set()
            self.queue.close()
            for thread in (self._loop_thread, self._worker_thread):
                if thread is not None and thread is not threading.current_thread():
                    thread.join(timeout)
            self._loop_thread = None
            self._worker_thread = None
            dropped = self.queue.clear()
            if dropped:
                with self._health_lock:
                    self._health.frames_dropped += dropped
            self._close_screen()
            self._set_state("stopped")
            self._emit_health()

    def close(self) -> None:
        """Stop for good (the engine calls this when it closes)."""
        self.stop()
        self._closed = True

    def pause(self, seconds: float | None = None) -> float | None:
        """Pause capture for ``seconds`` (15 min = 900, 1 h = 3600) or, with None, until ``resume()``."""
        until = self.pause_switch.pause(seconds)
        with self._health_lock:
            self._health.paused_until = until
        if self.is_running:
            self._set_state("paused")
        self.events.emit("capture_did_pause", until=until)
        self._wake.set()
        self._emit_health()
        return until

    def resume(self) -> None:
        """End a pause now."""
        if self.pause_switch.resume():
            self._after_resume()
        self._wake.set()

    def status(self) -> dict:
        """State, counters, backlog and last error, as plain data."""
        self.pause_switch.check()
        with self._health_lock:
            self._health.ocr_backlog = len(self.queue)
            self._health.frames_merged = self.queue.merged
            self._health.paused_until = self.pause_switch.until
            self._health.interval_seconds = round(self._interval or self._base_interval(), 3)
            data = asdict(self._health)
        data["frames_dropped"] += self.queue.dropped
        data["running"] = self.is_running
        data["hidden_summary"] = describe_hidden(data["hidden_windows"], data["windows_hidden"])
        return data

    def capture_once(self) -> CaptureOutcome:
        """Capture one frame of each chosen monitor now, read it at once and store what is kept.

        Raises CaptureError when there is no display to capture.
        """
        paused, _ = self.pause_switch.check()
        if paused:
            return CaptureOutcome("paused", "Capture is paused; resume it first.")
        screen = self._screen_factory()
        try:
            grab = self._grab_visible(screen)
        finally:
            screen.close()
        if grab.refused is not None:
            return CaptureOutcome("excluded", grab.refused)
        jobs = [FrameJob(monitor, frame, grab.context, self._wall()) for monitor, frame in grab.frames]
        outcomes = [self._read_job(job, allow_defer=False) for job in jobs]
        ids = [i for o in outcomes for i in o.observation_ids]
        monitors = [m for o in outcomes for m in o.monitors]
        if ids:
            return CaptureOutcome("kept", None, ids, monitors)
        reasons = {o.reason for o in outcomes}
        reason = "unchanged" if reasons == {"unchanged"} else ("no_text" if "no_text" in reasons else sorted(reasons)[0])
        return CaptureOutcome(reason, "; ".join(filter(None, (o.detail for o in outcomes))) or None, [], monitors)

    # -- settings -------------------------------------------------------------------------

    def _base_interval(self) -> float:
        return float(self.settings.get("capture.interval_seconds"))

    def _max_interval(self) -> float:
        return max(self._base_interval(), float(self.settings.get("capture.max_interval_seconds")))

    def _exclusions(self) -> ExclusionRules:
        key = (tuple(self.settings.get("privacy.exclude_apps")), tuple(self.settings.get("privacy.exclude_titles")))
        if key != self._rules_key:
            self._rules = ExclusionRules(list(key[0]), list(key[1]))
            self._rules_key = key
        assert self._rules is not None
        return self._rules

    def _ocr_engine(self) -> OcrEngine:
        if self._fixed_ocr is not None:
            return self._fixed_ocr
        key = (self.settings.get("capture.ocr_language"), self.settings.get("capture.min_word_confidence"))
        if key != self._ocr_key or self._ocr is None:
            self._ocr = TesseractOcr(language=key[0], min_confidence=key[1])
            self._ocr_key = key
        return self._ocr

    def _chosen_monitors(self, screen: ScreenSource) -> list[Monitor]:
        monitors = screen.monitors()
        choice = str(self.settings.get("capture.monitors")).strip().lower()
        if choice in ("", "all"):
            return monitors
        try:
            number = int(choice)
        except ValueError:
            number = -1
        chosen = [m for m in monitors if m.number == number]
        if not chosen:
            self._report(
                CaptureError(
                    f"There is no monitor {choice!r}; capturing all {len(monitors)} monitors instead.",
                    fix=f"Set 'Monitors' in the capture settings to 'all' or a number from 1 to {len(monitors)}.",
                ),
                state=None,
            )
            return monitors
        return chosen

    # -- the capture loop ----------------------------------------------------------------

    def _loop_main(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self._tick()
            except Exception as exc:  # the loop must outlive any one bad tick
                log.exception("capture tick failed")
                self._report(CaptureError(f"Capture failed unexpectedly: {exc}.", fix="See the log; capture retries."))
                delay = self._max_interval()
            self._wake.clear()
            if self._stop.is_set():
                break
            self._wake.wait(delay)

    def _tick(self) -> float:
        """One look at the screen; returns how long to wait before the next."""
        base = self._base_interval()
        if self._interval is None:
            self._interval = base
        paused, expired = self.pause_switch.check()
        if expired:
            self._after_resume()
        if paused:
            self._set_state("paused")
            # Let go of the display meanwhile: its window notices would pile up unread.
            self._close_screen()
            remaining = self.pause_switch.remaining()
            return min(remaining, self._max_interval()) if remaining is not None else self._max_interval()
        if self._ocr_error is not None:
            try:
                self._ocr_engine().check()
            except CaptureError:
                self._set_state("error")
                self._close_screen()
                return self._max_interval()
            self._ocr_error = None
            self._reported.clear()
        try:
            screen = self._open_screen()
            idle = screen.idle_seconds()
            if screen.locked() or (idle is not None and idle >= float(self.settings.get("capture.idle_seconds"))):
                self._set_state("idle")
                self._emit_health()
                return base
            grab = self._grab_visible(screen)
            if grab.refused is not None:
                if grab.focus_excluded:
                    self._set_state("excluded")
                self._emit_health()
                return base
        except CaptureError as exc:
            self._close_screen()
            self._report(exc)
            return self._max_interval()
        self._set_state("running")
        # The display works again: a later outage is news and will be reported.
        self._reported = {tag for tag in self._reported if not tag.startswith("screen")}
        changed = False
        now = self._wall()
        context = grab.context
        for monitor, frame in grab.frames:
            diff = diff_frames(self._last_grab.get(monitor.number), frame)
            # A deferred small change must still be read once the screen settles.
            if diff.negligible and not self._deferred.get(monitor.number):
                self._count("frames_skipped")
                continue
            changed = True
            self._last_grab[monitor.number] = frame
            self.queue.put(FrameJob(monitor, frame, context, now))
        self._interval = base if changed else min(self._interval * BACKOFF_FACTOR, self._max_interval())
        self._emit_health()
        return self._interval

    def _grab_visible(self, screen: ScreenSource) -> Grab:
        """Grab the chosen monitors unless the focused window is excluded, with every other excluded window blanked.

        The windows are listed before and after the grab (the X server may move
        one in between): if what must be hidden differs, the frames are dropped
        rather than blanked in the wrong place.  Counts and health are updated here.
        """
        rules = self._exclusions()
        context = screen.focused_window()
        exclusion = rules.match(context)
        if exclusion is not None:
            return self._refuse(Grab(context, refused=f"the focused window is excluded: {exclusion.describe()}", focus_excluded=True))
        monitors = self._chosen_monitors(screen)
        before = hidden_windows(screen.windows(), rules.match)
        grabbed = [(m, screen.grab(m)) for m in monitors]
        # The focus may have moved to an excluded window while we grabbed: then forget the pixels.
        if rules.match(screen.focused_window()) is not None:
            return self._refuse(Grab(context, refused="an excluded window took the focus while grabbing", focus_excluded=True))
        after = hidden_windows(screen.windows(), rules.match)
        if after != before:
            self._count("frames_window_moved")
            return Grab(context, refused="a window moved or opened while the screen was read; the next frame will be")
        frames = []
        shown = set()
        for monitor, frame in grabbed:
            rects = []
            for index, hidden in enumerate(after):
                on_screen = on_monitor(hidden.regions, monitor)
                if on_screen:
                    shown.add(index)
                    rects.extend(on_screen)
            frames.append((monitor, blank(frame, rects)))
        visible = [hidden for index, hidden in enumerate(after) if index in shown]
        with self._health_lock:
            self._health.windows_hidden = len(visible)
            self._health.hidden_windows = list(dict.fromkeys(h.label for h in visible))
        return Grab(context, frames, visible)

    def _refuse(self, grab: Grab) -> Grab:
        """The focused window is excluded: no pixels, and nothing else was hidden."""
        self._count("frames_excluded")
        with self._health_lock:
            self._health.windows_hidden = 0
            self._health.hidden_windows = []
        return grab

    def _open_screen(self) -> ScreenSource:
        if self._screen is None:
            self._screen = self._screen_factory()
        return self._screen

    def _close_screen(self) -> None:
        if self._screen is not None:
            try:
                self._screen.close()
            except Exception:  # noqa: BLE001 - a dead display may fail to close
                log.debug("closing the screen failed", exc_info=True)
            self._screen = None
            self._last_grab.clear()

    # -- the OCR worker ------------------------------------------------------------------

    def _worker_main(self) -> None:
        while not self._stop.is_set():
            job = self.queue.get(timeout=1.0)
            if job is None:
                continue
            try:
                self._read_job(job)
            except CaptureError as exc:
                self._ocr_error = exc
                self._count("frames_dropped")
                self._report(exc, key="ocr")
            except Exception as exc:  # one bad frame must not stop the worker
                log.exception("reading a frame of monitor %s failed", job.monitor.number)
                self._count("ocr_failures")
                self._report(CaptureError(f"OCR failed on one frame: {exc}.", fix="Capture goes on with the next frame."), key="ocr-crash", state=None)
            self._emit_health()

    def _read_job(self, job: FrameJob, allow_defer: bool = True) -> CaptureOutcome:
        """OCR the changed regions of ``job``'s frame and store it; runs on one thread at a time.

        With ``allow_defer`` a small change while the screen is still changing may
        wait for the next frame (``capture_once`` never defers).
        """
        with self._read_lock:
            text_cache = self._texts.setdefault(job.monitor.number, MonitorText())
            if text_cache.reference is not None and text_cache.reference.shape != job.frame.shape:
                text_cache.reset()
            plan = text_cache.plan(job.frame)
            number = job.monitor.number
            settling = diff_frames(self._last_job_frame.get(number), job.frame).negligible
            self._last_job_frame[number] = job.frame
            if plan.status == "unchanged":
                self._deferred.pop(number, None)
                self._count("frames_skipped")
                return CaptureOutcome("unchanged", f"monitor {number} has not changed")
            small = plan.ocr_area < SMALL_CHANGE_FRACTION * job.frame.size
            same_window = self._last_stored.get(number, (None, None, None))[1:] == (
                job.context.app,
                mask_text(job.context.title[:MAX_TITLE_CHARS]).text if job.context.title else None,
            )
            if allow_defer and small and same_window and not settling and self._deferred.get(number, 0) < SMALL_CHANGE_DEFERRALS:
                self._deferred[number] = self._deferred.get(number, 0) + 1
                self._count("frames_deferred")
                return CaptureOutcome("deferred", f"a small change on monitor {number} waits for the next frame")
            self._deferred.pop(number, None)
            height, width = job.frame.shape
            image = Image.frombuffer("RGB", (width, height), job.frame, "raw", "BGRX", 0, 1)
            ocr = self._ocr_engine()
            self._count("ocr_calls")
            result = ocr.read_regions(image, plan.ocr_rects)
            words = text_cache.apply(job.frame, plan, result.words)
        with self._health_lock:
            self._health.ocr_ms_last = round(result.ms, 1)
        item = screen_observation(
            words_to_text(words), job.context, keep_values=bool(self.settings.get("privacy.vault_from_screen")),
            meta={
                "words": len(words),
                "ocr_regions": len(plan.ocr_rects),
                "ocr_area": plan.ocr_area,
                "scrolled": plan.scrolled,
                "merged_frames": job.merged,
            },
        )
        text, title, url = item["text"], item["window_title"], item["url"] or None
        summary = {"monitor": job.monitor.number, "app": job.context.app, "window_title": title, "url": url}
        if not text.strip():
            self._count("frames_no_text")
            return CaptureOutcome("no_text", f"no text read on monitor {job.monitor.number}", monitors=[summary])
        signature = (text, job.context.app, title)
        if self._last_stored.get(job.monitor.number) == signature:
            self._count("frames_skipped")
            return CaptureOutcome("unchanged", f"the text of monitor {job.monitor.number} has not changed")
        thumbnail = None
        if self.settings.get("capture.thumbnails") and int(self.settings.get("retention.thumbnail_days")) > 0:
            thumbnail = make_thumbnail(image)
        meta = dict(item["meta"], sensitive=item["meta"].get("sensitive", []))
        observation_id = self.observations.add(
            "screen",
            text,
            ts=job.ts,
            app=job.context.app,
            window_title=title,
            url=url,
            monitor=job.monitor.number,
            changed_fraction=round(plan.changed_fraction, 5),
            ocr_ms=round(result.ms, 1),
            thumbnail=thumbnail,
            meta=meta,
        )
        self._last_stored[job.monitor.number] = signature
        with self._health_lock:
            self._health.frames_kept += 1
            self._health.last_frame_at = job.ts
        summary.update(id=observation_id, text=text, changed_fraction=round(plan.changed_fraction, 5), ocr_ms=round(result.ms, 1))
        return CaptureOutcome("kept", None, [observation_id], [summary])

    # -- health and events ---------------------------------------------------------------

    def _count(self, counter: str, amount: int = 1) -> None:
        with self._health_lock:
            setattr(self._health, counter, getattr(self._health, counter) + amount)

    def _set_state(self, state: str) -> None:
        assert state in STATES
        with self._health_lock:
            if self._health.state == state:
                return
            self._health.state = state
        self.events.emit("capture_did_change_state", state=state)

    def _after_resume(self) -> None:
        with self._health_lock:
            self._health.paused_until = None
        if self.is_running:
            self._set_state("running")
        self.events.emit("capture_did_resume")
        self._emit_health()

    def _report(self, exc: CaptureError, key: str = "screen", state: str | None = "error") -> None:
        """Record a problem; emit ``capture_did_fail`` only the first time this problem is seen."""
        with self._health_lock:
            self._health.last_error = exc.message
            self._health.last_error_fix = exc.fix
        if state is not None:
            self._set_state(state)
        tag = f"{key}:{exc.message}"
        if tag in self._reported:
            return
        self._reported.add(tag)
        self._reported.add(key)
        log.warning("capture: %s", exc)
        self.events.emit("capture_did_fail", message=str(exc))

    def _emit_health(self) -> None:
        self.events.emit("capture_did_update_health", health=self.status())


def make_thumbnail(image: Image.Image, width: int = THUMBNAIL_WIDTH, quality: int = THUMBNAIL_QUALITY) -> bytes:
    """A small WebP of ``image``, at most ``width`` pixels wide."""
    scale = min(1.0, width / image.width)
    small = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.BILINEAR)
    buffer = io.BytesIO()
    small.save(buffer, format="WEBP", quality=quality, method=4)
    return buffer.getvalue()
