"""Changes stated later, as people say them: a new job after leaving the old one, a new home by its address, a
child's new school, an event moved to another day, an event that is one (not a preference), a club and where it
meets.  Rules only: the current fact is active, the older one is replaced or says it ended."""

from __future__ import annotations

from datetime import date

import pytest

from core.absorb.dates import day_of


def say(engine, *messages, role="user", conversation="c"):
    for text, ts in messages:
        engine.observations.add("chat", text, ts=ts, role=role, conversation=conversation)
    return engine.make_absorber(use_llm=False).absorb_backlog().to_dict()


def core(engine, label):
    memory = engine.memories.find_core(label)
    return memory.fields["value"] if memory else ""


def events(engine):
    return [m for m in engine.memories.list("episodic", limit=100) if m.fields["event_type"] != "conversation"]


@pytest.mark.parametrize("before, after, new, old", [
    ("I'm a paralegal at Clifford Chance.", "I handed in my notice at Clifford Chance. I've switched to Linklaters, same job.",
     "Linklaters", "paralegal at Clifford Chance"),
    ("Je travaille chez Renault comme ingénieure.", "J'ai quitté Renault. Je suis passée chez Stellantis, même poste.",
     "Stellantis", "chez Renault comme"),
    ("Ich arbeite bei Siemens als Elektriker.", "Ich habe bei Siemens gekündigt und bin jetzt bei Bosch, gleiche Stelle.",
     "Bosch", "bei Siemens als"),
    ("Trabajo en Telefónica como analista.", "Dejé Telefónica. Me cambié a Iberdrola, mismo puesto.",
     "Iberdrola", "en Telefónica como"),
])
def test_a_new_employer_after_leaving_the_old_one_replaces_it(engine, before, after, new, old):
    say(engine, (before, "2026-01-10T09:00:00"))
    say(engine, (after, "2026-05-10T09:00:00"), conversation="c2")
    work = core(engine, "work")
    assert new in work and old not in work


@pytest.mark.parametrize("before, after, town, old", [
    ("I live in Ghent.", "New address since June: Kastanjelaan 14, 2000 Antwerpen. We left Ghent.", "Antwerpen", "live in Ghent"),
    ("Ich wohne in Kassel.", "Neue Anschrift ab Mai: Gartenweg 3, 79098 Freiburg.", "Freiburg", "wohne in Kassel"),
    ("J'habite à Nantes.", "Nouvelle adresse depuis juin : 5 rue Victor Hugo, 33000 Bordeaux.", "Bordeaux", "habite à Nantes"),
])
def test_a_new_address_gives_the_new_town_and_ends_the_old_home(engine, before, after, town, old):
    say(engine, (before, "2026-01-10T09:00:00"))
    say(engine, (after, "2026-06-10T09:00:00"), conversation="c2")
    home = core(engine, "home")
    assert town in home and old not in home
    street = after.split(": ")[1].split(",")[0]
    block = engine.memories.find_core("home")
    assert not [h for h in engine.memories.history(block.id) if street in str(h)]  # the street is only the vault's


@pytest.mark.parametrize("before, after, name, new, old", [
    ("My son Tomás goes to Oakfield Primary.", "Tomás switched schools, he's at Hillcrest Academy now, not Oakfield.",
     "Tomás", "Hillcrest", "goes to Oakfield"),
    ("My son Matteo plays for the Rovers.", "Matteo changed clubs: he now plays for Kingsway FC, not the Rovers anymore.",
     "Matteo", "Kingsway", "plays for the Rovers."),
    ("Meine Tochter Lotte geht in die Kita Sonnenschein.", "Lotte geht jetzt in die Kita Regenbogen, nicht mehr Sonnenschein.",
     "Lotte", "Regenbogen", "geht in die Kita Sonnenschein"),
])
def test_a_change_about_someone_else_replaces_their_old_line(engine, before, after, name, new, old):
    say(engine, (before, "2026-01-10T09:00:00"))
    say(engine, (after, "2026-04-10T09:00:00"), conversation="c2")
    details = engine.memories.find_semantic(name).fields["details"]
    assert new in details and old not in details.split(" (update ")[0]


def test_an_event_moved_to_another_day_moves_and_keeps_this_year(engine):
    say(engine, ("The board meeting is on 14 April in Leiden.", "2026-03-02T10:00:00"))
    say(engine, ("FYI the board meeting got moved to 21 April.", "2026-04-01T10:00:00"), conversation="c2")
    board = [e for e in events(engine) if "board meeting" in e.fields["summary"].lower()]
    assert [day_of(e.fields["occurred_at"]) for e in board] == [date(2026, 4, 21)]


@pytest.mark.parametrize("text, day", [
    ("I have my citizenship interview in two weeks, fingers crossed.", date(2026, 5, 25)),
    ("Ich habe in zehn Tagen meine Führerscheinprüfung.", date(2026, 5, 21)),
])
def test_an_event_in_a_count_of_weeks_is_an_event_not_a_preference(engine, text, day):
    say(engine, (text, "2026-05-11T19:00:00"))
    assert core(engine, "preferences") == ""
    assert [day_of(e.fields["occurred_at"]) for e in events(engine)] == [day]


@pytest.mark.parametrize("text, name, place", [
    ("Our choir is the Cantores Minores. It rehearses in the crypt of St Olav's church on Thursdays.",
     "Cantores Minores", "crypt"),
    ("Unser Lauftreff heißt Alsterläufer. Er trifft sich am Bootshaus an der Alster.", "Alsterläufer", "Bootshaus"),
])
def test_where_a_club_meets_belongs_to_the_club(engine, text, name, place):
    say(engine, (text, "2026-02-02T20:00:00"))
    memory = engine.memories.find_semantic(name)
    assert memory is not None and place in (memory.fields["details"] or "")


def test_a_conversation_that_cancels_says_so(engine):
    say(engine, ("drinks with priya on friday at the rooftop bar", "2026-03-02T12:00:00"))
    say(engine, ("drinks with priya are cancelled, shes away", "2026-03-05T17:00:00"), conversation="c2")
    [summary] = [m.fields["summary"] for m in engine.memories.list("episodic", limit=50)
                 if m.fields["event_type"] == "conversation" and "away" in m.fields["summary"]
                 and "(update " not in m.fields["summary"]]  # the first chat's summary notes the change too
    assert "cancelled" in summary


@pytest.mark.parametrize("guess, answer, town, wrong", [
    ("As a nurse in Cork, you could start with your rota.", "Not a nurse. I'm a pharmacist in Galway.", "Galway", "Cork"),
    ("Comme vous êtes professeur à Lille, commençons par les cours.", "Non, je suis infirmière à Rennes.", "Rennes", "Lille"),
])
def test_a_job_in_a_town_says_where_the_user_lives_and_the_assistants_guess_is_not_kept(engine, guess, answer, town, wrong):
    engine.observations.add("chat", "Can you help me plan my week?", ts="2026-03-09T07:00:00", role="user", conversation="w")
    engine.observations.add("chat", guess, ts="2026-03-09T07:00:10", role="assistant", conversation="w")
    say(engine, (answer, "2026-03-09T07:01:00"), conversation="w")
    assert town in core(engine, "home") and town in core(engine, "work")
    assert wrong not in " ".join(m.text for m in engine.memories.list("core", limit=20))


@pytest.mark.parametrize("first, moved, old_day, new_day", [
    ("Yoga retreat is on 9 May in Wales.", "Heads up: the retreat got pushed to 16 May.", date(2026, 5, 9), date(2026, 5, 16)),
    ("Das Sommerfest ist am 20. Juni im Garten.", "Achtung, das Sommerfest wurde auf den 27. Juni verschoben.",
     date(2026, 6, 20), date(2026, 6, 27)),
])
def test_an_event_moved_and_named_by_one_word_moves(engine, first, moved, old_day, new_day):
    say(engine, (first, "2026-04-02T10:00:00"))
    say(engine, (moved, "2026-04-20T10:00:00"), conversation="c2")
    assert [day_of(e.fields["occurred_at"]) for e in events(engine)] == [new_day]
