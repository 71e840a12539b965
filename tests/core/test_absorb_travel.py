"""Flights read off a boarding pass on screen."""

from __future__ import annotations

from datetime import datetime

from core.absorb import extractors, travel
from core.store.observations import Observation


def screen(text, *, ts="2026-09-28T19:40:00", title="Boarding pass - Wallet", app="wallet"):
    return Observation(id=7, kind="screen", ts=datetime.fromisoformat(ts).timestamp(), text=text, role=None, app=app,
                       window_title=title, url=None, conversation=None, meta={})


PASS = ("IBERIA   BOARDING PASS / TARJETA DE EMBARQUE\n"
        "PASSENGER  LINDQVIST/MAJA MS\n"
        "FROM MADRID MAD   TO LISBOA LIS\n"
        "FLIGHT IB 3106   DATE 02OCT   BOARDING 14:10   GATE K84\n"
        "SEAT 7C   GROUP 2\n")


def test_a_boarding_pass_is_a_flight_on_its_own_day_with_route_seat_and_gate():
    [event] = travel.boarding_passes([screen(PASS)])
    summary = event.fields["summary"]
    assert summary.startswith("Flight IB 3106 MADRID MAD → LISBOA LIS, Fri 02 Oct 2026")
    assert "boarding 14:10" in summary and "gate K84" in summary and "seat 7C" in summary
    assert datetime.fromtimestamp(event.fields["occurred_at"]) == datetime(2026, 10, 2, 14, 10)
    assert event.sources == [7]


def test_a_date_without_a_year_is_the_next_such_day():
    [event] = travel.boarding_passes([screen(PASS.replace("02OCT", "03JAN"))])
    assert datetime.fromtimestamp(event.fields["occurred_at"]).date().isoformat() == "2027-01-03"


def test_a_pass_seen_just_after_the_flight_keeps_that_flights_year():
    [event] = travel.boarding_passes([screen(PASS.replace("02OCT", "25SEP"))])
    assert datetime.fromtimestamp(event.fields["occurred_at"]).date().isoformat() == "2026-09-25"


def test_screens_that_are_no_boarding_pass_or_lack_a_flight_or_date_give_nothing():
    assert travel.boarding_passes([screen("FLIGHT IB 3106 DATE 02OCT", title="Flight status - Firefox")]) == []
    assert travel.boarding_passes([screen(PASS.replace("DATE 02OCT", ""))]) == []
    assert travel.boarding_passes([screen(PASS.replace("DATE 02OCT", "DATE 31FEB"))]) == []


def test_the_rule_extractors_include_the_flight():
    found = extractors.extract([screen(PASS)], vault_from_screen=False)
    assert any(c.type == "episodic" and "IB 3106" in c.text for c in found)


def test_an_airline_date_in_capitals_is_a_date_and_a_lower_case_one_is_not():
    from core.absorb.dates import find_dates
    seen = datetime(2026, 3, 1, 9, 0).timestamp()
    assert [d.day.isoformat() for d in find_dates("DEP 14MAR 07:20", seen)] == ["2026-03-14"]
    assert find_dates("password abc14mar", seen) == []
