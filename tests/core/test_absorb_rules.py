"""Rule extractors, dates and the grounding check, without a database or a model."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.absorb import events, extractors, facts, grounding
from core.absorb.dates import day_of, find_dates, parse_day
from core.absorb.llm import map_decisions, Existing, reconcile_schema
from core.store.observations import Observation


def obs(id, text, *, kind="chat", ts="2026-05-02T10:00:00", role="user", speaker=None, app=None, title=None, url=None):
    return Observation(id=id, kind=kind, ts=datetime.fromisoformat(ts).timestamp(), text=text, role=role, app=app,
                       window_title=title, url=url, conversation="c", meta={"speaker": speaker} if speaker else {})


REFERENCE = datetime(2023, 5, 8, 13, 56).timestamp()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I fly to Lisbon on 12 June 2026.", date(2026, 6, 12)),
        ("The deadline is June 12th, 2026", date(2026, 6, 12)),
        ("see 2026-06-12 in the plan", date(2026, 6, 12)),
        ("the 3rd of March", date(2023, 3, 3)),
        ("I went to a support group yesterday", date(2023, 5, 7)),
        ("Tomorrow we paint", date(2023, 5, 9)),
    ],
)
def test_find_dates(text, expected):
    assert find_dates(text, REFERENCE)[0].day == expected


def test_dates_without_a_reference_need_a_year():
    assert find_dates("on 12 June") == []
    assert parse_day("2026-06-12") == date(2026, 6, 12) and parse_day("12 June 2026") == date(2026, 6, 12)
    assert parse_day("soon") is None


def test_vault_finds_lookup_values_with_sensitivity():
    text = ("Mail me at ada.l@example.org or call +44 20 7946 0958. IBAN GB82 WEST 1234 5698 7654 32, "
            "account number: 12345678. My api key is sk-live-abcdefghijklmnop1234. The meeting is 2026-06-12.")
    found = {c.fields["entry_type"]: c for c in extractors.vault_entries([obs(1, text)], include_screen=False)}
    assert found["email"].fields["secret_value"] == "ada.l@example.org" and found["email"].fields["sensitivity"] == "low"
    assert found["phone"].fields["secret_value"] == "+44 20 7946 0958" and found["phone"].fields["sensitivity"] == "medium"
    assert found["iban"].fields["secret_value"] == "GB82 WEST 1234 5698 7654 32" and found["iban"].fields["sensitivity"] == "high"
    assert found["account"].fields["secret_value"] == "12345678"
    assert any(kind in found for kind in ("api_key", "password", "token"))
    assert all(c.sources == [1] for c in found.values())
    assert "phone" not in {c.fields["entry_type"] for c in extractors.vault_entries([obs(2, "It costs 1200 5000 units")], include_screen=False)}


@pytest.mark.parametrize("text, other", [
    ("door code for her building is 4719B and her number is +44 7700 900123 in case the buzzer acts up", "4719b"),
    ("gate pin 8812, then Yusuf's mobile +49 1512 3456789 if nobody answers", "8812"),
    ("wifi password is Hx7-22kq and the landlord: +33 6 12 34 56 78", "hx7-22kq"),
])
def test_a_vault_caption_never_carries_another_value_of_the_same_message(text, other):
    from core.absorb.lookups import label_before

    found = extractors.vault_entries([obs(1, text)], include_screen=False)
    assert len(found) == 2, [c.fields for c in found]
    for candidate in found:
        assert other not in candidate.fields["caption"].lower()
        assert other not in (candidate.text or "").lower()
    assert other not in label_before(text, text.index("+")).lower()
    if "Yusuf" in text:
        assert "phone number: Yusuf's mobile" in [c.fields["caption"] for c in found]


def test_invalid_iban_and_dates_are_not_secrets():
    found = extractors.vault_entries([obs(1, "Ref GB00 WEST 1234 5698 7654 32 on 2026-06-12")], include_screen=False)
    assert found == []


def test_screen_secrets_only_when_the_vault_from_screen_setting_is_on():
    screen = obs(1, "Contact: ada@example.org", kind="screen", app="thunderbird", title="Inbox")
    assert extractors.vault_entries([screen], include_screen=False) == []
    assert len(extractors.vault_entries([screen], include_screen=True)) == 1
    masked = obs(2, "password: ••••••••", kind="screen")
    assert extractors.vault_entries([masked], include_screen=True) == []


@pytest.mark.parametrize("role, kept", [("user", True), ("me", True), ("assistant", False), ("tool", False),
                                        ("system", False), (None, False)])
def test_only_the_users_own_words_fill_the_vault(role, kept):
    # The rule of provenance.is_users_own: a message with no known writer is data, like an assistant's.
    found = extractors.vault_entries([obs(1, "Mail me at ada.l@example.org", role=role)], include_screen=False)
    assert bool(found) is kept


def test_resources_from_urls_paths_and_document_titles():
    items = [
        obs(1, "see https://example.org/docs/page?x=1#top, and /home/ada/notes/plan.md", kind="screen",
            app="firefox", title="Docs - Mozilla Firefox", url="https://example.org/docs/page?x=1#top"),
        obs(2, "totals", kind="screen", app="soffice", title="budget.ods - LibreOffice Calc"),
    ]
    found = {c.fields["location"] or c.fields["title"]: c for c in extractors.resources(items)}
    assert found["https://example.org/docs/page?x=1"].fields["title"] == "Docs"
    assert found["/home/ada/notes/plan.md"].fields["resource_type"] == "file"
    assert found["budget.ods"].fields["resource_type"] == "document"


def test_conversation_summary_dated_events_and_preferences():
    items = [
        obs(1, "I'm flying to Lisbon on 12 June 2026 for a conference. I prefer aisle seats.", ts="2026-05-02T10:00:00"),
        obs(2, "Noted. Anything else?", role="assistant", ts="2026-05-02T10:00:05"),
    ]
    exchange = events.conversation_summary(items)[0]
    assert exchange.fields["actor"] == "User and Assistant" and exchange.sources == [1, 2]
    assert exchange.fields["details"] is None and "Lisbon" in exchange.fields["summary"]  # a line, not a transcript
    assert "Noted" not in exchange.fields["summary"]  # the assistant's words are not what the user talked about
    event = events.dated_events(items)[0]
    assert day_of(event.fields["occurred_at"]) == date(2026, 6, 12) and event.sources == [1]
    prefs = facts.core_facts(facts.statements(items))
    assert [p.fields for p in prefs] == [{"label": "preferences", "value": "User: I prefer aisle seats."}]
    named = facts.speaker_facts(facts.statements([obs(3, "I love painting sunsets by the lake.", speaker="Melanie")]))
    assert [c.fields["name"] for c in named] == ["Melanie: preferences"]  # a named speaker's facts are about them
    assert named[0].type == "semantic" and named[0].fields["details"] == "Melanie: I love painting sunsets by the lake."


@pytest.mark.parametrize("text, garbage", [
    ("Quarterly budget totals for the team", False),
    ("~#@ ;;|| %%^ &&* ()_ !!!", True),
    ("lllI1 |||l Il1| rnrn ,,,. ~~", True),
    ("", True),
    ("Meeting at 10:30 with Ada", False),
])
def test_garbage_text(text, garbage):
    assert extractors.looks_like_garbage(text) is garbage


def source_of(*texts, ts="2023-05-08T13:56:00"):
    return grounding.SourceText.from_observations([obs(i, t, ts=ts, speaker="Caroline") for i, t in enumerate(texts)])


def test_grounding_accepts_what_the_source_says():
    source = source_of("I went to a LGBTQ support group yesterday and it was so powerful.")
    assert grounding.check("semantic", {"name": "Caroline", "summary": "Caroline went to an LGBTQ support group"}, source).ok
    episodic = {"occurred_at": datetime(2023, 5, 7, 12).timestamp(), "summary": "Caroline went to a support group"}
    assert grounding.check("episodic", episodic, source).ok  # 'yesterday' from the message date


@pytest.mark.parametrize("fields, reason", [
    ({"name": "Caroline", "summary": "Caroline went to a support group in Boston"}, "'Boston'"),
    ({"name": "Caroline", "summary": "Caroline went to 3 support groups"}, "number 3"),
    ({"name": "Caroline", "summary": "Caroline adopted a beagle puppy named Biscuit quickly"}, "name 'Biscuit'"),
    ({"name": "pets", "summary": "adopted beagle puppy quickly"}, "key terms"),
])
def test_grounding_rejects_what_the_source_does_not_say(fields, reason):
    result = grounding.check("semantic", fields, source_of("I went to a LGBTQ support group yesterday."))
    assert not result.ok and reason in result.reason


def test_grounding_checks_dates_and_vault_values():
    source = source_of("My email is ada@example.org")
    wrong_day = {"occurred_at": datetime(2023, 6, 1, 12).timestamp(), "summary": "Caroline email"}
    assert "2023-06-01" in grounding.check("episodic", wrong_day, source).reason
    vault = {"entry_type": "email", "caption": "E-mail address", "secret_value": "ada@example.org"}
    assert grounding.check("knowledge_vault", vault, source).ok
    assert not grounding.check("knowledge_vault", dict(vault, secret_value="eve@example.org"), source).ok


def test_map_decisions_remaps_small_ids_and_rejects_invented_ones():
    class Mem:
        def __init__(self, id, type):
            self.id, self.type = id, type

    cands = [extractors.Candidate("semantic", {"name": n, "summary": n}, [1], origin="llm") for n in ("a", "b", "c", "d")]
    shown = [Existing(0, Mem(901, "semantic")), Existing(1, Mem(555, "episodic"))]
    reply = {"decisions": [
        {"fact": 0, "action": "UPDATE", "existing": 0, "merged": "a+"},
        {"fact": 1, "action": "DELETE", "existing": 901},  # a real database id, never shown
        {"fact": 2, "action": "UPDATE", "existing": 1},  # another type
        {"fact": 9, "action": "ADD"},
    ]}
    decisions, rejected = map_decisions(reply, cands, shown)
    assert [(d.candidate.fields["name"], d.action, getattr(d.target, "id", None)) for d in decisions] == [
        ("a", "UPDATE", 901), ("d", "ADD", None)]
    reasons = " | ".join(r for _, r in rejected)
    assert "901" in reasons and "invented id" in reasons and "pairs a semantic fact with a episodic" in reasons
    assert "new fact 9" in reasons
    schema = reconcile_schema(4, 2)
    item = schema["properties"]["decisions"]["items"]["properties"]
    assert item["existing"] == {"enum": [0, 1]} and item["fact"] == {"enum": [0, 1, 2, 3]}


@pytest.mark.parametrize("content", ["How have you been?", "Hey Mel! Good to see you!}, {", "Ada", "[1, 2]"])
def test_questions_fragments_and_json_debris_from_a_model_are_not_candidates(content):
    from core.absorb.llm import parse_candidates

    candidates, problems = parse_candidates({"memories": [{"type": "core", "name": "human", "content": content}]}, [obs(1, content)])
    assert candidates == [] and len(problems) == 1
