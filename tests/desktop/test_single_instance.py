"""One Engram per data directory: a second start hands its command to the running app and exits.

Also: starting in the tray (``--background``) and the first-run choice to start at login.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from core.errors import StorageError
from desktop.single_instance import AlreadyRunning, SingleInstance, channel_dir, socket_path
from tests.desktop.conftest import wait_idle
from tests.desktop.real_app import find_window, make_home, start_app, stop, windows

# -- the lock and the channel, in this process ---------------------------------------------


def test_the_channel_directory_is_private(tmp_path, monkeypatch):
    private = tmp_path / "run"
    private.mkdir(mode=0o700)
    assert channel_dir({"XDG_RUNTIME_DIR": str(private)}) == private
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    fallback = channel_dir({"XDG_RUNTIME_DIR": str(shared)})  # a runtime dir others can open is not used
    assert fallback != shared and fallback.stat().st_mode & 0o777 == 0o700
    assert fallback.stat().st_uid == os.getuid()


def test_the_socket_name_follows_the_data_directory(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert socket_path(a) != socket_path(b)
    assert socket_path(a) == socket_path(tmp_path / "x" / ".." / "a")


def test_a_second_claim_on_the_same_data_fails_until_the_first_lets_go(qapp, tmp_path):
    first, second = SingleInstance(tmp_path), SingleInstance(tmp_path)
    assert first.claim()
    assert not second.claim()
    assert second.holder_pid() == os.getpid()
    first.close()
    assert second.claim()
    second.close()


def test_commands_reach_the_running_instance_even_before_it_is_ready(qapp, qtbot, tmp_path):
    first = SingleInstance(tmp_path)
    assert first.claim()
    first.listen()
    errors: list[Exception] = []

    def send() -> None:  # a second start; the first answers from its event loop (this thread's)
        try:
            SingleInstance(tmp_path).send("quick-recall", timeout=5)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    received: list[str] = []
    try:
        thread = threading.Thread(target=send)
        thread.start()
        qtbot.waitUntil(lambda: not thread.is_alive(), timeout=10_000)
        assert errors == []
        first.deliver_to(received.append)  # kept until the app was ready, then handed over
        assert received == ["quick-recall"]
    finally:
        first.close()


def test_a_holder_that_does_not_answer_is_reported(qapp, tmp_path):
    import fcntl

    lock = os.open(tmp_path / "app.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held, but nobody listens
    os.write(lock, b"4242\n")
    try:
        later = SingleInstance(tmp_path)
        assert not later.claim()
        with pytest.raises(AlreadyRunning) as raised:
            later.send("show", timeout=0.5)
        assert "process 4242" in raised.value.message and raised.value.fix
    finally:
        os.close(lock)


def test_a_data_directory_that_cannot_hold_the_lock_is_reported(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(StorageError) as raised:
        SingleInstance(not_a_dir).claim()
    assert "lock file" in raised.value.message and raised.value.fix


def test_quit_with_nothing_running_is_fine_and_needs_no_display(monkeypatch):
    from engram.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["app", "--quit"]) == 0


# -- the app: tray start, commands, first run ------------------------------------------------


def test_background_start_stays_in_the_tray_where_there_is_one(make_app):
    app = make_app(show=False)
    app.tray.available = True  # as on a desktop with a tray
    app.start(first_run=False, show_window=False)
    assert not app.window.isVisible()


def test_background_start_without_a_tray_shows_the_window(make_app):
    app = make_app(show=False)
    assert not app.tray.available  # Xvfb has no tray
    app.start(first_run=False, show_window=False)
    assert app.window.isVisible()  # never running, and perhaps recording, unseen


def test_commands_bring_the_window_forward_and_open_quick_recall(make_app, qtbot):
    app = make_app(show=False)
    app.tray.available = True
    app.start(first_run=False, show_window=False)
    app.run_command("show")
    qtbot.waitUntil(app.window.isVisible, timeout=5_000)
    app.run_command("quick-recall")
    qtbot.waitUntil(app.recall.isVisible, timeout=5_000)
    with qtbot.waitSignal(app.quitting, timeout=5_000):
        app.run_command("quit")


def _finish_first_run(app, qtbot, *, start_at_login: bool) -> None:
    app.start(first_run=True)
    qtbot.waitUntil(lambda: app.wizard is not None and app.wizard.isVisible(), timeout=10_000)
    assert not app.wizard.login_box.isChecked()  # off unless the user asks
    app.wizard.login_box.setChecked(start_at_login)
    with qtbot.waitSignal(app.first_run_finished, timeout=10_000):
        app.wizard.accept()
    wait_idle(qtbot, app)


def test_first_run_offers_start_at_login_and_applies_it(make_app, qtbot, tmp_path):
    app = make_app(show=False)
    _finish_first_run(app, qtbot, start_at_login=True)
    entry = tmp_path / "xdg-config" / "autostart" / "engram.desktop"
    assert entry.is_file() and "app --background" in entry.read_text()
    assert app.engine.settings.get("app.start_at_login") is True


def test_first_run_leaves_start_at_login_off_by_default(make_app, qtbot, tmp_path):
    app = make_app(show=False)
    _finish_first_run(app, qtbot, start_at_login=False)
    assert not (tmp_path / "xdg-config" / "autostart" / "engram.desktop").exists()
    assert app.engine.settings.get("app.start_at_login") is False


# -- the real program on Xvfb ------------------------------------------------------------------


@pytest.fixture
def display(xvfb_display):
    if not shutil.which("xdotool"):
        pytest.skip("xdotool is not installed (apt install xdotool)")
    return xvfb_display


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        stop(process)


def _focused(display: str) -> int:
    out = subprocess.run(["xdotool", "getwindowfocus"], capture_output=True, text=True, env={"DISPLAY": display})
    return int(out.stdout.strip() or 0)


def test_a_second_start_brings_the_running_window_forward_and_exits(tmp_path, display, processes):
    home = make_home(tmp_path / "home", **{"capture.enabled": True})
    first = start_app(home, display)
    processes.append(first)
    window = find_window(display, first)

    recall = start_app(home, display, "--quick-recall")  # the command reaches the running app
    processes.append(recall)
    assert recall.wait(30) == 0, recall.stdout.read()
    popup = find_window(display, first, name="^Engram quick recall$", timeout=10)
    subprocess.run(["xdotool", "windowfocus", "--sync", str(popup)], env={"DISPLAY": display}, check=False)

    second = start_app(home, display)
    processes.append(second)
    assert second.wait(30) == 0, second.stdout.read()
    deadline = time.monotonic() + 10
    while _focused(display) != window and time.monotonic() < deadline:
        time.sleep(0.1)
    focused = _focused(display)
    names = subprocess.run(["xdotool", "getwindowname", str(focused)], capture_output=True, text=True, env={"DISPLAY": display}).stdout
    assert focused == window, (focused, names, window)  # brought forward
    assert first.poll() is None
    assert windows(display, name="^Engram$") == [window]  # one instance, one window

    quitter = start_app(home, display, "--quit")
    processes.append(quitter)
    assert quitter.wait(30) == 0
    assert first.wait(20) == 0


def test_a_socket_left_by_a_killed_instance_is_cleaned_up(tmp_path, display, processes):
    home = make_home(tmp_path / "home")
    first = start_app(home, display)
    processes.append(first)
    find_window(display, first)
    path = socket_path(home)
    assert path.exists()
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert path.exists()  # stale

    again = start_app(home, display)
    processes.append(again)
    find_window(display, again)
    third = start_app(home, display)
    processes.append(third)
    assert third.wait(30) == 0, third.stdout.read()  # it found the new instance through the renewed socket
    assert again.poll() is None


def test_quick_recall_with_nothing_running_starts_the_app(tmp_path, display, processes):
    home = make_home(tmp_path / "home")
    process = start_app(home, display, "--quick-recall")
    processes.append(process)
    find_window(display, process, name="^Engram quick recall$")
    find_window(display, process)  # no tray on Xvfb: the main window shows too


def test_background_start_without_a_tray_opens_the_window(tmp_path, display, processes):
    home = make_home(tmp_path / "home", **{"capture.enabled": True})
    process = start_app(home, display, "--background")
    processes.append(process)
    # It waits for a tray that may come up after it at login, then shows the window rather than record unseen.
    find_window(display, process, timeout=40)


def test_start_at_login_in_settings_writes_the_entry_or_shows_why_not(make_app, qtbot, tmp_path):
    app = make_app()
    page = app.window.settings
    with qtbot.waitSignal(page.loaded, timeout=5_000):
        app.window.show_page("settings")
    entry = tmp_path / "xdg-config" / "autostart" / "engram.desktop"
    # A checkbox saves on toggle as well as on set_value: wait for every save, not the first signal.
    page.set_value("app.start_at_login", True)
    wait_idle(qtbot, app)
    assert entry.is_file()
    page.set_value("app.start_at_login", False)
    wait_idle(qtbot, app)
    assert not entry.exists()

    entry.write_text("[Desktop Entry]\nType=Application\nName=Mine\nExec=my-engram\n")  # the user's own
    page.set_value("app.start_at_login", True)
    wait_idle(qtbot, app)
    error = page._errors["app.start_at_login"]
    assert not error.isHidden() and "not written by Engram" in error.text()
    assert app.engine.settings.get("app.start_at_login") is False
