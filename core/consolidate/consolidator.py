"""The light and deep consolidation passes.

- light (hourly): merge near-duplicates among memories written since the last
  light pass, refresh daily digests of days that changed, apply raw-data
  retention;
- deep (nightly, or after the machine has been idle): merge over the whole
  store, daily and weekly digests, promotion of recurring facts, forgetting,
  raw-data retention.

Every step commits item by item (one merge, one digest, one fact, one archive
per transaction) and derives what is left to do from the store itself, so a
pass killed half-way leaves a consistent store and the next pass finishes the
work; nothing is tracked in memory between passes but the light pass's
watermark, which moves only when a light pass completes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any, Callable

from core.consolidate import forgetting
from core.consolidate.digests import Digester, DigestReport
from core.consolidate.merge import MERGEABLE_TYPES, merge_duplicates
from core.consolidate.promote import Promoter
from core.consolidate.retention import apply_retention
from core.errors import ModelUnavailableError

log = logging.getLogger(__name__)

WATERMARK_KEY = "consolidation.light_watermark"


class Consolidator:
    """Runs consolidation passes over ``engine``; see the module docstring."""

    def __init__(
        self,
        store,
        settings,
        events,
        chat_model: Callable[[], Any],
        *,
        clock: Callable[[], float] = time.time,
        use_model: bool | None = None,
    ):
        self.store = store
        self.settings = settings
        self.events = events
        self._chat_model = chat_model
        self.clock = clock
        self.use_model = use_model

    # -- helpers -------------------------------------------------------------------------

    def _setting(self, key: str) -> Any:
        return self.settings.get(key)

    def chat_model(self):
        """The chat model when consolidation may use one, else None (rules only)."""
        wanted = self.use_model if self.use_model is not None else bool(self._setting("consolidation.use_model"))
        if not wanted:
            return None
        try:
            return self._chat_model()
        except ModelUnavailableError as exc:
            log.info("consolidating without a chat model: %s", exc.message)
            return None

    def _watermark(self) -> float | None:
        value = self.store.meta.get(WATERMARK_KEY)
        return float(value) if value is not None else None

    def _set_watermark(self, value: float) -> None:
        self.store.meta.set(WATERMARK_KEY, repr(value))

    def _changed_since(self, since: float | None):
        def ids(memory_type: str) -> set[int] | None:
            if since is None:
                return None
            return self.store.memories.changed_since(memory_type, since)

        return ids

    # -- passes --------------------------------------------------------------------------

    def light_pass(self, *, stop: threading.Event | None = None) -> dict:
        """Recent merges, changed days' digests and raw-data retention."""
        started = time.perf_counter()
        now = self.clock()
        self.events.emit("consolidation_will_start", kind="light")
        chat = self.chat_model()
        since = self._watermark()
        report: dict[str, Any] = {"kind": "light"}
        report["retention"] = asdict(apply_retention(self.store.observations, self.settings, now=now, stop=stop))
        merges = merge_duplicates(
            self.store.memories, threshold=float(self._setting("consolidation.merge_similarity")), chat_model=chat,
            only=self._changed_since(since), stop=stop,
        )
        report["merge"] = _merge_dict(merges)
        report["digests"] = asdict(Digester(self.store, chat).refresh_daily(today=_today(now), stop=stop))
        if stop is None or not stop.is_set():
            self._set_watermark(now)
        return self._finish(report, started, stop)

    def deep_pass(self, *, stop: threading.Event | None = None) -> dict:
        """Everything: merges over the whole store, digests, promotion, forgetting, retention."""
        started = time.perf_counter()
        now = self.clock()
        self.events.emit("consolidation_will_start", kind="deep")
        chat = self.chat_model()
        report: dict[str, Any] = {"kind": "deep", "model": getattr(chat, "name", None)}
        report["retention"] = asdict(apply_retention(self.store.observations, self.settings, now=now, stop=stop))
        merges = merge_duplicates(
            self.store.memories, threshold=float(self._setting("consolidation.merge_similarity")), chat_model=chat, stop=stop,
            types=MERGEABLE_TYPES,
        )
        report["merge"] = _merge_dict(merges)
        digester = Digester(self.store, chat)
        digests = digester.refresh_daily(today=_today(now), stop=stop, report=DigestReport())
        digester.refresh_weekly(today=_today(now), stop=stop, report=digests)
        report["digests"] = asdict(digests)
        promotion = Promoter(self.store, min_days=int(self._setting("consolidation.promote_min_days")), chat_model=chat).run(stop=stop)
        report["promotion"] = asdict(promotion)
        report["decay"] = asdict(
            forgetting.archive_faded(
                self.store.memories, now=self.clock(), threshold=float(self._setting("consolidation.archive_threshold")),
                strength_days=float(self._setting("consolidation.strength_days")), stop=stop,
            )
        )
        return self._finish(report, started, stop)

    def _finish(self, report: dict, started: float, stop: threading.Event | None) -> dict:
        report["interrupted"] = bool(stop is not None and stop.is_set())
        report["seconds"] = round(time.perf_counter() - started, 3)
        self.events.emit("consolidation_did_finish", report=report)
        return report


def _today(now: float):
    return datetime.fromtimestamp(now).date()


def _merge_dict(merges) -> dict:
    data = asdict(merges)
    data["pairs"] = [list(p) for p in merges.pairs[:200]]
    return data
