"""Screen capture: grab, exclude, detect changes, OCR changed regions, mask, store.

The engine creates ``CaptureService(settings, events, observations)`` and calls
``close()`` when it closes; nothing runs until ``start()`` or ``capture_once()``.
"""

from __future__ import annotations


def __getattr__(name: str):
    # Lazy, so that importing the package (for the CLI parser) loads no numpy or PIL.
    if name in ("CaptureService", "CaptureOutcome", "CaptureHealth"):
        from core.capture import service

        return getattr(service, name)
    raise AttributeError(name)
