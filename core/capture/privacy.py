"""Privacy before pixels: exclusion rules and the pause switch.

``ExclusionRules.match(context)`` is checked for the focused window before any
pixel is read (a match means the frame is not grabbed at all) and for every
other window on the screen (a match means its visible parts are blanked, see
``core.capture.windows``).  Engram's own windows always match, whatever the
settings say: those of this process (by _NET_WM_PID) and any whose WM_CLASS is
Engram's (another Engram process, such as the app beside ``engram capture``).  Application names match the window
class case-insensitively (whole name, or a word of it: 'keepassxc' matches
'KeePassXC'); title rules are regular expressions searched in the title.  A
rule that is not a valid regular expression is matched literally rather than
dropped, so a typo never turns an exclusion off.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable

from core.capture.screen import WindowContext

log = logging.getLogger(__name__)

ENGRAM_WM_CLASS = "engram"  # Qt sets the class from the application name, 'Engram'


@dataclass(frozen=True)
class Exclusion:
    rule: str  # "app", "title", or "self" for Engram's own windows
    pattern: str

    def describe(self) -> str:
        if self.rule == "self":
            return "it is one of Engram's own windows"
        return f"it matches the {self.rule} rule {self.pattern!r}"


class ExclusionRules:
    """Compiled ``privacy.exclude_apps`` and ``privacy.exclude_titles``."""

    def __init__(self, apps: list[str], titles: list[str], own_pid: int | None = None):
        self.own_pid = os.getpid() if own_pid is None else own_pid
        self.apps = tuple(a.strip().lower() for a in apps if a.strip())
        self.titles = tuple(t for t in titles if t.strip())
        self._title_patterns: list[tuple[str, re.Pattern]] = []
        for pattern in self.titles:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                log.warning("title exclusion %r is not a valid regular expression (%s); matching it literally", pattern, exc)
                compiled = re.compile(re.escape(pattern), re.IGNORECASE)
            self._title_patterns.append((pattern, compiled))

    def match(self, context: WindowContext) -> Exclusion | None:
        """The first rule that excludes ``context``, or None."""
        if is_engram_window(context, self.own_pid):
            return Exclusion("self", ENGRAM_WM_CLASS)
        if context.app:
            app = context.app.lower()
            words = set(re.split(r"[^\w]+", app))
            for name in self.apps:
                if app == name or name in words or app.startswith(name + "-") or app.startswith(name + "."):
                    return Exclusion("app", name)
        for text in (context.title, context.url):
            if not text:
                continue
            for pattern, compiled in self._title_patterns:
                if compiled.search(text):
                    return Exclusion("title", pattern)
        return None


def is_engram_window(context: WindowContext, own_pid: int) -> bool:
    """Whether ``context`` is a window of this process or of any Engram (WM_CLASS 'Engram')."""
    if context.pid is not None and context.pid == own_pid:
        return True
    return any(name and name.lower() == ENGRAM_WM_CLASS for name in (context.app, context.instance))


class PauseSwitch:
    """Capture paused for a while or until resumed; time from an injectable clock."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._paused = False
        self._until: float | None = None

    def pause(self, seconds: float | None) -> float | None:
        """Pause for ``seconds`` (None: until ``resume``); returns the wall time it ends, if any."""
        with self._lock:
            self._paused = True
            self._until = None if seconds is None else self._clock() + max(0.0, float(seconds))
            return self._until

    def resume(self) -> bool:
        """End a pause; returns whether capture was paused."""
        with self._lock:
            was = self._paused
            self._paused = False
            self._until = None
            return was

    def check(self) -> tuple[bool, bool]:
        """``(paused, just_expired)``: a timed pause that ran out ends here."""
        with self._lock:
            if not self._paused:
                return False, False
            if self._until is not None and self._clock() >= self._until:
                self._paused = False
                self._until = None
                return False, True
            return True, False

    @property
    def until(self) -> float | None:
        with self._lock:
            return self._until if self._paused else None

    def remaining(self) -> float | None:
        """Seconds left in a timed pause; None when not paused or paused until resumed."""
        with self._lock:
            if not self._paused or self._until is None:
                return None
            return max(0.0, self._until - self._clock())
