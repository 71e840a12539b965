"""The scheduled consolidation jobs and the idle trigger for the deep pass.

``consolidate_light`` runs hourly and ``consolidate_deep`` daily; both catch
up once after a sleep or a restart (the scheduler's ``job_runs`` record decides,
see ``core.scheduling``).  The deep pass also runs early when capture reports
the machine idle for ``consolidation.idle_minutes`` and the last deep pass is
at least ``IDLE_MIN_SPACING_SECONDS`` old.  With ``consolidation.enabled`` off
the jobs run but do nothing, so turning it back on needs no restart.
"""

from __future__ import annotations

import threading
from typing import Callable

from core.consolidate.consolidator import Consolidator
from core.scheduling import JobSpec

LIGHT_JOB, DEEP_JOB = "consolidate_light", "consolidate_deep"
LIGHT_INTERVAL_SECONDS = 3600
DEEP_INTERVAL_SECONDS = 24 * 3600
IDLE_MIN_SPACING_SECONDS = 6 * 3600


def consolidation_jobs(consolidator: Consolidator, settings) -> list[JobSpec]:
    """The light and the deep pass; both do nothing while ``consolidation.enabled`` is off."""

    def guarded(run: Callable[..., dict]) -> Callable[[threading.Event], dict]:
        def job(stop: threading.Event) -> dict:
            if not settings.get("consolidation.enabled"):
                return {"skipped": "consolidation.enabled is off"}
            return run(stop=stop)

        return job

    return [
        JobSpec(LIGHT_JOB, guarded(consolidator.light_pass), LIGHT_INTERVAL_SECONDS,
                "Merge new duplicates and write digests of finished days"),
        JobSpec(DEEP_JOB, guarded(consolidator.deep_pass), DEEP_INTERVAL_SECONDS,
                "Merge, summarise, learn recurring facts, archive faded memories, drop old raw data"),
    ]


class IdleTrigger:
    """Starts the deep pass once the machine has stayed idle long enough and the last deep pass is old.

    Capture reports 'idle' once, when there has been no input for
    ``capture.idle_seconds``; a timer then waits ``consolidation.idle_minutes``
    and fires unless another state was reported in between.
    """

    def __init__(self, scheduler, settings, *, timer_factory: Callable = threading.Timer):
        self.scheduler = scheduler  # needs trigger(name), last_run(name) and clock()
        self.settings = settings
        self._timer_factory = timer_factory
        self._timer = None
        self._lock = threading.Lock()

    def __call__(self, state: str | None = None, **_ignored) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if state != "idle":
                return
            delay = int(self.settings.get("consolidation.idle_minutes")) * 60
            self._timer = self._timer_factory(delay, self.fire)
            self._timer.daemon = True
            self._timer.start()

    def fire(self) -> bool:
        """Trigger the deep pass unless one started recently; True when triggered."""
        with self._lock:
            self._timer = None
        last = self.scheduler.last_run(DEEP_JOB)
        if last is not None and (last.get("started_at") or 0) + IDLE_MIN_SPACING_SECONDS > self.scheduler.clock():
            return False
        self.scheduler.trigger(DEEP_JOB)
        return True
