"""Background jobs on APScheduler, with runs recorded in the database.

Every run of a job is a row in ``job_runs`` (start, end, status, report).  That
record, not APScheduler's memory, decides catch-up: at start, a job whose last
successful run is older than its interval -- because the laptop slept or Engram
was not running -- runs once, soon, however many runs were missed.  A run left
'running' by a crash is marked 'interrupted' at the next start; jobs are written
so that an interrupted run leaves the store consistent (each step is its own
transaction) and the next run resumes the remaining work.

The engine builds the jobs (``core.absorb.jobs``, ``core.consolidate.jobs``,
the embed job) and hands them to the scheduler, which knows nothing else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Iterator

log = logging.getLogger(__name__)

CATCH_UP_DELAY_SECONDS = 30


@dataclass
class JobSpec:
    name: str
    func: Callable[[threading.Event], Any]  # receives a stop event; returns a JSON-able report
    interval_seconds: float
    description: str = ""
    catch_up: bool = True


class Scheduler:
    """Runs the engine's periodic jobs in a background thread pool of one."""

    def __init__(self, runs, jobs: Iterable[JobSpec] = (), *, clock: Callable[[], float] = time.time):
        self.runs = runs  # the store's JobRuns: where every run is recorded
        self.clock = clock
        self.specs: dict[str, JobSpec] = {}
        self._stop = threading.Event()
        self._scheduler = None
        self._run_lock = threading.Lock()
        for spec in jobs:
            self.add(spec)

    def add(self, spec: JobSpec) -> None:
        self.specs[spec.name] = spec

    # -- records ---------------------------------------------------------------------

    def last_run(self, name: str, *, status: str | None = None) -> dict | None:
        return self.runs.last(name, status=status)

    def is_due(self, name: str) -> bool:
        spec = self.specs[name]
        last = self.last_run(name, status="ok")
        return last is None or (last["finished_at"] or 0) + spec.interval_seconds <= self.clock()

    def mark_interrupted(self) -> int:
        return self.runs.mark_interrupted(self.clock())

    # -- running ---------------------------------------------------------------------

    def run(self, name: str, *, stop: threading.Event | None = None, func: Callable[[threading.Event], Any] | None = None) -> dict:
        """Run one job now in this thread, recording the run; returns its record.

        ``func`` runs instead of the job's own function, recorded as that job
        (``engram consolidate --now`` runs its own pass as the nightly one).
        """
        spec = self.specs[name]
        func = func or spec.func
        stop = stop or self._stop
        with self._run_lock:
            run_id = self.runs.start(name, self.clock())
            try:
                report = func(stop)
            except Exception as exc:
                log.exception("job %s failed", name)
                self.runs.finish(run_id, "failed", self.clock(), error=str(exc))
                return self.runs.get(run_id)
            status = "interrupted" if stop.is_set() else "ok"
            self.runs.finish(run_id, status, self.clock(), report=report)
        row = self.runs.get(run_id)
        row["report"] = report
        return row

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        # APScheduler logs "Running job" and "executed successfully" at INFO for every run: the embed job
        # alone wrote two lines a minute.  Our own record of a run is the job_runs table, and _safe_run
        # logs the runs that did something or failed.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)

        self.mark_interrupted()
        self._scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 24 * 3600},
            executors={"default": {"type": "threadpool", "max_workers": 1}},
        )
        now = datetime.now()
        for spec in self.specs.values():
            first = now + timedelta(seconds=spec.interval_seconds)
            if spec.catch_up and self.is_due(spec.name):
                first = now + timedelta(seconds=CATCH_UP_DELAY_SECONDS)
            self._scheduler.add_job(
                self._safe_run, "interval", seconds=spec.interval_seconds, next_run_time=first, id=spec.name, args=[spec.name]
            )
        self._scheduler.start()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No job starts during the block; a job already running is waited for first."""
        if self._scheduler is not None:
            self._scheduler.pause()
        try:
            with self._run_lock:
                yield
        finally:
            if self._scheduler is not None:
                self._scheduler.resume()

    def trigger(self, name: str) -> None:
        """Run a job soon in the background (e.g. when the absorb backlog passes its threshold)."""
        if self._scheduler is not None:
            self._scheduler.modify_job(name, next_run_time=datetime.now())

    def _safe_run(self, name: str) -> None:
        if self._stop.is_set():
            return
        try:
            record = self.run(name)
        except Exception:  # the scheduler thread must survive anything a job does
            log.exception("job %s could not run", name)
            return
        report = record.get("report") if record else None
        if record and record.get("status") == "ok" and _did_something(report):
            log.info("job %s: %s", name, json.dumps(report, default=str)[:300])

    def jobs(self) -> list[dict]:
        out = []
        for spec in self.specs.values():
            last = self.last_run(spec.name)
            next_run = None
            if self._scheduler is not None:
                job = self._scheduler.get_job(spec.name)
                next_run = job.next_run_time.isoformat() if job and job.next_run_time else None
            out.append(
                {
                    "name": spec.name,
                    "description": spec.description,
                    "interval_seconds": spec.interval_seconds,
                    "last_run": last,
                    "due": self.is_due(spec.name),
                    "next_run": next_run,
                }
            )
        return out

    def shutdown(self) -> None:
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None


def _did_something(report: Any) -> bool:
    """Whether a job's report counts any work (a non-zero number anywhere in it)."""
    if isinstance(report, bool):
        return report
    if isinstance(report, (int, float)):
        return report != 0
    if isinstance(report, dict):
        return any(_did_something(v) for v in report.values())
    if isinstance(report, (list, tuple)):
        return any(_did_something(v) for v in report)
    return False
