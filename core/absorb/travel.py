"""Flights read off a boarding pass on screen: an episodic memory on the flight's own day.

A boarding pass (a PDF, a wallet app, an airline's page) as OCR gives it is a
set of labelled fields in capitals: "FLIGHT KL 1772   DATE 18APR   BOARDING
06:35   GATE D7", "FROM AMSTERDAM AMS   TO BARCELONA BCN", "SEAT 23A".  A screen
whose text says it is a boarding pass (in English, German, French, Spanish,
Portuguese, Italian or Dutch) and holds a flight number and a date becomes one
event: the flight, its route, day, boarding time, gate and seat, each value as
the screen shows it.  A date without a year ("18APR") gets its year as any
other date does (``core.absorb.dates``): a recent day stays in the past, any
other is the next one.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Sequence

from core.absorb import text as tx
from core.absorb.candidates import MAX_SENTENCE_CHARS, Candidate
from core.absorb.dates import find_dates

_BOARDING_PASS = re.compile(
    r"(?i)\bboarding\s*pass\b|\bbordkarte\b|\bcarte\s+d['’]embarquement\b|\btarjeta\s+de\s+embarque\b|"
    r"\bcart[ãa]o\s+de\s+embarque\b|\bcarta\s+d['’]imbarco\b|\binstapkaart\b|\be-?boarding\b"
)
_FIELD_END = r"(?=\s{2,}|\s*$)"
_FLIGHT = re.compile(r"(?im)\b(?:flight|flug|vol|vuelo|voo|volo|vlucht)(?:\s*(?:no\.?|nr\.?|number|n[º°]))?\s*:?\s*"
                     r"(?P<code>(?-i:[A-Z]{2}|[A-Z]\d|\d[A-Z])\s?\d{1,4}(?-i:[A-Z])?)\b")
_DATE = re.compile(r"(?i)\b(?:date|datum|fecha|data)\s*:?\s*(?P<v>\d{1,2}\s?[A-Za-z]{3}\.?(?:\s?\d{4})?)")
_ROUTE = re.compile(r"(?m)\b(?:FROM|VON|DE|DESDE|DA|VAN)\s*:?\s+(?P<origin>[A-Z][\w .'’-]*?)\s+"
                    r"(?:TO|NACH|À|A|PARA|NAAR)\s*:?\s+(?P<destination>[A-Z][\w.'’-]*(?:\s[\w.'’-]+)*?)" + _FIELD_END)
_SEAT = re.compile(r"(?i)\b(?:seat|sitz(?:platz)?|si[èe]ge|place|asiento|lugar|posto|stoel)\s*:?\s*(?P<v>\d{1,2}[A-K])\b")
_GATE = re.compile(r"(?i)\b(?:gate|flugsteig|porte|puerta|port[ãa]o|uitgang)\s*:?\s*(?P<v>[A-Z]?\d{1,3}[A-Z]?)\b")
_BOARDING = re.compile(r"(?i)\b(?:boarding(?:\s+time)?|einstieg|embarquement|embarque|imbarco|instappen)\s*:?\s*"
                       r"(?P<v>[0-2]?\d[:.h][0-5]\d)\b")


def boarding_passes(observations: Sequence) -> list[Candidate]:
    """One episodic memory per flight on a boarding-pass screen (see the module docstring)."""
    out: list[Candidate] = []
    for obs in observations:
        text = obs.text or ""
        if obs.kind != "screen" or not _BOARDING_PASS.search(f"{text} {obs.window_title or ''}"):
            continue
        flight, when = _FLIGHT.search(text), _DATE.search(text)
        days = find_dates(when.group("v"), obs.ts) if when else []
        day = days[0].day if days else None
        if not flight or day is None:
            continue
        code = " ".join(flight.group("code").split())
        parts = [f"Flight {code}"]
        route = _ROUTE.search(text)
        if route:
            parts[0] += f" {' '.join(route.group('origin').split())} → {' '.join(route.group('destination').split())}"
        parts.append(day.strftime("%a %d %b %Y"))
        boarding = _BOARDING.search(text)
        hour, minute = 12, 0
        if boarding:
            parts.append(f"boarding {boarding.group('v')}")
            hour, minute = (int(x) for x in re.split(r"[:.h]", boarding.group("v")))
        for label, pattern in (("gate", _GATE), ("seat", _SEAT)):
            found = pattern.search(text)
            if found:
                parts.append(f"{label} {found.group('v')}")
        summary = (", ".join(parts) + f" (boarding pass on {obs.app or 'screen'})")[:MAX_SENTENCE_CHARS]
        try:
            at = datetime(day.year, day.month, day.day, hour, minute).timestamp()
        except ValueError:
            at = datetime(day.year, day.month, day.day, 12, 0).timestamp()
        out.append(Candidate(
            "episodic", {"occurred_at": at, "occurred_until": None, "actor": obs.app or "screen",
                         "event_type": "flight", "summary": summary, "details": None},
            [obs.id], key=("flight", code.replace(" ", "").lower(), day.isoformat()), text=summary,
            meta={"order": (obs.ts, obs.id, 0)},
        ))
    return out
