"""The scheduled absorb job and the early trigger on a large backlog.

Secrets seen on screen reach the vault like every other observation's: capture
carries their values in the observation's meta (only while
``privacy.vault_from_screen`` is on) and the absorber's rule step keeps them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from core.absorb.absorber import Absorber
from core.scheduling import JobSpec

log = logging.getLogger(__name__)

SETTLE_SECONDS = 90  # a chat still going on is absorbed when it pauses, not message by message
TRIGGER_CHECK_SECONDS = 10
TRIGGER_MIN_SPACING_SECONDS = 60


ABSORB_JOB = "absorb"


def absorb_job(absorber: Absorber, settings) -> JobSpec:
    """The scheduled absorb: the backlog, settled conversations only, every ``absorb.interval_minutes``."""

    def absorb(stop: threading.Event) -> dict:
        absorber.use_llm = bool(settings.get("absorb.use_llm"))
        report = absorber.absorb_backlog(stop=stop, settle_seconds=SETTLE_SECONDS).to_dict()
        report.pop("per_batch", None)  # the job record keeps totals; batches have their own table
        return report

    interval = max(1, int(settings.get("absorb.interval_minutes"))) * 60
    return JobSpec(ABSORB_JOB, absorb, interval, "Turn new observations into memories")


class BacklogTrigger:
    """Runs the absorb job early when the backlog passes ``absorb.backlog_threshold``.

    Counting the backlog is a query, so it is checked at most every few seconds,
    and the job is triggered at most once a minute.
    """

    def __init__(self, trigger: Callable[[str], None], observations, settings):
        self.trigger = trigger
        self.observations = observations
        self.settings = settings
        self._checked = 0.0
        self._triggered = 0.0
        self._lock = threading.Lock()

    def __call__(self, observation_id=None, kind=None, **_ignored) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._checked < TRIGGER_CHECK_SECONDS or now - self._triggered < TRIGGER_MIN_SPACING_SECONDS:
                return
            self._checked = now
        if self.observations.count(unabsorbed=True) >= int(self.settings.get("absorb.backlog_threshold")):
            with self._lock:
                self._triggered = now
            self.trigger(ABSORB_JOB)
