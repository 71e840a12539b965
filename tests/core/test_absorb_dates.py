"""Dates relative to the message time, in five languages: the day an event happens, not the day it was said."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.absorb.dates import event_dates, find_dates

WEDNESDAY = datetime(2026, 3, 11, 10, 0).timestamp()  # Wednesday 11 March 2026


def days(text: str, ts: float = WEDNESDAY) -> list[date]:
    return [d.day for d in event_dates(text, ts)]


@pytest.mark.parametrize("text, expected", [
    ("Lunch with Mo next Monday.", date(2026, 3, 16)),
    ("Last Sunday we hiked the ridge.", date(2026, 3, 8)),
    ("The plumber comes on Friday at 9.", date(2026, 3, 13)),
    ("Demain je passe au garage.", date(2026, 3, 12)),
    ("Hier soir on a vu un film.", date(2026, 3, 10)),
    ("El jueves tengo examen.", date(2026, 3, 12)),
    ("Mañana voy al dentista.", date(2026, 3, 12)),
    ("Übermorgen kommt das Paket.", date(2026, 3, 13)),
    ("Am Samstag fahren wir nach Kiel.", date(2026, 3, 14)),
    ("Na próxima segunda-feira começo o curso.", date(2026, 3, 16)),
    ("Ontem fui ao cinema.", date(2026, 3, 10)),
    ("Mardi prochain, réunion à 10h.", date(2026, 3, 17)),
    ("The vet visit is on 2 April.", date(2026, 4, 2)),
    ("Am 5. Mai ist Elternsprechtag.", date(2026, 5, 5)),
    ("La boda es el 20 de junio.", date(2026, 6, 20)),
    ("O exame é a 7 de julho.", date(2026, 7, 7)),
])
def test_the_day_an_event_happens(text, expected):
    assert days(text) == [expected]


def test_a_date_without_a_year_is_the_next_one_unless_it_is_recent_or_said_in_the_past():
    november = datetime(2026, 11, 20).timestamp()
    assert days("The visa expires on 10 January.", november) == [date(2027, 1, 10)]
    assert days("On 15 November we painted the hall.", november) == [date(2026, 11, 15)]
    january = datetime(2026, 1, 4).timestamp()
    assert days("On 30 December we had a party.", january) == [date(2025, 12, 30)]
    assert days("Sara's wedding is on 12 September.", datetime(2026, 2, 1).timestamp()) == [date(2026, 9, 12)]


def test_ranges_keep_their_end():
    found = event_dates("We're in Crete from 4 to 11 August.", WEDNESDAY)[0]
    assert (found.day, found.until) == (date(2026, 8, 4), date(2026, 8, 11))


def test_negated_days_habits_and_vague_spans_name_no_event_day():
    assert days("It's on Thursday, not Tuesday.") == [date(2026, 3, 12)]
    assert [d.negated for d in find_dates("It's on Thursday, not Tuesday.", WEDNESDAY)] == [False, True]
    assert days("I swim on Mondays and every Thursday.") == []
    assert days("Je fais du yoga le mardi soir.") == []
    assert days("The Friday meeting is boring.") == []
    assert days("I read a lot last month.") == []
    assert days("Fix the bug, version 2.3.1, costs 14.50, room 12, at 10:30.") == []


def test_a_written_date_wins_over_a_relative_word_in_the_same_sentence():
    assert days("I got it wrong yesterday, the talk is on 2 April.") == [date(2026, 4, 2)]


def test_an_ordinal_day_takes_the_month_named_before_it():
    assert days("Flying out on 9 May, back on the 14th.") == [date(2026, 5, 9), date(2026, 5, 14)]


def test_morning_is_not_tomorrow():
    assert days("Ich laufe jeden Morgen.") == []
    assert days("Tomo café por la mañana.") == []


@pytest.mark.parametrize("text, expected", [
    ("My viva is in three weeks.", [date(2026, 4, 1)]),
    ("In zehn Tagen fliegen wir nach Porto.", [date(2026, 3, 21)]),
    ("L'audition est dans deux semaines.", [date(2026, 3, 25)]),
    ("La entrevista es en cinco días.", [date(2026, 3, 16)]),
    ("A consulta é daqui a uma semana.", [date(2026, 3, 18)]),
    ("We finished the roof in three days.", []),  # how long it took, not a day
])
def test_a_count_of_days_or_weeks_from_the_message(text, expected):
    assert days(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Na sexta-feira passada jantámos com a Rita.", date(2026, 3, 6)),  # Portuguese "na"/"no" is "on the"
    ("No domingo passado corri 10 km.", date(2026, 3, 8)),
])
def test_portuguese_on_the_is_not_a_negation(text, expected):
    assert days(text) == [expected]


@pytest.mark.parametrize("text, expected", [
    ("Ugh, the dentist got moved to 2 March.", date(2027, 3, 2)),  # moved to: ahead, though said in the past tense
    ("The launch was pushed back to 20 March.", date(2026, 3, 20)),
    ("They moved it to Monday.", date(2026, 3, 16)),
    ("Die Prüfung wurde auf den 20. März verschoben.", date(2026, 3, 20)),
    ("Le concert a été déplacé au 19 mars.", date(2026, 3, 19)),
])
def test_the_day_an_event_was_moved_to_is_ahead(text, expected):
    assert days(text) == [expected]
