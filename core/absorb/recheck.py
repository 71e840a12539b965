"""The secrets re-check as Engram runs it: whose values it keeps, and the background job.

The store does the work (``core.store.remask``); which secrets found in old
text may fill the vault is absorb's rule for text stored before masking
(``extractors.may_fill_vault``): the user's own messages, and the screen only
while ``privacy.vault_from_screen`` is on.  The job checks hourly whether the
detector has learnt something since the store was last checked; on the first
start after an upgrade it runs within a minute, in chunks, and a stop (quit,
a restore) leaves it to continue next time.
"""

from __future__ import annotations

import threading
from typing import Callable

from core.absorb.extractors import may_fill_vault
from core.scheduling import JobSpec

RECHECK_JOB = "secrets_recheck"
CHECK_INTERVAL_SECONDS = 3600


def keeps_values(settings) -> Callable[[object], bool]:
    """Whether a secret found in an observation may go to the vault (the setting read as the pass starts)."""
    include_screen = bool(settings.get("privacy.vault_from_screen"))
    return lambda observation: may_fill_vault(observation, include_screen=include_screen)


def recheck_secrets(store, settings, *, stop: threading.Event | None = None,
                    progress: Callable[[int, int], None] | None = None):
    """Run the re-check now (in this thread); returns its ``RecheckReport``."""
    return store.secrets_recheck.run(keeps_values(settings), stop=stop, progress=progress)


def recheck_job(store, settings) -> JobSpec:
    """The hourly look: nothing to do unless the store was checked with an older detector (or never)."""

    def run(stop: threading.Event) -> dict:
        if store.read_only or not store.secrets_recheck.needed():
            return {"rows_masked": 0}
        report = recheck_secrets(store, settings, stop=stop)
        return {"complete": report.complete, "rows_checked": report.rows_checked, "rows_masked": report.rows_masked,
                "kept_in_vault": report.kept_in_vault}

    return JobSpec(RECHECK_JOB, run, CHECK_INTERVAL_SECONDS, "Check text stored earlier for secrets the detector now knows")
