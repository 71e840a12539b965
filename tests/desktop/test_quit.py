"""Quit means quit: closing the window without a tray, the menu's Quit and Ctrl+Q end Engram and its capture."""

from __future__ import annotations

import subprocess

from tests.desktop.real_app import find_window, send_delete_window


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


# -- the real program on Xvfb (tests/desktop/conftest.py starts it) ------------------------------------


def test_closing_the_window_ends_the_process(running_app):
    process, display, _home = running_app
    # Qt may drop a close request that arrives while the window is still being set up (no user is that
    # fast); a second click a few seconds later is what a person would do.
    for _attempt in range(3):
        send_delete_window(display, find_window(display, process))
        try:
            code = process.wait(10)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        raise AssertionError("Engram kept running after its only window was closed")
    assert code == 0, process.stdout.read()


def test_ctrl_q_ends_the_process(running_app):
    process, display, _home = running_app
    window = find_window(display, process)
    subprocess.run(["xdotool", "windowfocus", "--sync", str(window)], env={"DISPLAY": display}, check=False)
    try:
        subprocess.run(["xdotool", "key", "--window", str(window), "ctrl+q"], env={"DISPLAY": display}, check=True)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError("Ctrl+Q did not quit Engram") from None
    finally:
        # Engram quits on the press and its window is gone before xdotool sends the releases: without this the
        # X server keeps Ctrl and Q down and auto-repeats Ctrl+Q into the windows of every later test.
        subprocess.run(["xdotool", "keyup", "ctrl+q"], env={"DISPLAY": display}, check=False)
    assert code == 0, process.stdout.read()


def test_hiding_to_the_tray_says_so_only_the_first_time(make_app, qtbot, monkeypatch):
    app = make_app()
    app.window.hide_on_close = True  # as where a tray exists
    monkeypatch.setattr(app.tray, "available", True)
    told = []
    monkeypatch.setattr(app.tray.icon, "showMessage", lambda title, text, *rest: told.append((title, text)))
    for _ in range(2):
        app.window.show()
        with qtbot.waitSignal(app.window.hidden_to_tray, timeout=5_000):
            app.window.close()
        assert not app.window.isVisible()
    assert len(told) == 1, told
    title, text = told[0]
    assert "still running" in title and "Ctrl+Q" in text
