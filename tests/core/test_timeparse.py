"""The time-expression parser: a table of phrases and the ranges they mean."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.recall.timeparse import parse_time

NOW = datetime(2023, 7, 14, 15, 0)  # a Friday afternoon


def d(text: str) -> datetime:
    return datetime.fromisoformat(text)


# (phrase, start, end) with end exclusive; None start = open into the past.
TABLE = [
    ("yesterday", "2023-07-13", "2023-07-14"),
    ("today", "2023-07-14", "2023-07-15"),
    ("the day before yesterday", "2023-07-12", "2023-07-13"),
    ("last week", "2023-07-03", "2023-07-10"),
    ("this week", "2023-07-10", "2023-07-17"),
    ("last weekend", "2023-07-08", "2023-07-10"),
    ("this month", "2023-07-01", "2023-08-01"),
    ("last month", "2023-06-01", "2023-07-01"),
    ("last year", "2022-01-01", "2023-01-01"),
    ("in May 2023", "2023-05-01", "2023-06-01"),
    ("in June", "2023-06-01", "2023-07-01"),
    ("in August", "2022-08-01", "2022-09-01"),  # a month not reached yet this year is last year's
    ("May 8", "2023-05-08", "2023-05-09"),
    ("on 8 May 2023", "2023-05-08", "2023-05-09"),
    ("8th of May, 2021", "2021-05-08", "2021-05-09"),
    ("on May 8th, 2022", "2022-05-08", "2022-05-09"),
    ("Dec 24", "2022-12-24", "2022-12-25"),
    ("May 8-10", "2023-05-08", "2023-05-11"),
    ("2023-05-08", "2023-05-08", "2023-05-09"),
    ("two days ago", "2023-07-12", "2023-07-13"),
    ("3 days ago", "2023-07-11", "2023-07-12"),
    ("3 weeks ago", "2023-06-20", "2023-06-27"),
    ("a month ago", "2023-06-01", "2023-07-01"),
    ("two years ago", "2021-01-01", "2022-01-01"),
    ("last Friday", "2023-07-07", "2023-07-08"),
    ("last Monday", "2023-07-10", "2023-07-11"),
    ("on Wednesday", "2023-07-12", "2023-07-13"),
    ("last summer", "2022-06-01", "2022-09-01"),
    ("this summer", "2023-06-01", "2023-09-01"),
    ("last winter", "2022-12-01", "2023-03-01"),
    ("in the summer of 2021", "2021-06-01", "2021-09-01"),
    ("in 2022", "2022-01-01", "2023-01-01"),
    ("early May", "2023-05-01", "2023-05-11"),
    ("late June 2022", "2022-06-20", "2022-07-01"),
    ("the past 3 days", "2023-07-11", "2023-07-15"),
    ("since March", "2023-03-01", "2023-07-15"),
    ("after last week", "2023-07-10", "2023-07-15"),
    ("before June 2023", None, "2023-06-01"),
    ("until May 8", None, "2023-05-09"),
]


@pytest.mark.parametrize("phrase,start,end", TABLE)
def test_phrase_means_range(phrase, start, end):
    ranges = parse_time(phrase, NOW)
    assert len(ranges) == 1, ranges
    (r,) = ranges
    assert r.start == (d(start) if start else None)
    assert r.end == d(end)
    assert r.anchor is None


def test_phrases_inside_questions_are_found_in_order():
    ranges = parse_time("What did Melanie do in June, and what happened last Friday?", NOW)
    assert [r.expression for r in ranges] == ["in June", "last Friday"]
    assert ranges[0].start == d("2023-06-01") and ranges[1].start == d("2023-07-07")


def test_may_the_verb_is_not_a_month():
    assert parse_time("May I ask what you had for dinner?", NOW) == []
    assert parse_time("I may go hiking", NOW) == []


def test_no_time_phrase_gives_nothing():
    assert parse_time("Who is Caroline's mentor?", NOW) == []


@pytest.mark.parametrize(
    "phrase,anchor,days",
    [
        ("two days before the trip", "the trip", -2),
        ("a week after her birthday", "her birthday", 7),
        ("3 days before Caroline's talk", "Caroline's talk", -3),
    ],
)
def test_phrases_relative_to_an_event_keep_their_anchor(phrase, anchor, days):
    (r,) = parse_time(phrase, NOW)
    assert r.anchor == anchor
    assert r.offset == timedelta(days=days)
    # Unresolved, the range filters nothing up to now...
    assert r.start is None and r.end == d("2023-07-15")
    # ...and resolves once retrieval knows when the event was.
    resolved = r.around(datetime(2023, 6, 10, 9, 0), slack=timedelta(0))
    assert resolved.start == datetime(2023, 6, 10) + timedelta(days=days)
    assert resolved.end == resolved.start + timedelta(days=1)


def test_range_contains_and_widens():
    (r,) = parse_time("yesterday", NOW)
    assert r.contains(d("2023-07-13T23:59"))
    assert not r.contains(d("2023-07-14T00:00"))
    wide = r.widened(timedelta(days=1), timedelta(days=2))
    assert wide.start == d("2023-07-12") and wide.end == d("2023-07-16") and wide.approximate


def test_timezone_aware_now_is_treated_as_local_wall_time():
    from datetime import timezone

    (r,) = parse_time("yesterday", NOW.replace(tzinfo=timezone.utc))
    assert r.start == d("2023-07-13")
