"""Consolidation jobs: registered, caught up once after a sleep, consistent after a crash, idle trigger, CLI."""

from __future__ import annotations

import json
import threading

import pytest

from core.consolidate.jobs import DEEP_JOB, LIGHT_JOB, IdleTrigger, consolidation_jobs
from core.engine import Engine
from core.scheduling import Scheduler

HOUR = 3600.0


@pytest.fixture
def engine(clocked_engine):
    return clocked_engine


def scheduler_for(engine, clock):
    return Scheduler(engine.store.job_runs, consolidation_jobs(engine.make_consolidator(), engine.settings), clock=clock)


def add_duplicate_pairs(engine, n):
    source = engine.observations.add("chat", "the facts", ts=engine.clock())
    pairs = []
    for i in range(n):
        summary = f"Colleague {chr(65 + i)}x plays the instrument number {i}"
        a = engine.memories.add("semantic", {"name": f"Person {i}", "summary": summary}, sources=[source], actor="absorb")
        b = engine.memories.add("semantic", {"name": f"Person {i}", "summary": summary + "."}, sources=[source], actor="absorb")
        pairs.append((a.id, b.id))
    return pairs


def check_integrity(engine):
    """Every memory has its type row, its FTS row and (with an embedder) its vector; no dangling links or keys."""
    ids = {r["id"] for r in engine.store.db.query("SELECT id FROM memories")}
    typed = set()
    for row in engine.store.db.query("SELECT id, type FROM memories"):
        assert engine.store.db.scalar(f"SELECT 1 FROM memory_{row['type']} WHERE id = ?", [row["id"]]), row
        typed.add(row["id"])
    assert typed == ids
    assert {r["rowid"] for r in engine.store.db.query("SELECT rowid FROM memory_fts")} == ids
    assert {r["id"] for r in engine.store.db.query("SELECT id FROM memory_vectors")} == ids
    assert not engine.store.db.query("SELECT * FROM memory_links WHERE parent_id NOT IN (SELECT id FROM memories) "
                               "OR child_id NOT IN (SELECT id FROM memories)")
    assert not engine.store.db.query("SELECT * FROM consolidation_keys WHERE memory_id NOT IN (SELECT id FROM memories)")
    assert not engine.store.db.query("SELECT * FROM memory_sources WHERE memory_id NOT IN (SELECT id FROM memories)")
    # A memory deleted by a merge has exactly one DELETE and its survivor a MERGE naming it.
    for row in engine.store.db.query("SELECT memory_id, reason FROM memory_history WHERE action = 'DELETE'"):
        assert row["memory_id"] not in ids
        survivor = int(row["reason"].rsplit("#", 1)[1])
        assert engine.store.db.scalar("SELECT count(*) FROM memory_history WHERE memory_id = ? AND action = 'MERGE' AND reason LIKE ?",
                                [survivor, f"%#{row['memory_id']} %"]) == 1


def test_both_passes_are_registered(engine, clock):
    scheduler = scheduler_for(engine, clock)
    assert scheduler.specs[LIGHT_JOB].interval_seconds == HOUR
    assert scheduler.specs[DEEP_JOB].interval_seconds == 24 * HOUR
    assert scheduler.specs[LIGHT_JOB].catch_up and scheduler.specs[DEEP_JOB].catch_up
    assert {LIGHT_JOB, DEEP_JOB} <= set(engine.scheduler.specs)  # the engine wires them in


def test_missed_runs_catch_up_exactly_once(engine, clock):
    scheduler = scheduler_for(engine, clock)
    calls = []
    original = scheduler.specs[DEEP_JOB].func
    scheduler.specs[DEEP_JOB].func = lambda stop: calls.append(clock()) or original(stop)
    assert scheduler.is_due(DEEP_JOB)
    assert scheduler.run(DEEP_JOB)["status"] == "ok"
    clock.now += 12 * HOUR
    assert not scheduler.is_due(DEEP_JOB)
    clock.now += 5 * 24 * HOUR  # the laptop slept for five nights
    assert scheduler.is_due(DEEP_JOB) and scheduler.is_due(LIGHT_JOB)
    record = scheduler.run(DEEP_JOB)
    assert record["status"] == "ok" and record["report"]["kind"] == "deep"
    assert not scheduler.is_due(DEEP_JOB)  # one run covers the five missed ones
    assert len(calls) == 2
    runs = engine.store.db.query("SELECT status FROM job_runs WHERE job = ?", [DEEP_JOB])
    assert [r["status"] for r in runs] == ["ok", "ok"]


def test_disabled_consolidation_runs_and_does_nothing(engine, clock):
    add_duplicate_pairs(engine, 1)
    engine.settings.set("consolidation.enabled", False)
    record = scheduler_for(engine, clock).run(DEEP_JOB)
    assert record["report"] == {"skipped": "consolidation.enabled is off"}
    assert engine.memories.count() == 2


def test_a_crash_mid_pass_leaves_the_store_consistent_and_a_rerun_finishes(engine, clock, monkeypatch):
    pairs = add_duplicate_pairs(engine, 5)
    scheduler = scheduler_for(engine, clock)
    real_delete = engine.memories.delete
    deletes = []

    def failing_delete(memory_id, **kwargs):
        if len(deletes) == 2:  # the third merge dies after updating its survivor, before deleting
            raise RuntimeError("power cut")
        deletes.append(memory_id)
        return real_delete(memory_id, **kwargs)

    monkeypatch.setattr(engine.memories, "delete", failing_delete)
    record = scheduler.run(DEEP_JOB)
    assert record["status"] == "failed" and "power cut" in record["error"]
    assert engine.memories.count() == 8  # two merges committed, the third rolled back entirely
    check_integrity(engine)
    merge_rows = engine.store.db.scalar("SELECT count(*) FROM memory_history WHERE action = 'MERGE'")
    assert merge_rows == 2  # the rolled-back survivor update left no history
    assert scheduler.is_due(DEEP_JOB)

    monkeypatch.setattr(engine.memories, "delete", real_delete)
    clock.now += 60
    record = scheduler.run(DEEP_JOB)
    assert record["status"] == "ok" and record["report"]["merge"]["merged"] == 3
    assert engine.memories.count() == 5
    check_integrity(engine)
    assert all(len([i for i in pair if i in {m.id for m in engine.memories.list(limit=50)}]) == 1 for pair in pairs)


def test_a_stop_request_interrupts_between_items_and_the_next_run_resumes(engine, clock):
    add_duplicate_pairs(engine, 4)
    scheduler = scheduler_for(engine, clock)
    stop = threading.Event()
    merged = []

    def stop_after_two(memory, **_):
        merged.append(memory.id)
        if len(merged) == 2:
            stop.set()

    engine.events.subscribe("memory_did_delete", stop_after_two)
    record = scheduler.run(DEEP_JOB, stop=stop)
    assert record["status"] == "interrupted" and record["report"]["interrupted"]
    assert record["report"]["merge"]["merged"] == 2
    check_integrity(engine)
    assert scheduler.is_due(DEEP_JOB)
    record = scheduler.run(DEEP_JOB, stop=threading.Event())
    assert record["status"] == "ok" and record["report"]["merge"]["merged"] == 2
    assert engine.memories.count() == 4
    check_integrity(engine)


def test_digests_and_facts_survive_a_crash_and_are_not_duplicated(engine, clock, monkeypatch):
    from datetime import datetime, timedelta

    start = datetime.fromtimestamp(clock()) - timedelta(days=30)
    for day in range(6):
        for hour in (9, 14):
            when = (start + timedelta(days=day * 5)).replace(hour=hour, minute=0).timestamp()
            source = engine.observations.add("screen", "Weekly sync with Ana", ts=when)
            engine.memories.add("episodic", {"occurred_at": when, "event_type": "meeting",
                                             "summary": "Weekly sync with Ana" if hour == 9 else f"Notes {day} written"},
                                sources=[source], actor="absorb")
    consolidator = engine.make_consolidator(use_model=False)
    from core.consolidate import derived

    real_write = derived.write
    writes = []

    def failing_write(*args, **kwargs):
        if len(writes) == 3:
            raise RuntimeError("killed")
        writes.append(kwargs["key"])
        return real_write(*args, **kwargs)

    monkeypatch.setattr(derived, "write", failing_write)
    with pytest.raises(RuntimeError):
        consolidator.deep_pass()
    assert engine.store.db.scalar("SELECT count(*) FROM consolidation_keys") == 3
    check_integrity(engine)
    monkeypatch.setattr(derived, "write", real_write)
    report = consolidator.deep_pass()
    keys = [r["key"] for r in engine.store.db.query("SELECT key FROM consolidation_keys ORDER BY key")]
    assert len(keys) == len(set(keys)) == engine.store.db.scalar(
        "SELECT count(*) FROM memory_episodic WHERE event_type IN ('daily_digest', 'weekly_digest')"
    ) + engine.memories.count("semantic")
    assert report["digests"]["daily_added"] == 6 - 3 and report["promotion"]["promoted"] == 1
    check_integrity(engine)


# -- idle trigger -----------------------------------------------------------------------------


class FakeTimer:
    made: list["FakeTimer"] = []

    def __init__(self, delay, callback):
        self.delay, self.callback, self.cancelled, self.started = delay, callback, False, False
        FakeTimer.made.append(self)

    def start(self):
        self.started = True

    def cancel(self):
        self.cancelled = True


class RecordingScheduler:
    def __init__(self, clock, last=None):
        self.clock = clock
        self.triggered = []
        self.last = last

    def last_run(self, name):
        return self.last

    def trigger(self, name):
        self.triggered.append(name)


def test_idle_trigger_waits_for_a_long_idle_spell_and_respects_the_last_run(engine, clock):
    FakeTimer.made = []
    scheduler = RecordingScheduler(clock)
    trigger = IdleTrigger(scheduler, engine.settings, timer_factory=FakeTimer)
    trigger(state="idle")
    (timer,) = FakeTimer.made
    assert timer.started and timer.delay == 30 * 60
    trigger(state="running")  # input came back before the wait ended
    assert timer.cancelled and scheduler.triggered == []
    trigger(state="idle")
    assert FakeTimer.made[-1].callback() is True and scheduler.triggered == [DEEP_JOB]
    scheduler.last = {"started_at": clock() - HOUR}
    assert trigger.fire() is False and scheduler.triggered == [DEEP_JOB]


def test_starting_the_engine_subscribes_the_idle_trigger(engine, monkeypatch):
    monkeypatch.setattr(Scheduler, "start", lambda self: None)  # no background threads in this test
    engine.start()
    assert set(engine.scheduler.specs) >= {LIGHT_JOB, DEEP_JOB}
    assert any(isinstance(h, IdleTrigger) for h in engine.events._handlers["capture_did_change_state"])


# -- CLI --------------------------------------------------------------------------------------


def run_cli(capsys, *argv):
    from core.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_consolidate_jobs_and_restore(capsys, paths, fake_embedder, monkeypatch):
    import core.cli

    def make_engine(self):
        if self._engine is None:
            self._engine = Engine(paths, embedder=fake_embedder)
        return self._engine

    monkeypatch.setattr(core.cli.CliContext, "engine", property(make_engine))
    with Engine(paths, embedder=fake_embedder) as engine:
        source = engine.observations.add("chat", "Ada plays the cello")
        a = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello"}, sources=[source], actor="absorb")
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello."}, sources=[source], actor="absorb")
        engine.memories.set_archived(a.id, True, reason="test")

    code, out, err = run_cli(capsys, "consolidate", "--now", "--no-llm", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "deep" and report["model"] is None and report["merge"]["candidates"] == 0

    code, out, err = run_cli(capsys, "consolidate", "--now", "--no-llm")
    assert code == 0 and "merged:" in out and "archived:" in out

    code, out, err = run_cli(capsys, "jobs", "--json")
    jobs = {j["name"]: j for j in json.loads(out)}
    assert jobs[DEEP_JOB]["last_run"]["status"] == "ok" and not jobs[DEEP_JOB]["due"]
    assert jobs[LIGHT_JOB]["last_run"] is None and jobs[LIGHT_JOB]["due"]
    assert jobs[DEEP_JOB]["next_run"] > jobs[LIGHT_JOB]["next_run"]
    code, out, err = run_cli(capsys, "jobs")
    assert code == 0 and DEEP_JOB in out and "every 1d" in out

    code, out, err = run_cli(capsys, "restore", str(a.id), "--json")
    assert code == 0 and json.loads(out)["archived"] is False
