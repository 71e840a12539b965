"""Engine events -> Qt signals on the main thread.

The engine publishes plain-Python events whose handlers run on whatever thread
emitted them (the capture loop, the scheduler, a download).  ``EventBridge``
subscribes to every declared event and re-emits it as ``fired(name, payload)``.
The bridge lives on the main thread, so Qt queues the emission and every slot
connected to it runs on the UI thread.
"""

from __future__ import annotations

import queue
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from core.events import EVENTS


class EventBridge(QObject):
    """Re-emits every engine event as a Qt signal; call ``close()`` to unsubscribe."""

    fired = Signal(str, dict)  # emitted on the main thread only
    _arrived = Signal()

    def __init__(self, events, parent: QObject | None = None):
        super().__init__(parent)
        self._unsubscribe: list[Callable[[], None]] = []
        # Payloads wait in a Python queue; the cross-thread signal carries no Python object
        # (PySide6 6.12 crashed with refcount errors passing them through queued signals under load).
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._arrived.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        for name in EVENTS:
            self._unsubscribe.append(events.subscribe(name, self._relay(name)))

    def _relay(self, name: str) -> Callable[..., None]:
        def relay(**payload: Any) -> None:
            self._queue.put((name, payload))
            try:
                self._arrived.emit()
            except RuntimeError:  # the bridge was deleted while a background thread still reported
                pass

        return relay

    @Slot()
    def _drain(self) -> None:
        while True:
            try:
                name, payload = self._queue.get_nowait()
            except queue.Empty:
                return
            self.fired.emit(name, payload)

    def on(self, names: str | tuple[str, ...], slot: Callable[[dict], None], receiver: QObject | None = None) -> None:
        """Call ``slot(payload)`` on the main thread for each event in ``names``.

        With ``receiver``, the connection ends when that object is destroyed.
        """
        wanted = (names,) if isinstance(names, str) else tuple(names)
        for name in wanted:
            if name not in EVENTS:
                raise ValueError(f"unknown event {name!r}")

        def filtered(name: str, payload: dict) -> None:
            if name in wanted:
                slot(payload)

        # Through a child of the receiver, so the connection dies with it.
        helper = _Forwarder(filtered, receiver if receiver is not None else self)
        self.fired.connect(helper.forward)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()


class _Forwarder(QObject):
    """A child of the receiver, so the connection dies with it."""

    def __init__(self, callback: Callable[[str, dict], None], receiver: QObject):
        super().__init__(receiver)
        self._callback = callback

    @Slot(str, dict)
    def forward(self, name: str, payload: dict) -> None:
        self._callback(name, payload)
