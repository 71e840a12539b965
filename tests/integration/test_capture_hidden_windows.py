"""Excluded and Engram windows that are visible but not focused: real Xvfb, real Tk windows, real Tesseract.

Every test runs twice: on a bare X server (no window manager: windows are
children of the root) and under evilwm, a real reparenting window manager with
EWMH (windows sit in frames; _NET_ACTIVE_WINDOW names the focus).
"""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from core.capture.ocr import TesseractOcr
from core.capture.screen import X11Screen
from core.capture.service import THUMBNAIL_WIDTH, CaptureService
from core.events import EventBus
from core.settings import Settings
from tests.xvfb import TextWindow, WindowManager, XvfbServer, xvfb_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed (Debian 'tesseract-ocr')"),
]

WIDTH, HEIGHT = 1280, 800
SECRET = "Zanzibar quixotic marmalade\nHunter lighthouse saxophone\n"
SECRET_WORDS = ("zanzibar", "quixotic", "marmalade", "hunter", "lighthouse", "saxophone")
NOTES = "Quarterly invoice from Globex Corporation\nMeeting with Umbrella about the shipment\n"
NOTES_WORDS = ("globex", "umbrella", "shipment")


class MemorySink:
    def __init__(self):
        self.rows = []

    def add(self, kind, text, **fields):
        self.rows.append({"kind": kind, "text": text, **fields})
        return len(self.rows)

    def purge_thumbnails(self, older_than):
        return 0


@pytest.fixture(scope="module", params=["no window manager", "evilwm"])
def desktop(request, needs_tk):
    if not xvfb_available():
        pytest.skip("Xvfb is not installed (Debian package 'xvfb')")
    if request.param == "evilwm" and not WindowManager.available():
        pytest.skip("evilwm is not installed (Debian package 'evilwm', in packaging/debian-packages.txt)")
    server = XvfbServer(WIDTH, HEIGHT)
    manager = WindowManager(server.name) if request.param == "evilwm" else None
    yield server
    if manager is not None:
        manager.stop()
    server.stop()


@pytest.fixture
def display(desktop, monkeypatch):
    monkeypatch.setenv("DISPLAY", desktop.name)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    windows = []

    def open_window(*args, **kwargs):
        win = TextWindow(desktop.name, *args, **kwargs)
        windows.append(win)
        return win

    yield open_window
    for win in windows:
        win.close()


def words_of(text):
    return {w.strip(".,:;").lower() for w in text.split()}


def read_once(paths, exclude_apps=None):
    """One capture with a fresh service and real Tesseract; the kept row (or None) and the service's status."""
    settings = Settings(paths)
    if exclude_apps is not None:
        settings.set("privacy.exclude_apps", exclude_apps)
    sink = MemorySink()
    service = CaptureService(settings, EventBus(), sink, ocr=TesseractOcr("eng", 60))
    try:
        outcome = service.capture_once()
        return (sink.rows[0] if sink.rows else None), outcome, service.status()
    finally:
        service.close()


def test_excluded_app_behind_the_focused_window_leaves_no_text_and_no_pixels(display, engine, paths):
    display("KeePassXC", "Vault.kdbx - KeePassXC", SECRET, geometry="700x500+20+20")
    notes = display("notesapp", "Notes", NOTES, geometry="700x500+500+250")
    notes.raise_and_focus()

    # The password manager is partly visible: with its rule removed, its words are read.
    row, _, _ = read_once(paths, exclude_apps=[])
    assert set(SECRET_WORDS) & words_of(row["text"]), row["text"]

    outcome = engine.capture.capture_once()
    assert outcome.kept, outcome
    stored = engine.observations.get(outcome.observation_ids[0])
    assert stored.app == "Notesapp"
    assert not set(SECRET_WORDS) & words_of(stored.text), stored.text
    assert set(NOTES_WORDS) <= words_of(stored.text), stored.text
    status = engine.capture.status()
    assert status["windows_hidden"] == 1 and status["hidden_summary"] == "1 window hidden from capture: Keepassxc"

    # The stored thumbnail: the password manager's visible part is blank, the notes are not.
    thumb = np.asarray(Image.open(io.BytesIO(engine.observations.thumbnail(stored.id))).convert("L")).astype(int)
    scale = THUMBNAIL_WIDTH / WIDTH
    assert thumb.shape == (int(HEIGHT * scale), THUMBNAIL_WIDTH)

    def region(x0, y0, x1, y1, margin=3):  # screen pixels -> thumbnail pixels, a little inside
        return thumb[int(y0 * scale) + margin : int(y1 * scale) - margin, int(x0 * scale) + margin : int(x1 * scale) - margin]

    assert region(20, 20, 500, 520).max() < 40  # left of the notes window
    assert region(500, 20, 720, 250).max() < 40  # above the notes window
    assert region(520, 300, 1200, 750).mean() > 200  # the notes window: white paper with a little text


def test_engram_window_beside_the_focused_one_leaves_none_of_its_words(display, paths):
    display("engram", "Memories", SECRET, geometry="600x500+20+40")  # WM_CLASS 'engram', 'Engram'
    notes = display("notesapp", "Notes", NOTES, geometry="600x500+660+40")
    notes.raise_and_focus()
    row, outcome, status = read_once(paths, exclude_apps=[])  # no setting needed: Engram is always hidden
    assert outcome.kept, outcome
    assert not set(SECRET_WORDS) & words_of(row["text"]), row["text"]
    assert set(NOTES_WORDS) <= words_of(row["text"])
    assert status["hidden_summary"] == "1 window hidden from capture: Engram"


def test_a_window_of_this_process_is_hidden_by_its_pid(display, paths):
    helper = display("helperapp", "Quick recall", SECRET, geometry="600x500+20+40")
    notes = display("notesapp", "Notes", NOTES, geometry="600x500+660+40")
    notes.raise_and_focus()
    row, _, _ = read_once(paths, exclude_apps=[])
    assert set(SECRET_WORDS) & words_of(row["text"])  # another process's window is read

    helper.set_property("_NET_WM_PID", [os.getpid()])  # now it says it belongs to this process
    row, outcome, status = read_once(paths, exclude_apps=[])
    assert outcome.kept and not set(SECRET_WORDS) & words_of(row["text"]), row["text"]
    assert status["hidden_windows"] == ["Engram"]


def test_window_list_is_kept_until_the_server_reports_a_change(display):
    keepass = display("KeePassXC", "Passwords.kdbx", SECRET, geometry="400x300+20+20")
    display("notesapp", "Notes", NOTES, geometry="400x300+600+300")
    screen = X11Screen()
    try:
        first = screen.windows()
        listings = screen._window_list.listings
        for _ in range(5):
            assert screen.windows() == first
            screen.focused_window()
        assert screen._window_list.listings == listings  # nothing changed: no new listing

        keepass.set_title("Passwords.kdbx [locked]")
        screen.focused_window()  # any round trip brings the server's notices in
        titles = [w.context.title for w in screen.windows()]
        assert "Passwords.kdbx [locked]" in titles and screen._window_list.listings == listings + 1

        keepass.set_property("_NET_WM_PID", [4321])
        screen.focused_window()
        assert 4321 in [w.context.pid for w in screen.windows()]
    finally:
        screen.close()


def test_window_notices_do_not_pile_up_while_only_the_focus_is_checked(display):
    """While the focused window is excluded (or the user is idle) the list is not read, but its notices are taken."""
    keepass = display("KeePassXC", "Vault", SECRET, geometry="400x300+20+20")
    screen = X11Screen()
    try:
        screen.windows()
        for index in range(40):
            keepass.set_title(f"Vault {index}")
            screen.focused_window()
            screen.idle_seconds()
        assert len(screen._display.display.event_queue) == 0
        assert screen.windows()[-1].context.title == "Vault 39"
    finally:
        screen.close()
