"""Job runs are recorded; missed runs catch up exactly once; crashed runs are marked interrupted."""

from __future__ import annotations

import threading

from core.scheduling import JobSpec, Scheduler
from tests.conftest import FakeClock as Clock


def make(engine, clock):
    scheduler = Scheduler(engine.store.job_runs, clock=clock)
    calls = []
    scheduler.add(JobSpec("light", lambda stop: calls.append(clock()) or {"n": len(calls)}, interval_seconds=3600))
    return scheduler, calls


def test_run_is_recorded_with_report(engine):
    clock = Clock()
    scheduler, calls = make(engine, clock)
    record = scheduler.run("light")
    assert record["status"] == "ok" and record["report"] == {"n": 1}
    assert scheduler.last_run("light")["report"] == {"n": 1}


def test_missed_runs_are_due_once(engine):
    clock = Clock()
    scheduler, calls = make(engine, clock)
    assert scheduler.is_due("light")  # never ran
    scheduler.run("light")
    assert not scheduler.is_due("light")
    clock.now += 10 * 3600  # the laptop slept through ten intervals
    assert scheduler.is_due("light")
    scheduler.run("light")
    assert not scheduler.is_due("light")  # one catch-up run covers them all
    assert len(calls) == 2


def test_failed_job_is_recorded_and_does_not_count_as_done(engine):
    clock = Clock()
    scheduler = Scheduler(engine.store.job_runs, clock=clock)

    def broken(stop):
        raise RuntimeError("disk on fire")

    scheduler.add(JobSpec("broken", broken, 60))
    record = scheduler.run("broken")
    assert record["status"] == "failed" and "disk on fire" in record["error"]
    assert scheduler.is_due("broken")


def test_crashed_run_is_marked_interrupted_at_next_start(engine):
    clock = Clock()
    scheduler, _ = make(engine, clock)
    engine.store.db.execute("INSERT INTO job_runs(job, started_at) VALUES ('light', ?)", [clock()])
    assert scheduler.mark_interrupted() == 1
    assert scheduler.last_run("light")["status"] == "interrupted"
    assert scheduler.is_due("light")


def test_stop_event_interrupts_a_run(engine):
    clock = Clock()
    scheduler = Scheduler(engine.store.job_runs, clock=clock)
    stop = threading.Event()

    def long_job(ev):
        ev.set()  # as if shutdown arrived mid-run
        return {"partial": True}

    scheduler.add(JobSpec("long", long_job, 60))
    assert scheduler.run("long", stop=stop)["status"] == "interrupted"


def test_changing_the_embedding_model_triggers_reembedding_now(engine, monkeypatch):
    triggered = []
    monkeypatch.setattr(engine.scheduler, "trigger", triggered.append)
    engine.settings.set("models.embedding", "bge-small-en-v1.5-q8_0")
    assert triggered == ["embed"]


def test_start_writes_a_private_log_file(paths, fake_embedder, monkeypatch):
    import logging
    import os

    from core.engine import Engine

    engine = Engine(paths, embedder=fake_embedder)
    monkeypatch.setattr(Scheduler, "start", lambda self: None)  # no background threads needed
    try:
        engine.start()
        logging.getLogger("core.test").warning("capture paused by the user")
    finally:
        engine.close()
    log = paths.logs_dir / "engram.log"
    assert "capture paused by the user" in log.read_text()
    assert os.stat(log).st_mode & 0o777 == 0o600


def test_file_logging_does_not_make_the_console_chatty(paths):
    import io
    import logging

    from core.logs import start_file_logging, stop_file_logging

    root = logging.getLogger()
    saved = root.level
    stream = io.StringIO()
    console = logging.StreamHandler(stream)
    root.addHandler(console)
    root.setLevel(logging.WARNING)
    handler = start_file_logging(paths)
    try:
        logging.getLogger("apscheduler.scheduler").info("Added job")
        logging.getLogger("core.test").warning("disk nearly full")
    finally:
        stop_file_logging(handler)
        root.removeHandler(console)
        root.setLevel(saved)
    assert stream.getvalue() == "disk nearly full\n"
    assert "Added job" in (paths.logs_dir / "engram.log").read_text()
