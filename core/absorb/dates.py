"""Dates written in text: absolute ("12 June 2026", "2026-06-12") and relative to a message ("yesterday").

Both the dated-event extractor and the grounding check use ``find_dates`` so
that a date a memory carries is grounded exactly when the source text yields
it.  Dates are calendar days in local time; a memory's time for a day is
local noon, so the day reads the same in any time zone within 11 hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHS = {
    name: number
    for number, names in enumerate(
        (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")),
        1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"

_PATTERNS = [
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<mon>[01]\d)-(?P<day>[0-3]\d)\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
]
_RELATIVE = {
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "this evening": 0,
    "yesterday": -1,
    "last night": -1,
    "tomorrow": 1,
    "the day before yesterday": -2,
    "the day after tomorrow": 2,
    "last week": -7,
    "next week": 7,
    "last weekend": "last_weekend",
    "this weekend": "this_weekend",
    "next weekend": "next_weekend",
    "last month": -30,
    "next month": 30,
    "last year": -365,
}
_RELATIVE_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _RELATIVE), key=len, reverse=True)) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class FoundDate:
    day: date
    start: int
    end: int
    relative: bool


def day_of(ts: float) -> date:
    return datetime.fromtimestamp(ts).date()


def noon_ts(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, 0).timestamp()


def _weekend(reference: date, which: str) -> date:
    saturday = reference + timedelta(days=(5 - reference.weekday()) % 7)
    if which == "last_weekend":
        return saturday - timedelta(days=7)
    if which == "next_weekend":
        return saturday + timedelta(days=7)
    return saturday


def find_dates(text: str, reference_ts: float | None = None) -> list[FoundDate]:
    """Every date in ``text``; month-day dates without a year and relative words use ``reference_ts``."""
    reference = day_of(reference_ts) if reference_ts is not None else None
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            groups = match.groupdict()
            month = int(groups["mon"]) if groups.get("mon") else MONTHS.get((groups.get("month") or "").lower().rstrip("."))
            year = int(groups["year"]) if groups.get("year") else (reference.year if reference else None)
            if not month or not year:
                continue
            try:
                day = date(year, month, int(groups["day"]))
            except ValueError:
                continue
            taken.append((match.start(), match.end()))
            found.append(FoundDate(day, match.start(), match.end(), False))
    if reference is not None:
        for match in _RELATIVE_RE.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            offset = _RELATIVE[match.group(1).lower()]
            day = _weekend(reference, offset) if isinstance(offset, str) else reference + timedelta(days=offset)
            found.append(FoundDate(day, match.start(), match.end(), True))
    found.sort(key=lambda f: f.start)
    return found


def parse_day(value: str) -> date | None:
    """A calendar day from an ISO date or a written date with a year; None if there is none."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    dates = [d for d in find_dates(value) if not d.relative]
    return dates[0].day if dates else None
