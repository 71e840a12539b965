"""Retention of raw data: screenshots after N days, screen text after M months once absorbed.

``retention.thumbnail_days`` (0 keeps none) bounds how long thumbnails stay;
``retention.observation_text_months`` (0 keeps text forever) bounds how long
the raw text of *screen* observations stays once it has been absorbed into
memories -- the setting promises "raw screen text"; chat messages and imports
are the user's own words and stay.  The observation row itself stays (its time,
app and window title, and the provenance links of the memories made from it);
its text, full-text row and vector go, in chunks of ``CHUNK`` per transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

DAY = 86_400.0
MONTH_DAYS = 30.44
CHUNK = 500


@dataclass
class RetentionReport:
    thumbnails_purged: int = 0
    texts_purged: int = 0


def apply_retention(observations, settings, *, now: float, stop: threading.Event | None = None) -> RetentionReport:
    report = RetentionReport()
    days = int(settings.get("retention.thumbnail_days"))
    report.thumbnails_purged = observations.purge_thumbnails(now - days * DAY)
    months = int(settings.get("retention.observation_text_months"))
    if months <= 0:
        return report
    cutoff = now - months * MONTH_DAYS * DAY
    while stop is None or not stop.is_set():
        ids = observations.screen_texts_to_purge(cutoff, limit=CHUNK)
        if not ids:
            break
        report.texts_purged += observations.purge_text(ids)
    return report
