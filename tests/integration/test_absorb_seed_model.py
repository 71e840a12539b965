"""Absorb a short chat with the real seed models (SmolLM2-135M and MiniLM through llama.cpp)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.absorb import import_chat_file
from core.absorb.dates import day_of
from evaluation.absorb import regrounding_failures

pytestmark = pytest.mark.integration

CHAT = [
    {"role": "user", "content": "Hi! You can reach me at ada.lovelace@example.org if anything changes.",
     "time": "2026-05-02T10:00:00", "conversation": "trip"},
    {"role": "assistant", "content": "Got it. What are you planning?", "time": "2026-05-02T10:00:10", "conversation": "trip"},
    {"role": "user", "content": "I'm flying to Lisbon on 12 June 2026 for the Web Summit. I prefer aisle seats on long flights.",
     "time": "2026-05-02T10:01:00", "conversation": "trip"},
    {"role": "assistant", "content": "Noted: Lisbon on 12 June 2026, aisle seat.", "time": "2026-05-02T10:01:20", "conversation": "trip"},
]


def test_a_chat_becomes_faithful_memories_with_the_seed_model(seed_engine, tmp_path):
    path = tmp_path / "trip.jsonl"
    path.write_text("".join(json.dumps(m) + "\n" for m in CHAT), encoding="utf-8")
    assert import_chat_file(seed_engine.store, path).added == 4
    chat_ids = {o.id for o in seed_engine.observations.unabsorbed()}

    report = seed_engine.make_absorber(use_llm=True).absorb_backlog().to_dict()

    assert report["backlog_after"] == 0 and report["llm_pending"] == 0
    assert report["llm_calls_max_per_batch"] <= 2
    assert set(report["llm_states"]) <= {"done", "failed"}  # the model ran; garbage output is a logged failure

    vault = seed_engine.memories.list("knowledge_vault")
    assert any(m.fields["secret_value"] == "ada.lovelace@example.org" for m in vault)

    episodes = seed_engine.memories.list("episodic")
    trip = [m for m in episodes if day_of(m.fields["occurred_at"]) == date(2026, 6, 12)]
    assert trip and any("Lisbon" in m.fields["summary"] for m in trip)

    every = seed_engine.memories.list(limit=1000)
    assert every
    for memory in every:
        assert memory.sources and set(memory.sources) <= chat_ids, memory.to_dict()
        history = seed_engine.memories.history(memory.id)
        assert history[0]["action"] == "ADD" and history[0]["actor"] == "absorb"
    assert regrounding_failures(seed_engine) == []
    assert seed_engine.memories.search("Lisbon trip", limit=5)  # embedded with MiniLM and searchable
