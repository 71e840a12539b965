"""Helpers for tests on a real X server: an Xvfb display and windows showing known text.

``XvfbServer`` starts ``Xvfb -displayfd``, which picks a free display number
and writes it once the server accepts connections, so nothing here sleeps.
``TextWindow`` runs a tiny Tk program in a subprocess (its WM_CLASS and title
chosen by the test) and talks to it over stdin/stdout: every command is
answered once Tk has drawn the result.  ``WindowManager`` runs a small real
window manager (evilwm) on a display, for tests that must hold with one.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

WINDOW_PROGRAM = r"""
import json, sys, tkinter as tk
app_class, title, text, geometry = sys.argv[1:5]
root = tk.Tk(className=app_class)
root.title(title)
root.geometry(geometry)
body = tk.Text(root, font=("DejaVu Sans Mono", 16), bg="white", fg="black", borderwidth=0, highlightthickness=0,
               insertofftime=0, insertwidth=0)
body.insert("1.0", text)
body.pack(fill="both", expand=True)

def answer(value):
    root.update_idletasks()
    root.update()
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()

def on_input(*_):
    line = sys.stdin.readline()
    if not line:
        root.destroy()
        return
    command = json.loads(line)
    if command["do"] == "text":
        body.delete("1.0", "end")
        body.insert("1.0", command["text"])
    elif command["do"] == "title":
        root.title(command["title"])
    elif command["do"] == "focus":
        root.focus_force()
        body.focus_set()
    elif command["do"] == "raise":
        root.lift()
        root.focus_force()
        body.focus_set()
    answer({"ok": True, "id": root.winfo_id(), "frame": int(root.wm_frame(), 16)})

root.tk.createfilehandler(sys.stdin, tk.READABLE, on_input)
root.wait_visibility()
root.focus_force()
body.focus_set()
answer({"ok": True, "id": root.winfo_id(), "frame": int(root.wm_frame(), 16)})
root.mainloop()
"""


def xvfb_available() -> bool:
    return shutil.which("Xvfb") is not None


class XvfbServer:
    """One Xvfb display; ``name`` is like ':93'."""

    def __init__(self, width: int = 1280, height: int = 800, depth: int = 24):
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x{depth}", "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as reader:
            number = reader.readline().strip()  # written when the server is ready
        if not number:
            self.process.kill()
            raise RuntimeError("Xvfb did not start")
        self.name = f":{number}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class TextWindow:
    """A Tk window on ``display`` showing ``text``; ``set_text`` returns once it is drawn."""

    def __init__(self, display: str, app_class: str, title: str, text: str, geometry: str = "1000x600+40+40"):
        env = dict(os.environ, DISPLAY=display)
        self.process = subprocess.Popen(
            [sys.executable, "-c", WINDOW_PROGRAM, app_class, title, text, geometry],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        reply = self._read()
        self.display = display
        self.window_id = reply["frame"] or reply["id"]
        self.inner_id = reply["id"]

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the test window did not start (is python's tkinter installed?)")
        return json.loads(line)

    def _send(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def set_text(self, text: str) -> None:
        self._send(do="text", text=text)

    def set_title(self, title: str) -> None:
        self._send(do="title", title=title)

    def focus(self) -> None:
        self._send(do="focus")

    def raise_and_focus(self) -> None:
        self._send(do="raise")

    @property
    def client_id(self) -> int:
        """The window that carries WM_CLASS and the title (Tk's wrapper, inside any window manager frame)."""
        from Xlib import display as xdisplay

        conn = xdisplay.Display(self.display)
        try:
            return conn.create_resource_object("window", self.inner_id).query_tree().parent.id
        finally:
            conn.close()

    def set_property(self, name: str, values: list[int]) -> None:
        """Set a CARDINAL property on the client window (e.g. _NET_WM_PID), as the application would."""
        from Xlib import Xatom, display as xdisplay

        conn = xdisplay.Display(self.display)
        try:
            window = conn.create_resource_object("window", self.client_id)
            window.change_property(conn.intern_atom(name), Xatom.CARDINAL, 32, values)
            conn.sync()
        finally:
            conn.close()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(5)
            except Exception:  # noqa: BLE001
                self.process.kill()
                self.process.wait(5)


class WindowManager:
    """evilwm on ``display`` (a one-package reparenting window manager with EWMH); ready when constructed."""

    COMMAND = ("evilwm", "-fn", "fixed")  # 'fixed' is built into the X server: no font package needed

    def __init__(self, display: str, timeout: float = 20.0):
        from Xlib import X, display as xdisplay

        self.process = subprocess.Popen(
            self.COMMAND, env=dict(os.environ, DISPLAY=display), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # Ready once it announces itself on the root window (EWMH _NET_SUPPORTING_WM_CHECK).
        conn = xdisplay.Display(display)
        try:
            root = conn.screen().root
            root.change_attributes(event_mask=X.PropertyChangeMask)
            atom = conn.intern_atom("_NET_SUPPORTING_WM_CHECK")
            deadline = time.monotonic() + timeout
            while root.get_full_property(atom, X.AnyPropertyType) is None:
                remaining = deadline - time.monotonic()
                if self.process.poll() is not None or remaining <= 0:
                    self.stop()
                    raise RuntimeError("the window manager did not start")
                select.select([conn.fileno()], [], [], min(remaining, 1.0))  # a property change, or check again
                while conn.pending_events():
                    conn.next_event()
        finally:
            conn.close()

    @staticmethod
    def available() -> bool:
        return shutil.which(WindowManager.COMMAND[0]) is not None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def tkinter_available() -> bool:
    return subprocess.run([sys.executable, "-c", "import tkinter"], capture_output=True).returncode == 0


def save_png(frame, path: str | Path) -> None:
    """Write a packed-BGRA frame as a PNG, to look at what capture saw."""
    from PIL import Image

    Image.frombuffer("RGB", (frame.shape[1], frame.shape[0]), frame, "raw", "BGRX", 0, 1).save(path)
