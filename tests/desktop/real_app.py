"""The real ``engram app`` as a separate process on the test's Xvfb display, found with xdotool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_home(root: Path, **settings) -> Path:
    """An ENGRAM_HOME with first run done (and any other settings), so no wizard opens."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps({"app.first_run_done": True, **settings}))
    return root


def app_env(home: Path, display: str, **extra: str) -> dict[str, str]:
    return dict(os.environ, ENGRAM_HOME=str(home), ENGRAM_KEYRING="file", DISPLAY=display, QT_QPA_PLATFORM="xcb", **extra)


def start_app(home: Path, display: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``engram app ARGS`` from this checkout; stdout and stderr are kept for assertion messages."""
    code = f"import sys; from engram.cli import main; sys.exit(main(['app', *{list(args)!r}]))"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env or app_env(home, display), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def windows(display: str, pid: int | None = None, name: str = "^Engram$") -> list[int]:
    """Visible windows titled ``name`` (a regex), of ``pid`` when given."""
    command = ["xdotool", "search", "--all", "--onlyvisible"]  # --all: every condition, not any
    if pid is not None:
        command += ["--pid", str(pid)]
    found = subprocess.run([*command, "--name", name], capture_output=True, text=True, env={"DISPLAY": display})
    return [int(line) for line in found.stdout.split()]


def find_window(display: str, process: subprocess.Popen, timeout: float = 30.0, name: str = "^Engram$") -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"engram app exited early with {process.returncode}: {process.stdout.read()}")
        ids = windows(display, process.pid, name)
        if ids:
            return ids[0]
        time.sleep(0.2)
    raise AssertionError(f"no window titled {name} appeared within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(10)


def send_delete_window(display: str, window_id: int) -> None:
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


def status_bar_text(display: str, window_id: int, height: int = 30) -> str:
    """What the status bar of window ``window_id`` shows, read from the screen's pixels with Tesseract.

    Another process's widgets cannot be asked for their text, so the test reads
    what a person would: the bottom ``height`` pixels, enlarged for OCR.
    """
    import mss
    from PIL import Image

    from core.capture.ocr import TesseractOcr

    shell = subprocess.run(["xdotool", "getwindowgeometry", "--shell", str(window_id)], capture_output=True,
                           text=True, env={"DISPLAY": display}, check=True).stdout
    geometry = dict(line.split("=", 1) for line in shell.split())
    left, top, width, tall = (int(geometry[key]) for key in ("X", "Y", "WIDTH", "HEIGHT"))
    with (getattr(mss, "MSS", None) or mss.mss)(display=display) as screen:
        shot = screen.grab({"left": left, "top": top + tall - height, "width": width, "height": height})
    image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX").convert("L")
    image = image.resize((image.width * 3, image.height * 3), Image.Resampling.LANCZOS)
    return " ".join(word.text for word in TesseractOcr(psm=6, min_confidence=0).read_image(image))
