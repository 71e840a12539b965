"""Where frames and window context come from: the X11 session, or a fake.

``ScreenSource`` is what the capture loop needs from a desktop session:
the focused window (application, title, URL), every window on the screen
(``windows()``, to blank the excluded ones, see ``core.capture.windows``), how
long the user has been idle, whether the screen is locked, and the pixels of
each monitor.  ``X11Screen``
implements it with python-xlib (one connection, no subprocess per frame) and
mss; ``check_session`` says plainly when the session cannot be captured
(Wayland, no display) instead of failing somewhere deeper.

A source is used from one thread only: the capture loop opens its own.
"""

from __future__ import annotations

import logging
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.errors import CaptureError

if TYPE_CHECKING:
    from core.capture.windows import ScreenWindow, X11WindowList

log = logging.getLogger(__name__)

BROWSERS = ("firefox", "chrom", "brave", "vivaldi", "opera", "epiphany", "midori", "qutebrowser", "librewolf", "edge")
_URL_IN_TITLE = re.compile(r"\bhttps?://[^\s<>\"']+")
_DOMAIN_IN_TITLE = re.compile(r"(?<![\w@.-])((?:[a-z0-9-]+\.)+[a-z]{2,24}(?:/[^\s]*)?)(?![\w-])", re.IGNORECASE)


@dataclass(frozen=True)
class WindowContext:
    """A window: its application (WM_CLASS class), title and URL, each possibly unknown.

    ``instance`` is the other half of WM_CLASS and ``pid`` the process that
    says it owns the window (_NET_WM_PID); both serve to recognise Engram's own windows.
    """

    app: str | None = None
    title: str | None = None
    url: str | None = None
    window_id: int | None = None
    pid: int | None = None
    instance: str | None = None


@dataclass(frozen=True)
class Monitor:
    number: int  # 1-based, as the user counts them
    left: int
    top: int
    width: int
    height: int


def url_from_title(title: str | None, app: str | None) -> str | None:
    """The URL a window title carries, if any: explicit ``http(s)://`` anywhere, bare domains in browsers."""
    if not title:
        return None
    match = _URL_IN_TITLE.search(title)
    if match:
        return match.group().rstrip(".,;:)]}")
    if app and any(name in app.lower() for name in BROWSERS):
        match = _DOMAIN_IN_TITLE.search(title)
        if match:
            return match.group(1).rstrip(".,;:)]}")
    return None


def check_session(environ: dict[str, str] | None = None) -> str:
    """The X display to capture, or a CaptureError that says why there is none."""
    env = os.environ if environ is None else environ
    display = env.get("DISPLAY", "")
    wayland = env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE", "").lower() == "wayland"
    if wayland:
        raise CaptureError(
            "Screen capture is not supported on Wayland yet: Engram can only read an X11 session's screen "
            "(under Wayland, X11 programs see only their own windows).",
            fix="Log in with an X11 session (for example 'GNOME on Xorg' on the login screen), "
            "or keep using Engram without capture.",
        )
    if not display:
        raise CaptureError(
            "There is no display to capture (DISPLAY is not set).",
            fix="Run Engram inside your desktop session, or set DISPLAY to your X display (for example ':0').",
        )
    return display


class ScreenSource(ABC):
    """A desktop session to capture.  Methods raise CaptureError when the display is gone."""

    @abstractmethod
    def monitors(self) -> list[Monitor]:
        """The monitors, numbered from 1."""

    @abstractmethod
    def focused_window(self) -> WindowContext:
        """The window that has the keyboard focus."""

    @abstractmethod
    def grab(self, monitor: Monitor) -> np.ndarray:
        """The monitor's pixels as a ``(height, width)`` array of packed BGRA ``uint32``."""

    def windows(self) -> "list[ScreenWindow] | None":
        """The mapped top-level windows, bottom to top, in screen coordinates; None where unknown."""
        return None

    def idle_seconds(self) -> float | None:
        """Seconds since the last keyboard or mouse input, or None where unknown."""
        return None

    def locked(self) -> bool:
        """Whether the screen saver or lock is active (False where unknown)."""
        return False

    def close(self) -> None:
        """Release the connection."""


class X11Screen(ScreenSource):
    """An X11 display through python-xlib (context, idle) and mss (pixels)."""

    def __init__(self, display: str | None = None):
        self.display_name = display or check_session()
        try:
            from Xlib import X, Xatom, display as xdisplay, error as xerror
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise CaptureError("python-xlib is missing.", fix="Reinstall Engram: 'pip install python-xlib'.") from exc
        self._X = X
        self._Xatom = Xatom
        self._xerror = xerror
        try:
            self._display = xdisplay.Display(self.display_name)
        except (xerror.DisplayError, xerror.DisplayConnectionError, ConnectionError, OSError) as exc:
            raise no_display(self.display_name) from exc
        self._root = self._display.screen().root
        self._atoms = {
            name: self._display.intern_atom(name)
            for name in ("_NET_ACTIVE_WINDOW", "_NET_WM_NAME", "UTF8_STRING", "WM_CLASS")
        }
        self._has_screensaver = bool(self._display.has_extension("MIT-SCREEN-SAVER"))
        self._mss = None
        self._window_list: X11WindowList | None = None

    # -- context -------------------------------------------------------------------------

    def _call(self, func, *args):
        """Run an Xlib request, turning a lost connection into CaptureError."""
        try:
            return func(*args)
        except self._xerror.ConnectionClosedError as exc:
            raise display_lost(self.display_name) from exc
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise display_lost(self.display_name) from exc

    def _active_window_id(self) -> int | None:
        X = self._X
        prop = self._call(self._root.get_full_property, self._atoms["_NET_ACTIVE_WINDOW"], X.AnyPropertyType)
        if prop is not None and len(prop.value) and int(prop.value[0]) not in (0, self._root.id):
            return int(prop.value[0])
        # No window manager (or one without EWMH): ask the server who has the focus.
        focus = self._call(self._display.get_input_focus).focus
        if isinstance(focus, int):
            if focus == X.PointerRoot:
                pointer = self._call(self._root.query_pointer)
                child = pointer.child
                return int(child.id) if child and not isinstance(child, int) else None
            return None
        return int(focus.id) if focus.id != self._root.id else None

    def _with_class(self, window_id: int):
        """The window or its nearest ancestor that has a WM_CLASS (the toplevel client)."""
        window = self._display.create_resource_object("window", window_id)
        for _ in range(16):
            if self._call(window.get_wm_class) is not None:
                return window
            tree = self._call(window.query_tree)
            if not tree.parent or tree.parent.id == self._root.id or tree.parent.id == 0:
                break
            window = tree.parent
        # Focus may sit on a frame a window manager drew: look one level down.
        for child in self._call(window.query_tree).children:
            if self._call(child.get_wm_class) is not None:
                return child
        return window

    def focused_window(self) -> WindowContext:
        window_id = self._active_window_id()
        if window_id is None:
            return WindowContext()
        try:
            window = self._with_class(window_id)
            wm_class = self._call(window.get_wm_class)
            title = None
            prop = self._call(window.get_full_property, self._atoms["_NET_WM_NAME"], self._atoms["UTF8_STRING"])
            if prop is not None and prop.value:
                raw = prop.value
                title = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            if not title:
                name = self._call(window.get_wm_name)
                if isinstance(name, bytes):
                    name = name.decode("latin-1", "replace")
                title = name or None
        except self._xerror.BadWindow:
            # The window closed between the two requests: nothing is focused any more.
            return WindowContext()
        app = None
        if wm_class:
            app = wm_class[1] or wm_class[0]
        windows = self._windows()
        pid = windows.pid_of(int(window.id))
        windows.drain()
        return WindowContext(
            app=app, title=title, url=url_from_title(title, app), window_id=int(window.id), pid=pid,
            instance=wm_class[0] if wm_class else None,
        )

    def _windows(self) -> "X11WindowList":
        if self._window_list is None:
            from core.capture.windows import X11WindowList

            self._window_list = X11WindowList(self._display, self._call)
        return self._window_list

    def windows(self) -> "list[ScreenWindow]":
        try:
            return self._windows().windows()
        except self._xerror.XError as exc:
            raise CaptureError(
                f"Could not list the windows on the display {self.display_name}: {exc}.",
                fix="Capture retries on its own; restart Engram if this repeats.",
            ) from exc

    def idle_seconds(self) -> float | None:
        if not self._has_screensaver:
            return None
        try:
            info = self._call(self._root.screensaver_query_info)
        except (self._xerror.XError, AttributeError):
            return None
        if self._window_list is not None:
            self._window_list.drain()  # idle for hours: the window notices must not pile up meanwhile
        return info.idle / 1000.0

    def locked(self) -> bool:
        if not self._has_screensaver:
            return False
        try:
            info = self._call(self._root.screensaver_query_info)
        except (self._xerror.XError, AttributeError):
            return False
        return info.state == 1  # ScreenSaverOn: blanked or locked

    # -- pixels --------------------------------------------------------------------------

    def _grabber(self):
        if self._mss is None:
            import mss

            try:
                factory = getattr(mss, "MSS", None) or mss.mss  # mss 10 renamed the class
                self._mss = factory(display=self.display_name)
            except Exception as exc:  # mss raises its own ScreenShotError
                raise no_display(self.display_name) from exc
        return self._mss

    def monitors(self) -> list[Monitor]:
        grabber = self._grabber()
        found = grabber.monitors[1:] or grabber.monitors[:1]
        return [Monitor(i + 1, m["left"], m["top"], m["width"], m["height"]) for i, m in enumerate(found)]

    def grab(self, monitor: Monitor) -> np.ndarray:
        # A round trip on our own connection first: if the server has gone, python-xlib
        # raises, whereas libX11 inside mss would end the whole process.
        self._call(self._display.get_input_focus)
        region = {"left": monitor.left, "top": monitor.top, "width": monitor.width, "height": monitor.height}
        try:
            shot = self._grabber().grab(region)
        except Exception as exc:
            raise CaptureError(
                f"Could not read the pixels of monitor {monitor.number}: {exc}.",
                fix="Check that the display is still running; capture retries on its own.",
            ) from exc
        return np.frombuffer(shot.raw, dtype=np.uint32).reshape(shot.height, shot.width)

    def close(self) -> None:
        if self._mss is not None:
            try:
                self._mss.close()
            except Exception:  # noqa: BLE001 - closing a dead display must not raise
                pass
            self._mss = None
        try:
            self._display.close()
        except Exception:  # noqa: BLE001
            pass


def no_display(name: str) -> CaptureError:
    return CaptureError(
        f"Cannot connect to the display {name}.",
        fix="Run Engram inside your desktop session, or set DISPLAY to a running X display.",
    )


def display_lost(name: str) -> CaptureError:
    return CaptureError(
        f"The display {name} went away while capturing.",
        fix="Capture resumes on its own when the display is back; restart Engram if it does not.",
    )
