"""The global quick-recall shortcut on a real X server."""

from __future__ import annotations

import shutil
import subprocess
import threading

import pytest

from desktop.hotkey import GlobalHotkey, parse_shortcut


def test_pressing_the_shortcut_anywhere_calls_back(xvfb_display):
    if not shutil.which("xdotool"):
        pytest.skip("xdotool is not installed (apt install xdotool)")
    pressed = threading.Event()
    hotkey = GlobalHotkey("Ctrl+Alt+Space", pressed.set)
    assert hotkey.start() is None
    try:
        subprocess.run(["xdotool", "key", "ctrl+alt+space"], check=True, env={"DISPLAY": xvfb_display})
        assert pressed.wait(5)
        pressed.clear()
        subprocess.run(["xdotool", "key", "ctrl+space"], check=True, env={"DISPLAY": xvfb_display})
        assert not pressed.wait(0.5)  # a different combination is not ours
    finally:
        hotkey.stop()


def test_a_combination_already_taken_is_reported(xvfb_display):
    first = GlobalHotkey("Ctrl+Alt+F9", lambda: None)
    assert first.start() is None
    try:
        reason = GlobalHotkey("Ctrl+Alt+F9", lambda: None).start()
        assert reason and "already uses" in reason
    finally:
        first.stop()


@pytest.mark.parametrize("text, message", [("Space", "modifier"), ("Hyper+K", "unknown modifier"), ("Ctrl+Nosuchkey", "unknown key")])
def test_bad_shortcuts_are_explained(text, message):
    with pytest.raises(ValueError, match=message):
        parse_shortcut(text)


def test_no_display_means_no_global_shortcut(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert GlobalHotkey("Ctrl+Alt+Space", lambda: None).start() == "there is no X11 display"


def test_the_app_opens_quick_recall_from_the_global_shortcut(make_app, qtbot, xvfb_display):
    if not shutil.which("xdotool"):
        pytest.skip("xdotool is not installed (apt install xdotool)")
    app = make_app()
    assert app.hotkey is not None, app.hotkey_problem
    assert not app.recall.isVisible()
    subprocess.run(["xdotool", "key", "ctrl+alt+space"], check=True, env={"DISPLAY": xvfb_display})
    qtbot.waitUntil(app.recall.isVisible, timeout=5_000)
    app.recall.close()
    app.engine.settings.set("app.quick_recall_shortcut", "Ctrl+Alt+J")
    qtbot.waitUntil(lambda: app.hotkey is not None and app.hotkey.shortcut == "Ctrl+Alt+J", timeout=5_000)
    subprocess.run(["xdotool", "key", "ctrl+alt+j"], check=True, env={"DISPLAY": xvfb_display})
    qtbot.waitUntil(app.recall.isVisible, timeout=5_000)
