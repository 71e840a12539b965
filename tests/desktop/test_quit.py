"""Quit means quit: closing the window without a tray, the menu's Quit and Ctrl+Q end Engram and its capture."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.desktop.real_app import find_window, make_home, start_app, stop


def test_closing_the_window_without_a_tray_asks_the_app_to_quit(make_app, qtbot):
    app = make_app()
    assert not app.tray.available  # Xvfb has no tray
    with qtbot.waitSignal(app.quitting, timeout=5_000):
        app.window.close()


def test_closing_the_window_with_a_tray_only_hides_it(make_app, qtbot):
    app = make_app()
    app.window.hide_on_close = True  # as where a tray exists
    with qtbot.assertNotEmitted(app.quitting), qtbot.waitSignal(app.window.hidden_to_tray, timeout=5_000):
        app.window.close()
    assert not app.window.isVisible()
    with qtbot.waitSignal(app.quitting, timeout=5_000):
        app.window.quit_action.trigger()  # the menu's Quit (Ctrl+Q) quits either way


# -- the real program on Xvfb ----------------------------------------------------------


def _send_delete_window(display: str, window_id: int) -> None:
    """What a window manager sends when the user clicks the close button (WM_DELETE_WINDOW)."""
    from Xlib import X, display as xdisplay
    from Xlib.protocol import event

    conn = xdisplay.Display(display)
    try:
        window = conn.create_resource_object("window", window_id)
        protocols = conn.intern_atom("WM_PROTOCOLS")
        delete = conn.intern_atom("WM_DELETE_WINDOW")
        message = event.ClientMessage(window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        window.send_event(message, event_mask=X.NoEventMask)
        conn.flush()
    finally:
        conn.close()


@pytest.fixture
def running_app(tmp_path, xvfb_display):
    if not shutil.which("xdotool"):
        pytest.skip("xdotool is not installed (apt install xdotool)")
    # First run done and capture on: the case where an unseen process would go on recording.
    home = make_home(tmp_path / "home", **{"capture.enabled": True})
    process = start_app(home, xvfb_display)
    yield process, xvfb_display
    stop(process)


def test_closing_the_window_ends_the_process(running_app):
    process, display = running_app
    window = find_window(display, process)
    _send_delete_window(display, window)
    try:
        code = process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("Engram kept running after its only window was closed:\n" + process.stdout.read()) from None
    assert code == 0, process.stdout.read()


def test_ctrl_q_ends_the_process(running_app):
    process, display = running_app
    window = find_window(display, process)
    subprocess.run(["xdotool", "windowfocus", "--sync", str(window)], env={"DISPLAY": display}, check=False)
    try:
        subprocess.run(["xdotool", "key", "--window", str(window), "ctrl+q"], env={"DISPLAY": display}, check=True)
        try:
            code = process.wait(20)
        except subprocess.TimeoutExpired:
            raise AssertionError("Ctrl+Q did not quit Engram") from None
    finally:
        # Engram quits on the press and its window is gone before xdotool sends the releases: without this the
        # X server keeps Ctrl and Q down and auto-repeats Ctrl+Q into the windows of every later test.
        subprocess.run(["xdotool", "keyup", "ctrl+q"], env={"DISPLAY": display}, check=False)
    assert code == 0, process.stdout.read()
