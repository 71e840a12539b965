"""A global shortcut for quick recall, where the platform allows one.

Qt has no global hotkeys.  On X11 the key combination is grabbed on the root
window (XGrabKey, through python-xlib) and watched by a small thread; a press
is handed to the Qt main thread as an argument-free signal.  Lock keys
(Caps Lock, Num Lock) are grabbed in every combination so the shortcut works
whatever their state.  On Wayland, without a display, or when another program
already holds the combination, ``start`` returns the reason and the app keeps
its tray click and in-window Ctrl+K.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from typing import Callable

log = logging.getLogger(__name__)

_MODIFIER_NAMES = {
    "ctrl": "ControlMask",
    "control": "ControlMask",
    "alt": "Mod1Mask",
    "shift": "ShiftMask",
    "super": "Mod4Mask",
    "meta": "Mod4Mask",
    "win": "Mod4Mask",
}
_KEY_ALIASES = {"space": "space", "esc": "Escape", "escape": "Escape", "enter": "Return", "return": "Return", "tab": "Tab"}


def parse_shortcut(text: str):
    """(modifier mask, keysym) for text such as 'Ctrl+Alt+Space'; ValueError for what X11 cannot grab."""
    from Xlib import X, XK

    parts = [p.strip() for p in (text or "").split("+") if p.strip()]
    if len(parts) < 2:
        raise ValueError(f"{text!r} needs at least one modifier and a key, e.g. Ctrl+Alt+Space")
    mask = 0
    for name in parts[:-1]:
        attr = _MODIFIER_NAMES.get(name.lower())
        if attr is None:
            raise ValueError(f"unknown modifier {name!r} in {text!r} (use Ctrl, Alt, Shift or Super)")
        mask |= getattr(X, attr)
    key = parts[-1]
    keysym = XK.string_to_keysym(_KEY_ALIASES.get(key.lower(), key))
    if not keysym and len(key) == 1:
        keysym = XK.string_to_keysym(key.lower())
    if not keysym:
        raise ValueError(f"unknown key {key!r} in {text!r}")
    return mask, keysym


class GlobalHotkey:
    """Calls ``on_press`` (from its own thread) whenever the shortcut is pressed anywhere on the desktop."""

    def __init__(self, shortcut: str, on_press: Callable[[], None]):
        self.shortcut = shortcut
        self.on_press = on_press
        self._display = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> str | None:
        """Grab the shortcut; None on success, else why it is not available."""
        if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
            return "Wayland does not let programs grab global shortcuts"
        if not os.environ.get("DISPLAY"):
            return "there is no X11 display"
        try:
            from Xlib import X, error
            from Xlib.display import Display
        except ImportError:
            return "python-xlib is not installed"
        try:
            mask, keysym = parse_shortcut(self.shortcut)
            display = Display()
        except ValueError as exc:
            return str(exc)
        except Exception as exc:  # Xlib raises several error types when it cannot connect
            return f"the X display cannot be opened ({exc})"
        keycode = display.keysym_to_keycode(keysym)
        if not keycode:
            display.close()
            return f"this keyboard has no key for {self.shortcut!r}"
        root = display.screen().root
        catchers = []  # one each: a catcher is reset by the next request that uses it
        for locks in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask):
            catchers.append(error.CatchError(error.BadAccess))
            root.grab_key(keycode, mask | locks, True, X.GrabModeAsync, X.GrabModeAsync, onerror=catchers[-1])
        display.sync()
        if any(c.get_error() for c in catchers):
            display.close()
            return f"another program already uses {self.shortcut}"
        self._display = display
        self._keycode = keycode
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="global-hotkey", daemon=True)
        self._thread.start()
        return None

    def _watch(self) -> None:
        from Xlib import X

        display = self._display
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([display.fileno()], [], [], 0.25)
                if not ready:
                    continue
                while display.pending_events():
                    event = display.next_event()
                    if event.type == X.KeyPress and event.detail == self._keycode:
                        self.on_press()
            except Exception:  # the display went away: the shortcut ends, the app goes on
                log.warning("global shortcut stopped", exc_info=True)
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        if self._display is not None:
            try:
                self._display.screen().root.ungrab_key(self._keycode, 0xFFFF)  # AnyModifier
                self._display.close()
            except Exception:
                log.debug("ungrabbing the shortcut failed", exc_info=True)
            self._display = None
