"""Consolidation with the real seed models: MiniLM similarities drive merges; the rules and the model keep precision."""

from __future__ import annotations

import pytest

from evaluation.absorb import regrounding_failures

pytestmark = pytest.mark.integration



def test_minilm_duplicates_merge_and_near_misses_stay(seed_engine):
    engine = seed_engine
    facts = [
        ("Ada", "Ada lives in Lisbon"), ("Ada", "Ada lives in Lisbon."),  # a true duplicate
        ("Ada", "Ada lives in Porto"),  # another city
        ("Bruno", "Bruno pays 950 euros rent per month"), ("Bruno", "Bruno pays 1000 euros rent per month"),
        ("Chiara", "Chiara likes green tea"), ("Chiara", "Chiara does not like green tea"), ("Chiara", "Chiara dislikes green tea"),
    ]
    ids = []
    for name, text in facts:
        source = engine.observations.add("chat", text, ts="2026-05-02T10:00")
        ids.append(engine.memories.add("semantic", {"name": name, "summary": text}, sources=[source], actor="absorb").id)

    report = engine.make_consolidator(use_model=False).deep_pass()

    assert report["merge"]["merged"] == 1
    assert sorted(report["merge"]["pairs"][0]) == sorted(ids[:2])
    assert engine.memories.count("semantic") == len(facts) - 1
    assert regrounding_failures(engine) == []


def test_a_deep_pass_with_the_seed_chat_model_keeps_the_store_grounded(seed_engine):
    engine = seed_engine
    for day in (4, 11, 18):
        for hour, text in ((10, "Weekly sync with Ana"), (15, f"Edited report-{day}.odt in LibreOffice Writer")):
            when = f"2026-05-{day:02d}T{hour}:00"
            source = engine.observations.add("screen", text, ts=when, app="Calendar", window_title=text)
            engine.memories.add("episodic", {"occurred_at": when, "event_type": "activity", "summary": text}, sources=[source], actor="absorb")
    report = engine.make_consolidator().deep_pass()
    assert report["model"] and report["digests"]["daily_added"] == 3 and report["promotion"]["promoted"] >= 1
    assert regrounding_failures(engine) == []
