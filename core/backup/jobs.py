"""The scheduled backup job.

It is checked hourly and backs up when the last good backup is older than
``backup.interval_hours`` (daily by default) and something changed since; then
it thins old backups (see ``core.backup.backups``).  Checking often and
deciding inside the job means a changed interval takes effect without a
restart, and a laptop that slept through the night backs up soon after it wakes.
"""

from __future__ import annotations

from core.scheduling import JobSpec

BACKUP_JOB = "backup"
CHECK_INTERVAL_SECONDS = 3600


def backup_job(backups) -> JobSpec:
    """The hourly check of a ``BackupService``: back up when due and changed, then thin."""
    return JobSpec(
        BACKUP_JOB,
        lambda stop: backups.run_scheduled(stop),
        CHECK_INTERVAL_SECONDS,
        "Back up the database when due and changed, then thin old backups",
    )
