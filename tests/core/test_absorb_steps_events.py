"""Procedures, events, conversation summaries and lookup values, by rule."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.absorb import events, lookups, steps
from core.absorb.dates import day_of
from core.store.observations import Observation

T = "2026-05-02T10:00:00"


def obs(id, text, *, kind="chat", role="user", ts=T, app=None, title=None, speaker=None):
    return Observation(id=id, kind=kind, ts=datetime.fromisoformat(ts).timestamp(), text=text, role=role if kind == "chat"
                       else None, app=app, window_title=title, url=None, conversation="c" if kind == "chat" else None,
                       meta={"speaker": speaker} if speaker else {})


@pytest.mark.parametrize("text, title, expected", [
    ("To bleed the radiator: turn off the heating, open the valve with the key, close it when water comes out.",
     "To bleed the radiator", ["turn off the heating", "open the valve with the key", "close it when water comes out"]),
    ("First soak the beans overnight, then boil them for an hour, and finally season with salt.",
     "Steps: soak the beans overnight", ["soak the beans overnight", "boil them for an hour", "season with salt"]),
    ("Zuerst den Stecker ziehen, dann den Filter abnehmen, danach ausspülen und zum Schluss wieder einsetzen.",
     "Steps: den Stecker ziehen", ["den Stecker ziehen", "den Filter abnehmen", "ausspülen", "wieder einsetzen"]),
    ("Pour rempoter : d'abord arroser, ensuite sortir la plante, puis changer le terreau.",
     "Pour rempoter", ["arroser", "sortir la plante", "changer le terreau"]),
    ("Para hacer la masa: primero mezclar harina y agua, luego amasar diez minutos y por último dejar reposar.",
     "Para hacer la masa", ["mezclar harina y agua", "amasar diez minutos", "dejar reposar"]),
    ("My morning routine:\n1. stretch for 5 minutes\n2. cold shower\n3. oats with berries",
     "My morning routine", ["stretch for 5 minutes", "cold shower", "oats with berries"]),
])
def test_step_sequences_in_the_users_words(text, title, expected):
    found = steps.chat_procedures([obs(1, text)])
    assert [(c.fields["summary"], c.fields["steps"]) for c in found] == [(title, expected)]


def test_steps_with_commas_inside_stay_whole_when_sequence_words_cut_them():
    found = steps.chat_procedures([obs(1, "To apply: first fill in the form, then bring your ID, a photo and the fee, "
                                          "and finally wait for the letter.")])
    assert found[0].fields["steps"] == ["fill in the form", "bring your ID, a photo and the fee", "wait for the letter"]


def test_no_procedure_from_the_assistant_or_a_plain_list_of_things():
    assert steps.chat_procedures([obs(1, "First warm up, then stretch, finally run.", role="assistant")]) == []
    assert steps.chat_procedures([obs(1, "I bought apples, pears and plums.")]) == []


def test_commands_on_a_terminal_screen_are_a_procedure_per_directory():
    text = ("ana@box:~/site$ hugo --minify\nTotal in 412 ms\nana@box:~/site$ ls\npublic  content\n"
            "ana@box:~/site$ rsync -az public/ web:/srv/site/\nana@box:~/site$ export TOKEN=••••••••\nana@box:~/site$ _")
    found = steps.terminal_procedures([obs(1, text, kind="screen", app="gnome-terminal", title="ana@box: ~/site")])
    assert [(c.fields["summary"], c.fields["steps"]) for c in found] == [
        ("Commands run in ~/site", ["hugo --minify", "rsync -az public/ web:/srv/site/"])]  # no ls, no masked secret


def test_dated_events_happen_on_their_own_day_with_their_context():
    items = [obs(1, "Project Orion is our satellite app. Launch is on 9 June."),
             obs(2, "Can you help me plan Ben's party? It's on Saturday.")]
    found = {c.fields["summary"]: day_of(c.fields["occurred_at"]) for c in events.dated_events(items)}
    assert found == {"User: Project Orion: Launch is on 9 June.": date(2026, 6, 9),
                     "User: Can you help me plan Ben's party? It's on Saturday.": date(2026, 5, 2)}


def test_questions_and_wishes_are_no_events():
    assert events.dated_events([obs(1, "Is the gym open on Friday?"), obs(2, "Maybe I'll fly to Rome on 3 June.")]) == []


def test_calendar_and_mail_screens_give_events():
    calendar = obs(1, "Week  Month\nMonday, 7 September 2026\n08:30 - 09:00  Standup\n13:00  Lunch w/ Joao", kind="screen",
                   app="evolution", title="Calendar - Evolution")
    mail = obs(2, "From: Hal\nThe board meeting moved to 14 September, room 4.", kind="screen", app="thunderbird",
               title="Inbox - Mozilla Thunderbird")
    found = {c.fields["summary"]: datetime.fromtimestamp(c.fields["occurred_at"]) for c in events.screen_events([calendar, mail])}
    assert found["Standup, Mon 07 Sep 2026 08:30–09:00 (calendar)"] == datetime(2026, 9, 7, 8, 30)
    assert found["Lunch w/ Joao, Mon 07 Sep 2026 13:00 (calendar)"] == datetime(2026, 9, 7, 13, 0)
    assert day_of(next(ts.timestamp() for s, ts in found.items() if "board meeting" in s)) == date(2026, 9, 14)


def test_a_conversation_is_one_line_about_what_the_user_discussed():
    items = [obs(1, "I need to sort out my tax return before the deadline stresses me out completely."),
             obs(2, "Do you have your P60?", role="assistant"),
             obs(3, "Yes, and I earned about 2,000 from freelance translation.")]
    summary = events.conversation_summary(items)[0]
    text = summary.fields["summary"]
    assert text.startswith("User and Assistant talked about: ") and "tax return" in text and "freelance translation" in text
    assert "stresses me out completely" not in text and "P60" not in text and summary.fields["details"] is None
    assert summary.sources == [1, 2, 3]


def test_a_group_chat_summary_says_what_each_speaker_talked_about():
    items = [obs(1, "I joined a choir in Ghent last week, we sing Bach cantatas.", speaker="Els"),
             obs(2, "Nice! I started a pottery class near the harbour.", speaker="Mira")]
    text = events.conversation_summary(items)[0].fields["summary"]
    assert text.startswith("Els talked about ") and "; Mira talked about " in text and "pottery class" in text


@pytest.mark.parametrize("text, kind, value, label", [
    ("Plumber Kostas: +30 694 111 2233.", "phone", "+30 694 111 2233", "Plumber Kostas"),
    ("Emergency line: 0800 123 4567", "phone", "0800 123 4567", "Emergency line"),
    ("Das Büro von Frau Jung ist 030 1234 5678.", "phone", "030 1234 5678", "Das Büro von Frau Jung"),
    ("My new home address is 7 Rue du Bac, 75007 Paris.", "address", "7 Rue du Bac, 75007 Paris", "My new home address"),
    ("Send it to Kastanienallee 12, 10435 Berlin please.", "address", "Kastanienallee 12, 10435 Berlin", ""),
    ("I switched networks and got a number: +44 7911 123456", "phone", "+44 7911 123456", ""),
    ("Call the dentist on 020 7946 0321.", "phone", "020 7946 0321", "the dentist"),
    ("Mail me at kai@example.org", "email", "kai@example.org", ""),
    ("Calle Mayor 14, 28013 Madrid is the office.", "address", "Calle Mayor 14, 28013 Madrid", ""),
    ("My work e-mail is r.ito@example.org.", "email", "r.ito@example.org", "My work e-mail"),
])
def test_lookup_values_with_what_the_user_called_them(text, kind, value, label):
    found = [(l.kind, l.value, l.label) for l in lookups.find_lookups(text)]
    assert (kind, value, label) in found


@pytest.mark.parametrize("text", [
    "The meeting is on 2026-06-12 at 10:30, room 12.", "It costs 1200 5000 units.", "Version 10.4.2 came out.",
    "I walked 5 miles on Park Lane.",
])
def test_no_lookup_values_in_ordinary_numbers(text):
    assert [l for l in lookups.find_lookups(text) if l.kind in ("phone", "address")] == []


def test_two_ways_of_writing_one_address_share_a_key_and_labels_drop_my_and_new():
    assert lookups.address_key("Lindenweg 4, 04109 Leipzig") == lookups.address_key("Lindenweg 4 in Leipzig (04109)")
    assert lookups.caption("email", "My personal email") == lookups.caption("email", "New personal email")
