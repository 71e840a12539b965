"""The log file records job runs that did something or failed, not a scheduler line every minute."""

from __future__ import annotations

import time

from core.scheduling import JobSpec, Scheduler


def test_idle_runs_leave_no_line_and_busy_runs_one(paths, fake_embedder):
    from core.engine import Engine
    from core.logs import start_file_logging, stop_file_logging

    engine = Engine(paths, embedder=fake_embedder)
    handler = start_file_logging(paths)
    ran = []
    embed = engine.scheduler.specs["embed"]  # the engine's own embed job, as the app runs it
    scheduler = Scheduler(engine.store.job_runs, [embed], clock=engine.clock)
    scheduler.add(JobSpec("idle", lambda stop: (ran.append("idle"), {"done": 0})[1], 3600, catch_up=False))
    scheduler.add(JobSpec("busy", lambda stop: (ran.append("busy"), {"done": 4})[1], 3600, catch_up=False))
    try:
        scheduler.start()
        for name in ("idle", "busy", "embed"):
            scheduler.trigger(name)
        deadline = time.monotonic() + 10
        while len(ran) < 2 or scheduler.last_run("embed") is None:
            assert time.monotonic() < deadline, "the jobs did not run"
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        scheduler.shutdown()
        stop_file_logging(handler)
        engine.close()
    text = (paths.logs_dir / "engram.log").read_text()
    assert "Running job" not in text and "executed successfully" not in text
    assert "job busy:" in text and "job idle" not in text and "job embed" not in text
