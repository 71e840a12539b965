"""Absorbing, rules only: jokes, typos, ways of working, mixed languages, payees, projects, screens that need the
line above, corrections that name only the new day, and a new address or number that replaces the old one."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.absorb import events, extractors, facts, text as tx
from core.absorb.dates import day_of
from core.store.observations import Observation
from core.secrets import shield_observation


def say(engine, *messages, conversation="c", shield=False):
    for text, ts in messages:
        item = dict(kind="chat", text=text, ts=ts, role="user", conversation=conversation)
        if shield:
            engine.observations.add_many([shield_observation(item, keep_values=True)])
        else:
            engine.observations.add("chat", text, ts=ts, role="user", conversation=conversation)
    return engine.make_absorber(use_llm=False).absorb_backlog().to_dict()


def texts(engine, kind, *, archived=False):
    return [m.text for m in engine.memories.list(kind, limit=200, include_archived=archived)]


def dated(engine):
    return [m for m in engine.memories.list("episodic", limit=200) if m.fields["event_type"] != "conversation"]


def screen(id, text, app, title, ts="2026-05-04T09:00:00"):
    return Observation(id=id, kind="screen", ts=datetime.fromisoformat(ts).timestamp(), text=text, role=None, app=app,
                       window_title=title, url=None, conversation=None, meta={})


# -- jokes -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence, kept", [
    ("Oh right, I'm opening a bakery on the Moon next spring, totally", []),
    ("As if, I'm buying a yacht with my tips", []),
    ("Ja klar, ich werde nächstes Jahr Astronautin", []),
    ("I'm becoming president of the galaxy lol, I live in Tromsø", ["I live in Tromsø"]),
    ("je pars vivre sur une île déserte mdr, je travaille chez Decathlon", ["je travaille chez Decathlon"]),
    ("me caso con un millonario jajaja, soy enfermera", ["soy enfermera"]),
])
def test_a_joke_or_sarcasm_states_no_fact(sentence, kept):
    assert tx.factual_clauses(sentence) == kept


def test_a_sarcastic_plan_is_no_fact_and_no_topic(engine):
    say(engine, ("Train fares doubled. Yeah right, I'm commuting by hot-air balloon to Reykjavik from now on.",
                 "2026-04-01T20:00:00"))
    stored = " ".join(texts(engine, "episodic") + texts(engine, "core") + texts(engine, "semantic"))
    assert "Reykjavik" not in stored and "balloon" not in stored


# -- typos -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("clause, family", [
    ("I'm alergic to penicillin", "health"),
    ("been pescatarain since the summer", "health"),
    ("soy intolernte a la lactosa", "health"),
    ("ich bin allergsch gegen Nüsse", "health"),
])
def test_a_family_word_with_a_typo_still_names_its_family(clause, family):
    assert family in facts.families_of(clause)


def test_typos_are_fixed_only_for_long_family_words():
    assert tx.fix_typos("I'm alergic") == "I'm allergic"
    assert tx.fix_typos("Mango and vegan cake") == "Mango and vegan cake"  # short words and names stay


def test_a_typo_keeps_the_users_words_in_the_core_line(engine):
    say(engine, ("been vegetarain for two years now", "2026-02-01T10:00:00"))
    [health] = [t for t in texts(engine, "core") if t.startswith("health")]
    assert "vegetarain" in health


# -- ways of working --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("clause", [
    "I'm fully remote since the spring",
    "I work remotely for a firm in Lisbon",
    "we go into the office on Mondays only",
    "seit Mai bin ich komplett im Homeoffice",
    "je suis en télétravail trois jours par semaine",
    "estou em teletrabalho desde janeiro",
])
def test_where_one_works_from_is_a_core_fact(clause):
    assert "workplace" in facts.families_of(clause)


def test_a_new_way_of_working_replaces_the_old_but_not_the_employer(engine):
    say(engine, ("I'm a pharmacist at Boots.", "2026-01-05T09:00:00"),
        ("I go into the office on Wednesdays, the rest from home.", "2026-01-05T09:02:00"))
    say(engine, ("They sold the building, so I'm fully remote now.", "2026-05-05T09:00:00"))
    assert "Boots" in engine.memories.find_core("work").fields["value"]
    place = engine.memories.find_core("workplace").fields["value"]
    assert "remote" in place and "Wednesdays" not in place


# -- people, payees, projects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence, name", [
    ("mój brat Tomasz mieszka w Krakowie since May", "Tomasz"),
    ("mia sorella Giulia just started at the hospital", "Giulia"),
    ("mijn moeder Anneke is turning 70", "Anneke"),
])
def test_a_relation_in_another_language_names_a_person(sentence, name):
    statement = facts.Statement(None, 0, sentence, tx.factual_clauses(sentence), None, None)
    found = facts._mentions(statement, {}, set(), lambda n: False)
    assert name in [n for n, _ in found]


@pytest.mark.parametrize("sentence, name", [
    ("transfer the deposit to DE44 5001 0517 5407 3249 31, account holder J. Okafor", "J. Okafor"),
    ("Kontoinhaberin Petra Lindqvist, bitte bis Freitag", "Petra Lindqvist"),
    ("I'm running the Falcon rollout next quarter", "Falcon"),
    ("je dirige le projet Ibis depuis mars", "Ibis"),
])
def test_a_payee_or_a_project_is_named(sentence, name):
    statement = facts.Statement(None, 0, sentence, tx.factual_clauses(sentence), None, None)
    assert name in [n for n, _ in facts._mentions(statement, {}, set(), lambda n: False)]


def test_a_doctors_practice_is_where_the_doctor_works_not_a_second_doctor(engine):
    say(engine, ("Our vet is Dr Moreau at Hillside Clinic.", "2026-01-05T09:00:00"))
    say(engine, ("Saw Dr Moreau (our vet, Hillside Clinic) about the cat's teeth.", "2026-02-05T09:00:00"))
    about = [t for t in texts(engine, "semantic") + texts(engine, "core") if "Moreau" in t]
    assert len(about) == 1 and about[0].startswith("Dr Moreau")


# -- screens -------------------------------------------------------------------------------------------------------


def test_a_bare_date_line_on_a_screen_takes_its_title_from_the_lines_above():
    calendar = screen(1, "Day Week Month\n10:0O Dentist - Dr Sousa\nRua Augusta, Lisboa\nTue 12 May 2026 10:00 - 10:30\n"
                         "16:00 Budget sync w/ Aiko\nWed 13 May 2026 16:00 - 16:30", "evolution", "Calendar - Evolution")
    mail = screen(2, "From SNCF <noreply@sncf.example>\nTrain TGV 6611  Paris → Marseille\nSam. 16 mai 2026  Dép 07:12",
                  "thunderbird", "Votre réservation - Inbox - Mozilla Thunderbird")
    found = {c.fields["summary"]: day_of(c.fields["occurred_at"]) for c in events.screen_events([calendar, mail])}
    assert found["On evolution: Dentist - Dr Sousa, Rua Augusta, Lisboa — Tue 12 May 2026 10:00 - 10:30"] == date(2026, 5, 12)
    assert found["On evolution: Budget sync w/ Aiko — Wed 13 May 2026 16:00 - 16:30"] == date(2026, 5, 13)
    assert any("Marseille" in s and d == date(2026, 5, 16) for s, d in found.items())


def test_a_chat_screen_line_that_says_from_next_week_is_an_event():
    chat = screen(1, "Noor Haddad  09:12\nreminder: the release freeze starts on Thursdays from next week\nack",
                  "slack", "releases (Channel) - Acme - Slack")
    [event] = events.screen_events([chat])
    assert "release freeze" in event.fields["summary"]
    assert screen_events_of_buttons() == []


def screen_events_of_buttons():
    return events.screen_events([screen(1, "Today  Next week\nInbox", "thunderbird", "Inbox - Mozilla Thunderbird")])


def test_a_mail_on_screen_is_a_resource_named_by_its_subject():
    mail = screen(1, "From: Payroll\nYour new payslip is ready.", "thunderbird",
                  "Payslip for April - Posteingang - Mozilla Thunderbird")
    [found] = extractors.resources([mail])
    assert found.fields["title"] == "Payslip for April" and found.fields["resource_type"] == "e-mail"
    assert not extractors.resources([screen(2, "x", "thunderbird", "Calendar - Mozilla Thunderbird")])


# -- corrections and new values --------------------------------------------------------------------------------------


def test_a_correction_naming_only_the_new_day_moves_the_event_just_stated(engine):
    say(engine, ("Jonas's piano recital is Friday 15 May at 5pm", "2026-05-04T08:00:00"),
        ("oops I got that wrong, it's Saturday 16 May.", "2026-05-04T08:03:00"))
    [event] = [m for m in dated(engine) if "recital" in m.fields["summary"]]
    assert day_of(event.fields["occurred_at"]) == date(2026, 5, 16)
    assert "Friday" not in event.fields["summary"]
    assert not [m for m in dated(engine) if day_of(m.fields["occurred_at"]) == date(2026, 5, 15)]


def test_a_correction_naming_only_a_day_leaves_older_chats_alone(engine):
    say(engine, ("The book club meets on Tuesday 5 May.", "2026-05-01T08:00:00"), conversation="a")
    say(engine, ("sorry I got that wrong, it's Thursday 7 May.", "2026-05-01T08:03:00"), conversation="b")
    [club] = [m for m in dated(engine) if "book club" in m.fields["summary"]]
    assert day_of(club.fields["occurred_at"]) == date(2026, 5, 5)


def test_a_new_address_replaces_the_old_one_in_the_vault_and_core(engine):
    say(engine, ("for the insurance: my address is 8 Mill Road, Leeds LS6 2AB", "2026-01-05T09:00:00"), shield=True)
    say(engine, ("we moved! new address is 41 Quay Street, Cork T12 X5", "2026-04-05T09:00:00"), shield=True)
    addresses = [m for m in engine.memories.list("knowledge_vault") if m.fields["entry_type"] == "address"]
    assert [m.fields["secret_value"] for m in addresses] == ["41 Quay Street, Cork"] or \
        [("Quay" in m.fields["secret_value"]) for m in addresses] == [True]
    archived = [m for m in engine.memories.list("knowledge_vault", include_archived=True) if "Mill" in m.fields["secret_value"]]
    assert archived and engine.memories.history(archived[0].id)[-1]["reason"] == "replaced by a newer address"
    assert "Cork" in engine.memories.find_core("home").fields["value"]


def test_a_new_number_replaces_the_users_own_but_not_someone_elses(engine):
    say(engine, ("my mobile is 07700 900 123, and Plumber Giorgos: +30 694 123 4567", "2026-01-05T09:00:00"), shield=True)
    say(engine, ("got a new phone number: 07911 123 456", "2026-03-05T09:00:00"), shield=True)
    phones = {m.fields["secret_value"] for m in engine.memories.list("knowledge_vault") if m.fields["entry_type"] == "phone"}
    assert phones == {"07911 123 456", "+30 694 123 4567"}


@pytest.mark.parametrize("before, after, old, new", [
    ("always book me a window seat when we do flights", "changed my mind on seats — aisle from now on, my knees hurt",
     "window", "aisle"),
    ("Ich nehme im Zug immer den Fensterplatz.", "Ab sofort lieber den Gangplatz im Zug, wegen der Beine.",
     "Fensterplatz", "Gangplatz"),
    ("Je prends toujours du lait dans mon café.", "Désormais je bois mon café noir, sans lait.", "lait dans", "noir"),
])
def test_a_choice_said_for_from_now_on_replaces_the_older_preference(engine, before, after, old, new):
    say(engine, (before, "2026-01-05T09:00:00"))
    say(engine, (after, "2026-03-01T08:15:00"))
    value = engine.memories.find_core("preferences").fields["value"]
    assert new in value and old not in value, value
