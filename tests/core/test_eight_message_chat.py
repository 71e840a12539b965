"""Issue 13's eight-message chat, rules only: each thing the user said is a memory of its kind, and the change of
seat preference leaves only the new one active."""

from __future__ import annotations

from datetime import date

from core.absorb.dates import day_of
from core.secrets import shield_observation

CHAT = [
    ("My new work e-mail is dana.kovacs@lumen-analytics.com.", "2026-09-28T08:00:00"),
    ("I'm flying to Lisbon on 14 October for the partner workshop, back on the 17th.", "2026-09-28T08:05:00"),
    ("I prefer aisle seats on planes.", "2026-09-28T08:10:00"),
    ("To deploy the blog: git pull, then make build, then rsync public/ to the server.", "2026-09-28T08:15:00"),
    ("My sister Mira is allergic to peanuts, so no satay at her birthday.", "2026-09-28T08:20:00"),
    ("The Q3 report draft is due on 2 October, it's at ~/work/reports/q3-draft.odt.", "2026-09-28T08:25:00"),
    ("We moved! New address: Rua das Flores 112, 4050-265 Porto.", "2026-09-28T08:30:00"),
    ("I no longer prefer aisle seats, I want window seats now.", "2026-09-29T08:00:00"),
]


def test_the_eight_message_chat_becomes_memories_of_every_kind(engine):
    for text, ts in CHAT:
        # As chat imports store the user's words: masked, the values carried to the vault (an address is one).
        engine.observations.add_many([shield_observation(
            dict(kind="chat", text=text, ts=ts, role="user", conversation="issue-13"), keep_values=True)])
    report = engine.make_absorber(use_llm=False).absorb_backlog().to_dict()
    assert report["llm_calls"] == 0 and engine.observations.count(unabsorbed=True) == 0
    memories = engine.memories.list(limit=100)
    by_type = {t: [m for m in memories if m.type == t] for t in ("core", "episodic", "semantic", "procedural",
                                                                   "resource", "knowledge_vault")}
    vault = {m.fields["entry_type"]: m.fields["secret_value"] for m in by_type["knowledge_vault"]}
    assert vault == {"email": "dana.kovacs@lumen-analytics.com", "address": "Rua das Flores 112, 4050-265 Porto"}
    dated = {day_of(m.fields["occurred_at"]): m.fields["summary"] for m in by_type["episodic"]
             if m.fields["event_type"] == "mentioned event"}
    assert "Lisbon" in dated[date(2026, 10, 14)] and "Q3 report draft" in dated[date(2026, 10, 2)]
    [deploy] = by_type["procedural"]
    assert deploy.fields["summary"] == "To deploy the blog" and deploy.fields["steps"] == [
        "git pull", "make build", "rsync public/ to the server"]
    [mira] = by_type["semantic"]
    assert mira.fields["name"] == "Mira" and "peanuts" in mira.fields["details"]
    assert [m.fields["location"] for m in by_type["resource"]] == ["~/work/reports/q3-draft.odt"]
    core = {m.fields["label"]: m.fields["value"] for m in by_type["core"]}
    assert core["preferences"] == "User: I no longer prefer aisle seats, I want window seats now."
    assert "Porto" in core["home"]
    # no field-name titles, no copies: every memory names what it is about
    assert all(m.title and m.title.lower() not in ("name", "content", "summary") for m in memories)
    texts = [m.text for m in memories]
    assert len(texts) == len(set(texts))
    conversation = [m for m in by_type["episodic"] if m.fields["event_type"] == "conversation"]
    assert conversation and all(m.fields["details"] is None for m in conversation)
