"""Time expressions in questions, turned into date ranges.

``parse_time(text, now)`` finds phrases such as "yesterday", "last week",
"in May 2023", "on 8 May", "two days ago", "last Friday", "last summer" or
"in 2022" and returns one ``TimeRange`` per phrase, each a half-open interval
``[start, end)`` of naive local datetimes relative to ``now``.  No LLM is
involved; the grammar is small on purpose and unknown phrases are ignored
rather than guessed.

Phrases relative to an event ("two days before the trip") cannot be resolved
here: they come back with ``anchor`` set to the event's words, ``offset`` set
to the signed distance, and a deliberately wide range (everything up to
``now``).  Retrieval may resolve the anchor with a search and call
``TimeRange.around`` on the anchor's time, or keep the wide range, which
filters nothing.

Years left out are the most recent past ones: asked in March 2024, "in May"
means May 2023.  Seasons are the northern meteorological ones (summer is June
to August; winter starts in December).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["TimeRange", "parse_time", "number_value"]

MONTHS = {
    name: index
    for index, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAYS = {name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))}
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month of each
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple of": 2, "a couple of": 2, "few": 3, "a few": 3,
    "several": 3,
}
UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14}

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_MONTH2 = _MONTH.replace("?P<month>", "?P<month2>")
_WEEKDAY = r"(?P<weekday>" + "|".join(WEEKDAYS) + r")"
_NUMBER = r"(?P<number>\d+|a couple of|couple of|a few|few|several|" + "|".join(
    w for w in NUMBER_WORDS if " " not in w and w not in ("few", "several")
) + r")"
_UNIT = r"(?P<unit>day|week|fortnight|month|year)s?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_DAY2 = _DAY.replace("?P<day>", "?P<day2>")
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_YEAR2 = _YEAR.replace("?P<year>", "?P<year2>")


@dataclass(frozen=True)
class TimeRange:
    """A half-open interval ``[start, end)`` named by ``expression`` in the text.

    ``start`` is None for "any time before ``end``".  ``anchor`` and ``offset``
    are set for phrases relative to an event; their range is the wide default.
    """

    start: datetime | None
    end: datetime
    expression: str
    anchor: str | None = None
    offset: timedelta | None = None
    approximate: bool = False

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and moment < self.end

    def widened(self, before: timedelta, after: timedelta) -> "TimeRange":
        """The same range with ``before`` added at the start and ``after`` at the end."""
        start = None if self.start is None else self.start - before
        return TimeRange(start, self.end + after, self.expression, self.anchor, self.offset, True)

    def around(self, anchor_time: datetime, slack: timedelta = timedelta(days=1)) -> "TimeRange":
        """Resolve an anchored range once the anchor event's time is known."""
        if self.offset is None:
            return self
        moment = anchor_time + self.offset
        day = datetime(moment.year, moment.month, moment.day)
        return TimeRange(day - slack, day + timedelta(days=1) + slack, self.expression, self.anchor, self.offset, True)

    def timestamps(self) -> tuple[float | None, float]:
        """``(start, end)`` as unix seconds in local time, as the store keeps ``ts``."""
        return (None if self.start is None else self.start.timestamp(), self.end.timestamp())


def number_value(word: str) -> int | None:
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _days(start: date, count: int) -> tuple[datetime, datetime]:
    first = _day_start(start)
    return first, first + timedelta(days=count)


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), month % 12 + 1, 1)
    return start, end


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _season_range(year: int, season: str) -> tuple[datetime, datetime]:
    first = SEASONS[season]
    start = datetime(year, first, 1)
    end_year, end_month = _add_months(year, first, 3)
    return start, datetime(end_year, end_month, 1)


def _season_containing(moment: date) -> tuple[str, int]:
    """The season name and the year its first month falls in."""
    month = moment.month
    if month in (12, 1, 2):
        return "winter", moment.year if month == 12 else moment.year - 1
    for name, first in (("spring", 3), ("summer", 6), ("autumn", 9)):
        if first <= month < first + 3:
            return name, moment.year
    raise AssertionError(month)


def _past_year_for(month: int, day: int | None, today: date) -> int:
    """The year that makes ``month``/``day`` the most recent one not after ``today``."""
    if (month, day or 1) <= (today.month, today.day):
        return today.year
    return today.year - 1


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# Each rule: (compiled pattern, handler(match, now) -> TimeRange fields or None).
_RULES: list[tuple[re.Pattern, object]] = []


def _rule(pattern: str):
    def register(handler):
        _RULES.append((re.compile(r"\b" + pattern + r"\b", re.IGNORECASE), handler))
        return handler

    return register


@_rule(r"(?P<n>" + _NUMBER[len("(?P<number>"):-1] + r")\s+" + _UNIT + r"\s+(?P<dir>before|after)\s+(?P<anchor>(?:the|my|our|his|her|their|\w+'s)\s+[\w\- ]+?)(?=[?.!,;]|$)")
def _relative_to_event(m, now):
    n = number_value(m.group("n"))
    if n is None:
        return None
    unit = m.group("unit").lower()
    days = n * UNIT_DAYS.get(unit, 30 if unit == "month" else 365)
    sign = -1 if m.group("dir").lower() == "before" else 1
    return dict(start=None, end=_day_start(now.date()) + timedelta(days=1), anchor=m.group("anchor").strip(),
                offset=timedelta(days=sign * days), approximate=True)


@_rule(r"(?P<which>the day before yesterday|the day after tomorrow|yesterday|today|tonight|tomorrow|this morning|this afternoon|this evening|last night)")
def _named_day(m, now):
    shift = {"the day before yesterday": -2, "yesterday": -1, "last night": -1, "tomorrow": 1, "the day after tomorrow": 2}
    start, end = _days(now.date() + timedelta(days=shift.get(m.group("which").lower(), 0)), 1)
    return dict(start=start, end=end)


@_rule(_NUMBER + r"\s+" + _UNIT + r"\s+ago")
def _ago(m, now):
    n = number_value(m.group("number"))
    if n is None:
        return None
    unit = m.group("unit").lower()
    today = now.date()
    if unit == "day":
        start, end = _days(today - timedelta(days=n), 1)
    elif unit in ("week", "fortnight"):
        centre = today - timedelta(days=n * UNIT_DAYS[unit])
        start, end = _days(centre - timedelta(days=3), 7)
    elif unit == "month":
        start, end = _month_range(*_add_months(today.year, today.month, -n))
    else:
        start, end = datetime(today.year - n, 1, 1), datetime(today.year - n + 1, 1, 1)
    return dict(start=start, end=end, approximate=unit != "day")


@_rule(r"(?:in\s+|during\s+|over\s+)?(?:the\s+)?(?:past|last)\s+" + _NUMBER + r"\s+" + _UNIT)
def _last_n(m, now):
    n = number_value(m.group("number"))
    if n is None:
        return None
    unit = m.group("unit").lower()
    days = n * UNIT_DAYS.get(unit, 30 if unit == "month" else 365)
    end = _day_start(now.date()) + timedelta(days=1)
    return dict(start=end - timedelta(days=days + 1), end=end)


@_rule(r"(?P<rel>last|this|next|previous|past)\s+(?P<span>week(?:end)?|month|year)")
def _relative_span(m, now):
    rel, span = m.group("rel").lower(), m.group("span").lower()
    step = {"last": -1, "previous": -1, "past": -1, "this": 0, "next": 1}[rel]
    today = now.date()
    if span == "week":
        start, end = _days(_week_start(today) + timedelta(weeks=step), 7)
    elif span == "weekend":
        saturday = _week_start(today) + timedelta(days=5) + timedelta(weeks=step)
        start, end = _days(saturday, 2)
    elif span == "month":
        start, end = _month_range(*_add_months(today.year, today.month, step))
    else:
        start, end = datetime(today.year + step, 1, 1), datetime(today.year + step + 1, 1, 1)
    return dict(start=start, end=end)


@_rule(r"(?P<rel>last|this|next|on)\s+" + _WEEKDAY)
def _weekday(m, now):
    rel, target = m.group("rel").lower(), WEEKDAYS[m.group("weekday").lower()]
    today = now.date()
    if rel == "next":
        delta = (target - today.weekday()) % 7 or 7
        return dict(zip(("start", "end"), _days(today + timedelta(days=delta), 1)))
    if rel == "this":
        return dict(zip(("start", "end"), _days(_week_start(today) + timedelta(days=target), 1)))
    back = (today.weekday() - target) % 7
    if rel == "last" and back == 0:
        back = 7
    return dict(zip(("start", "end"), _days(today - timedelta(days=back), 1)))


@_rule(r"(?P<rel>last|this|next|in|during)\s+(?:the\s+)?(?P<season>spring|summer|autumn|fall|winter)(?:\s+(?:of\s+)?" + _YEAR + r")?")
def _season(m, now):
    rel, season = m.group("rel").lower(), m.group("season").lower()
    season = "autumn" if season == "fall" else season
    if m.group("year"):
        year = int(m.group("year"))
        return dict(zip(("start", "end"), _season_range(year, season)))
    today = now.date()
    current, current_year = _season_containing(today)
    # The most recent start of this season on or before today.
    year = today.year if (today.month >= SEASONS[season]) else today.year - 1
    if season == "winter" and today.month in (1, 2):
        year = today.year - 1
    if rel == "last" and current == season and year == current_year:
        year -= 1
    elif rel == "next":
        year += 1
    return dict(zip(("start", "end"), _season_range(year, season)))


@_rule(r"(?:early|mid|late)?-?\s*" + _MONTH + r"\s+" + _DAY + r"(?:\s*(?:-|–|to|and)\s*" + _DAY2 + r")?(?:,?\s+" + _YEAR + r")?")
def _month_day(m, now):
    return _month_day_range(m, now)


@_rule(_DAY + r"(?:\s*(?:-|–|to)\s*" + _DAY2 + r")?\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+" + _YEAR + r")?")
def _day_month(m, now):
    return _month_day_range(m, now)


def _month_day_range(m, now):
    month, day = MONTHS[m.group("month").lower().rstrip(".")], int(m.group("day"))
    last_day = int(m.group("day2")) if m.group("day2") else day
    year = int(m.group("year")) if m.group("year") else _past_year_for(month, day, now.date())
    first, last = _safe_date(year, month, day), _safe_date(year, month, last_day)
    if first is None or last is None or last < first:
        return None
    return dict(start=_day_start(first), end=_day_start(last) + timedelta(days=1))


@_rule(r"(?P<part>early|mid|late|end of|beginning of|the end of|the beginning of)?\s*(?:in\s+|during\s+|of\s+)?" + _MONTH + r"(?:,?\s+(?:of\s+)?" + _YEAR + r")?")
def _month(m, now):
    word = m.group("month").lower().rstrip(".")
    if word == "may" and not m.group("year") and not m.group("part") and not re.match(r"(in|during|of)\s", m.group(0), re.I):
        return None  # "may" alone is the verb far more often than the month
    if word in ("mar", "jan", "jun", "sep", "dec", "oct", "nov", "aug", "apr", "feb", "jul", "sept") and not m.group("year"):
        return None  # abbreviations are dates only with a year ("Mar 2023")
    month = MONTHS[word]
    year = int(m.group("year")) if m.group("year") else _past_year_for(month, None, now.date())
    start, end = _month_range(year, month)
    part = (m.group("part") or "").lower().replace("the ", "")
    if part in ("early", "beginning of"):
        end = start + timedelta(days=10)
    elif part == "mid":
        start, end = start + timedelta(days=9), start + timedelta(days=20)
    elif part in ("late", "end of"):
        start = end - timedelta(days=11)
    return dict(start=start, end=end)


@_rule(r"(?P<prep>in|during|of|since|before|after|by)\s+" + _YEAR)
def _year(m, now):
    year = int(m.group("year"))
    return dict(start=datetime(year, 1, 1), end=datetime(year + 1, 1, 1))


@_rule(r"(?P<iy>(?:19|20)\d\d)-(?P<im>\d\d)-(?P<id>\d\d)")
def _iso_date(m, now):
    d = _safe_date(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
    return None if d is None else dict(zip(("start", "end"), _days(d, 1)))


@_rule(r"(?P<word>recently|lately|these days)")
def _recently(m, now):
    end = _day_start(now.date()) + timedelta(days=1)
    return dict(start=end - timedelta(days=31), end=end, approximate=True)


_OPEN_ENDED = re.compile(r"\b(?P<dir>since|after|before|until|by)\s*$", re.IGNORECASE)


def parse_time(text: str, now: datetime) -> list[TimeRange]:
    """Every time phrase in ``text`` as a range relative to ``now``, in reading order.

    Overlapping phrases are resolved by taking the longest match first.  A
    phrase preceded by "since"/"after" becomes open-ended up to ``now``; one
    preceded by "before"/"until" becomes open-ended into the past.
    """
    if now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    found: list[tuple[int, int, dict]] = []
    for pattern, handler in _RULES:
        for m in pattern.finditer(text):
            if not m.group(0).strip():
                continue
            fields = handler(m, now)
            if fields:
                lead_space = len(m.group(0)) - len(m.group(0).lstrip())
                found.append((m.start() + lead_space, m.end(), fields))
    found.sort(key=lambda item: (-(item[1] - item[0]), item[0]))
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[int, int, dict]] = []
    for start, end, fields in found:
        if any(start < t_end and end > t_start for t_start, t_end in taken):
            continue
        taken.append((start, end))
        chosen.append((start, end, fields))
    chosen.sort(key=lambda item: item[0])
    ranges = []
    today_end = _day_start(now.date()) + timedelta(days=1)
    for start, end, fields in chosen:
        expression = text[start:end].strip()
        lead = _OPEN_ENDED.search(text[:start])
        direction = lead.group("dir").lower() if lead else None
        if re.match(r"(since|after|before|by)\s", expression, re.IGNORECASE):
            direction = expression.split()[0].lower()
        fields = dict(fields)
        if direction in ("since", "after") and fields.get("anchor") is None:
            fields["start"] = fields["start"] if direction == "since" else fields["end"]
            fields["end"] = max(today_end, fields["start"] + timedelta(days=1))
        elif direction in ("before", "until", "by") and fields.get("anchor") is None:
            fields["end"] = fields["start"] if direction == "before" else fields["end"]
            fields["start"] = None
        ranges.append(TimeRange(expression=expression, **fields))
    return ranges
