"""Daily and weekly digests (linked, idempotent, refreshed) and promotion of recurring facts with provenance."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.consolidate.digests import Digester
from core.consolidate.promote import Promoter, title_key
from core.engine import Engine
from core.models.base import FakeChatModel


class Clock:
    def __init__(self, when: str):
        self.now = datetime.fromisoformat(when).timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, when: str) -> None:
        self.now = datetime.fromisoformat(when).timestamp()


@pytest.fixture
def clock():
    return Clock("2026-05-20T09:00")


@pytest.fixture
def engine(paths, fake_embedder, clock):
    with Engine(paths, embedder=fake_embedder, clock=clock) as eng:
        yield eng


def ts(when: str) -> float:
    return datetime.fromisoformat(when).timestamp()


def episode(engine, when, summary, *, until=None, event_type="activity", app="LibreOffice Calc", text=None, actor="user"):
    source = engine.observations.add("screen", text or summary, ts=when, app=app, window_title=summary)
    fields = {"occurred_at": when, "event_type": event_type, "summary": summary, "actor": actor}
    if until:
        fields["occurred_until"] = until
    return engine.memories.add("episodic", fields, sources=[source])


def digests(engine, kind="daily_digest"):
    rows = engine.store.db.query("SELECT id FROM memory_episodic WHERE event_type = ? ORDER BY occurred_at", [kind])
    return [engine.memories.get(r["id"]) for r in rows]


def links(engine, parent_id, kind="digest"):
    return [r["child_id"] for r in engine.store.db.query(
        "SELECT child_id FROM memory_links WHERE parent_id = ? AND kind = ? ORDER BY child_id", [parent_id, kind])]


# -- daily digests ----------------------------------------------------------------------------


def test_daily_digest_summarises_the_day_and_links_its_memories(engine):
    a = episode(engine, "2026-05-02T09:05", "Edited budget.ods in LibreOffice Calc", until="2026-05-02T09:40")
    b = episode(engine, "2026-05-02T11:00", "Viewed flight offers to Lisbon in Firefox", app="Firefox")
    c = episode(engine, "2026-05-02T15:30", "Ana and Sam chatted: the trip is booked", event_type="conversation", app=None)
    lone = episode(engine, "2026-05-05T10:00", "Used Terminal")  # one memory: no digest for that day

    report = Digester(engine.store).refresh_daily(today=datetime(2026, 5, 20).date())

    assert report.daily_added == 1
    (digest,) = digests(engine)
    assert digest.fields["occurred_at"] == ts("2026-05-02T00:00")
    assert digest.fields["occurred_until"] == ts("2026-05-03T00:00") - 1
    assert digest.fields["summary"].startswith("What I did on Saturday 2 May 2026: Edited budget.ods")
    details = digest.fields["details"]
    assert "Activity:" in details and "Conversation:" in details
    assert "09:05 Edited budget.ods in LibreOffice Calc" in details and "11:00 Viewed flight offers" in details
    assert links(engine, digest.id) == sorted([a.id, b.id, c.id])
    assert digest.sources == sorted(a.sources + b.sources + c.sources)
    assert lone.id not in links(engine, digest.id)
    found = engine.memories.search("what did I do on 2 May budget", limit=3)
    assert digest.id in [r.id for r in found]


def test_digests_are_idempotent_and_refreshed_when_the_day_changes(engine):
    episode(engine, "2026-05-02T09:05", "Edited budget.ods in LibreOffice Calc")
    episode(engine, "2026-05-02T11:00", "Viewed flight offers to Lisbon in Firefox")
    digester = Digester(engine.store)
    today = datetime(2026, 5, 20).date()
    digester.refresh_daily(today=today)
    again = digester.refresh_daily(today=today)
    assert (again.daily_added, again.daily_refreshed) == (0, 0)
    (digest,) = digests(engine)

    late = episode(engine, "2026-05-02T17:45", "Read contract.pdf in Okular", app="Okular")
    report = digester.refresh_daily(today=today)
    assert (report.daily_added, report.daily_refreshed) == (0, 1)
    (refreshed,) = digests(engine)
    assert refreshed.id == digest.id
    assert late.id in links(engine, digest.id) and "17:45 Read contract.pdf" in refreshed.fields["details"]
    assert engine.memories.count("episodic") == 4


def test_the_current_day_waits_until_it_is_over(engine, clock):
    episode(engine, "2026-05-20T07:00", "Edited budget.ods in LibreOffice Calc")
    episode(engine, "2026-05-20T08:00", "Viewed flight offers to Lisbon in Firefox")
    assert Digester(engine.store).refresh_daily(today=datetime(2026, 5, 20).date()).daily_added == 0
    clock.set("2026-05-21T09:00")
    assert engine.make_consolidator(use_model=False).light_pass()["digests"]["daily_added"] == 1


def test_weekly_digest_is_built_from_the_daily_ones(engine):
    for day in ("04", "05", "07"):
        episode(engine, f"2026-05-{day}T09:00", f"Edited report-{day}.odt in LibreOffice Writer")
        episode(engine, f"2026-05-{day}T14:00", f"Viewed news site {day} in Firefox")
    report = engine.make_consolidator(use_model=False).deep_pass()
    assert report["digests"]["daily_added"] == 3 and report["digests"]["weekly_added"] == 1
    (weekly,) = digests(engine, "weekly_digest")
    dailies = digests(engine)
    assert links(engine, weekly.id) == sorted(d.id for d in dailies)
    assert weekly.fields["summary"] == "What I did from Monday 4 May 2026 to Thursday 7 May 2026"
    assert weekly.fields["occurred_at"] == ts("2026-05-04T00:00")
    assert set(weekly.sources) == {s for d in dailies for s in d.sources}
    again = engine.make_consolidator(use_model=False).deep_pass()["digests"]
    assert again == {"daily_added": 0, "daily_refreshed": 0, "weekly_added": 0, "weekly_refreshed": 0, "model_written": 0}


def test_a_grounded_model_summary_leads_and_an_invented_one_is_dropped(engine):
    episode(engine, "2026-05-02T09:05", "Edited budget.ods in LibreOffice Calc")
    episode(engine, "2026-05-02T11:00", "Viewed flight offers to Lisbon in Firefox", app="Firefox")
    model = FakeChatModel(["Edited the budget in LibreOffice Calc and viewed flight offers to Lisbon."])
    report = Digester(engine.store, model).refresh_daily(today=datetime(2026, 5, 20).date())
    assert report.model_written == 1
    (digest,) = digests(engine)
    assert digest.fields["summary"] == ("What I did on Saturday 2 May 2026: "
                                        "Edited the budget in LibreOffice Calc and viewed flight offers to Lisbon.")

    episode(engine, "2026-05-03T09:05", "Edited budget.ods in LibreOffice Calc")
    episode(engine, "2026-05-03T11:00", "Viewed flight offers to Lisbon in Firefox", app="Firefox")
    model = FakeChatModel(["Met Bob in Rome to sign a 40000 euro contract."])
    report = Digester(engine.store, model).refresh_daily(today=datetime(2026, 5, 20).date())
    assert report.model_written == 0 and report.daily_added == 1
    assert digests(engine)[1].fields["summary"].startswith("What I did on Sunday 3 May 2026: Edited budget.ods")


# -- promotion --------------------------------------------------------------------------------


def test_title_key_ignores_times_and_numbers():
    assert title_key("Weekly sync with Ana, 10:00–10:30") == title_key("Weekly sync with Ana, 10:02-10:31") == "weekly sync with ana"


def test_a_recurring_meeting_becomes_a_grounded_fact_with_provenance(engine):
    meetings = [episode(engine, f"2026-05-{day:02d}T10:00", "Weekly sync with Ana", event_type="meeting", app="Calendar")
                for day in (4, 11, 18)]  # three Mondays
    episode(engine, "2026-05-06T10:00", "Dentist appointment", event_type="meeting")
    report = Promoter(engine.store, min_days=3).run()
    assert report.promoted == 1 and report.facts == ["Weekly sync with Ana"]
    (fact,) = engine.memories.list("semantic")
    assert fact.fields["name"] == "Weekly sync with Ana"
    assert fact.fields["summary"] == "Weekly sync with Ana (recurring), usually on Mondays, around 10:00"
    assert fact.sources == sorted(s for m in meetings for s in m.sources)
    assert links(engine, fact.id, "promoted_from") == sorted(m.id for m in meetings)
    assert engine.memories.history(fact.id)[0]["actor"] == "consolidation"
    again = Promoter(engine.store, min_days=3).run()
    assert again.promoted == 0 and engine.memories.count("semantic") == 1


def test_a_statement_repeated_on_enough_days_is_promoted(engine):
    def chat(when, text):
        source = engine.observations.add("chat", text, ts=when, role="user")
        return engine.memories.add("episodic", {"occurred_at": when, "event_type": "conversation", "actor": "Caroline and Mel",
                                                "summary": "Caroline and Mel chatted: " + text.split(": ", 1)[1],
                                                "details": text}, sources=[source])

    for day in (2, 9, 16):
        chat(f"2026-05-{day:02d}T20:00", f"Caroline: I work at Acme Robotics now. It is day {day}.")
    chat("2026-05-03T20:00", "Caroline: I live in Boston.")
    report = Promoter(engine.store, min_days=3).run()
    assert report.facts == ["Caroline works at Acme Robotics"]
    fact = next(m for m in engine.memories.list("semantic"))
    assert fact.fields["summary"] == "Caroline: I work at Acme Robotics now."
    assert len(fact.sources) == 3


def test_facts_without_grounding_sources_are_not_promoted(engine):
    for day in (4, 11, 18):
        engine.memories.add("episodic", {"occurred_at": f"2026-05-{day:02d}T10:00", "summary": "Weekly sync with Ana"})
    report = Promoter(engine.store, min_days=3).run()
    assert report.promoted == 0 and report.rejected == 1
    assert engine.memories.count("semantic") == 0


def test_too_few_days_promote_nothing(engine):
    for day in (4, 4, 11):
        episode(engine, f"2026-05-{day:02d}T10:00", "Weekly sync with Ana", event_type="meeting")
    assert Promoter(engine.store, min_days=3).run().promoted == 0
