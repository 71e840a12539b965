"""Plain-Python events published by the engine.

Names follow ``subject_did_verb`` / ``subject_will_verb``.  Handlers run on the
thread that emitted the event; the desktop app bridges them to Qt signals on
the main thread.  A failing handler is logged and never breaks the emitter.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any, Callable

log = logging.getLogger(__name__)

# Every event the engine emits, in one place, with the payload keys it carries.
EVENTS: dict[str, tuple[str, ...]] = {
    "memory_did_add": ("memory",),
    "memory_did_update": ("memory", "old"),
    "memory_did_delete": ("memory",),
    "memory_did_archive": ("memory",),
    "observation_did_add": ("observation_id", "kind"),
    "observations_did_forget": ("count",),
    "capture_did_change_state": ("state",),
    "capture_did_update_health": ("health",),
    "capture_did_pause": ("until",),
    "capture_did_resume": (),
    "capture_did_fail": ("message",),
    "absorb_will_start": ("backlog",),
    "absorb_did_finish": ("report",),
    "absorb_did_fail": ("message",),
    "model_did_load": ("role", "name"),
    "model_did_unload": ("role", "name"),
    "model_did_fail": ("role", "message"),
    "download_did_progress": ("name", "done", "total"),
    "download_did_finish": ("name", "path"),
    "download_did_fail": ("name", "message"),
    "embeddings_did_progress": ("done", "total"),
    "consolidation_did_finish": ("report",),
    "consolidation_will_start": ("kind",),
    "settings_did_change": ("key", "value"),
    "backup_did_finish": ("backup",),
    "store_did_restore": ("report",),
    "store_did_import": ("report",),
    "secrets_did_recheck": ("report",),
}

Handler = Callable[..., Any]


class EventBus:
    """A thread-safe publish/subscribe hub for the names in ``EVENTS``."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._lock = threading.Lock()

    def subscribe(self, name: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler(**payload)`` on every ``name`` event; returns an unsubscribe function."""
        if name not in EVENTS:
            raise ValueError(f"unknown event {name!r}")
        with self._lock:
            self._handlers[name].append(handler)

        def unsubscribe() -> None:
            with self._lock:
                if handler in self._handlers[name]:
                    self._handlers[name].remove(handler)

        return unsubscribe

    def emit(self, name: str, /, **payload: Any) -> None:
        if name not in EVENTS:
            raise ValueError(f"unknown event {name!r}")
        with self._lock:
            handlers = list(self._handlers.get(name, ()))
        for handler in handlers:
            try:
                handler(**payload)
            except Exception:  # a broken listener must not break the engine
                log.exception("handler for %s failed", name)
