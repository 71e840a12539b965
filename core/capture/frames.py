"""The bounded hand-over between the capture loop and the OCR worker.

At most one frame waits per monitor (a newer frame *merges* with a waiting
one: the newer wins, and since the worker compares it with the last frame it
read, no change is lost), and at most ``capacity`` frames wait in all (beyond
that the oldest is *dropped*).  Memory therefore never grows with a slow OCR.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.capture.screen import Monitor, WindowContext


@dataclass
class FrameJob:
    """One grabbed monitor frame and what was known about it when grabbed."""

    monitor: Monitor
    frame: np.ndarray
    context: WindowContext
    ts: float
    merged: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


class FrameQueue:
    """A latest-wins mailbox per monitor, bounded in total; thread-safe."""

    def __init__(self, capacity: int = 2):
        self.capacity = max(1, capacity)
        self._items: "OrderedDict[int, FrameJob]" = OrderedDict()
        self._cond = threading.Condition()
        self._closed = False
        self.merged = 0
        self.dropped = 0

    def put(self, job: FrameJob) -> str:
        """Queue ``job``; returns 'queued', 'merged' (replaced a waiting frame) or 'dropped-oldest'."""
        with self._cond:
            key = job.monitor.number
            outcome = "queued"
            if key in self._items:
                job.merged = self._items.pop(key).merged + 1
                self.merged += 1
                outcome = "merged"
            elif len(self._items) >= self.capacity:
                self._items.popitem(last=False)
                self.dropped += 1
                outcome = "dropped-oldest"
            self._items[key] = job
            self._cond.notify()
            return outcome

    def get(self, timeout: float | None = None) -> FrameJob | None:
        """The oldest waiting job, waiting up to ``timeout``; None on timeout or when closed."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if not self._items:
                return None
            return self._items.popitem(last=False)[1]

    def clear(self) -> int:
        """Drop every waiting job; returns how many."""
        with self._cond:
            count = len(self._items)
            self._items.clear()
            self.dropped += count
            return count

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
