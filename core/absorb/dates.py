"""Dates written in text: absolute ("12 June 2026", "2026-06-12", "12. Juni", "12 de junio") and relative to a
message ("yesterday", "next Tuesday", "demain", "el viernes", "last Friday").

Both the dated-event extractor and the grounding check use ``find_dates`` so
that a date a memory carries is grounded exactly when the source text yields
it.  Dates are calendar days in local time; a memory's time for a day is
local noon, so the day reads the same in any time zone within 11 hours.

A date without a year takes the year that puts it nearest to the message
(said in November, "15 January" is next January; said in January, "28
December" was last month); a sentence in the past tense looks back.  A weekday
("on Friday", "Sunday at 7") is the next such day, or the last one in a
sentence in the past tense; "next Tuesday" is the first Tuesday after the
message, "last Friday" the latest Friday before it.  Plural weekdays
("Saturdays", "los martes", "le mardi soir") repeat and name no day.  A date
after "not" ("not Saturday", "nicht Mittwoch", "not the 14th") is marked
``negated``: the event is not on it.  English, German, French, Spanish and
Portuguese are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_MONTH_NAMES = (
    ("january", "jan", "januar", "jänner", "janvier", "janv", "enero", "ene", "janeiro"),
    ("february", "feb", "februar", "février", "fevrier", "févr", "febrero", "fevereiro", "fev"),
    ("march", "mar", "märz", "maerz", "mars", "marzo", "março", "marco"),
    ("april", "apr", "avril", "avr", "abril", "abr"),
    ("may", "mai", "mayo", "maio"),
    ("june", "jun", "juni", "juin", "junio", "junho"),
    ("july", "jul", "juli", "juillet", "juil", "julio", "julho"),
    ("august", "aug", "août", "aout", "agosto"),
    ("september", "sep", "sept", "septembre", "septiembre", "setiembre", "setembro"),
    ("october", "oct", "oktober", "okt", "octobre", "octubre", "outubro"),
    ("november", "nov", "novembre", "noviembre", "novembro"),
    ("december", "dec", "dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic", "dezembro"),
)
MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names}
# Short forms that are also everyday words stand for a month only right beside a day number.
_MONTH = r"(?P<month>" + "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|º|ª|\.)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_OF = r"(?:\s+of|\s+de|\s+del)?"

_PATTERNS = [
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<mon>[01]\d)-(?P<day>[0-3]\d)\b"),
    re.compile(r"(?<![\d.])(?P<day>[0-3]?\d)\.(?P<mon>[01]?\d)\.(?P<year>(?:19|20)\d\d)\b"),
    re.compile(rf"\b{_DAY}{_OF}\s+{_MONTH}(?:,?{_OF}\s+{_YEAR})?\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
    # An airline's "18APR" (boarding passes, tickets): capitals only, so "3mar" in a word is no date.
    re.compile(r"\b(?P<day>[0-3]?\d)(?P<month>JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\b"),
]
# "from 3 to 10 May", "3–10 May", "du 3 au 10 mai", "vom 3. bis 10. Mai", "del 3 al 10 de mayo".
_RANGE = re.compile(
    rf"\b(?:from|between|du|vom|von|del|de|entre)?\s*(?P<first>[0-3]?\d)(?:st|nd|rd|th|er|\.)?\s*"
    rf"(?:-|–|—|to|till|until|and|au|bis|al|a|y|e|até)\s*{_DAY}{_OF}\s+{_MONTH}(?:,?\s+{_YEAR})?\b",
    re.IGNORECASE,
)
# "the 17th", "on the 15th": a day of a month named earlier in the text (or of the coming month).
_ORDINAL_DAY = re.compile(r"\b(?:on\s+)?the\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)\b(?!\s+of\b)", re.IGNORECASE)

_RELATIVE = {
    "today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
    "yesterday": -1, "last night": -1, "tomorrow": 1,
    "the day before yesterday": -2, "the day after tomorrow": 2,
    "last week": -7, "next week": 7,
    "last weekend": "last_weekend", "this weekend": "this_weekend", "next weekend": "next_weekend",
    "last month": -30, "next month": 30, "last year": -365,
    # German
    "heute": 0, "heute abend": 0, "heute morgen": 0, "morgen": 1, "übermorgen": 2, "gestern": -1, "vorgestern": -2,
    "nächste woche": 7, "nächsten woche": 7, "letzte woche": -7, "letzten woche": -7, "vergangene woche": -7,
    "nächsten monat": 30, "letzten monat": -30, "dieses wochenende": "this_weekend", "am wochenende": "this_weekend",
    "letztes wochenende": "last_weekend", "nächstes wochenende": "next_weekend",
    # French
    "aujourd'hui": 0, "aujourd’hui": 0, "ce soir": 0, "ce matin": 0, "demain": 1, "après-demain": 2, "hier": -1,
    "avant-hier": -2, "la semaine prochaine": 7, "la semaine dernière": -7, "le mois prochain": 30,
    "le mois dernier": -30, "ce week-end": "this_weekend", "le week-end dernier": "last_weekend",
    # Spanish
    "hoy": 0, "esta noche": 0, "mañana": 1, "pasado mañana": 2, "ayer": -1, "anteayer": -2, "antier": -2,
    "la semana que viene": 7, "la próxima semana": 7, "la semana pasada": -7, "el mes que viene": 30,
    "el próximo mes": 30, "el mes pasado": -30, "este fin de semana": "this_weekend",
    "el fin de semana pasado": "last_weekend",
    # Portuguese
    "hoje": 0, "hoje à noite": 0, "amanhã": 1, "depois de amanhã": 2, "ontem": -1, "anteontem": -2,
    "na próxima semana": 7, "na semana que vem": 7, "na semana passada": -7, "no mês que vem": 30,
    "no próximo mês": 30, "no mês passado": -30, "este fim de semana": "this_weekend",
    "no fim de semana passado": "last_weekend",
}
_RELATIVE_RE = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, _RELATIVE), key=len, reverse=True)) + r")(?![\w-])",
                          re.IGNORECASE)
# "in two weeks", "in 10 days", "in zwei Wochen", "dans trois jours", "en dos semanas", "daqui a duas semanas": a
# count of days or weeks from the message (a count of months or years names no day; in the past tense it says how
# long something took).
_COUNTS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
    "einem": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "zehn": 10,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "huit": 8, "dix": 10, "quinze": 15,
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "diez": 10,
    "quince": 15, "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "quatro": 4, "sete": 7, "oito": 8, "dez": 10,
}
_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "tag": 1, "tagen": 1, "woche": 7, "wochen": 7,
          "jour": 1, "jours": 1, "semaine": 7, "semaines": 7, "día": 1, "días": 1, "dia": 1, "dias": 1, "semana": 7,
          "semanas": 7}
_OFFSET_RE = re.compile(
    r"(?<![\w-])(?:in|in\s+about|in\s+just|dans|en|daqui\s+a|dentro\s+de|em)\s+(?P<count>\d{1,2}|"
    + "|".join(sorted(_COUNTS, key=len, reverse=True))
    + r")\s+(?P<unit>" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")(?![\w-])|"
    r"(?<![\w-])in\s+a\s+(?P<fortnight>fortnight)(?![\w-])",
    re.IGNORECASE,
)
_TOOK = re.compile(r"(?i)\b(?:took|lost|gained|did|finished|learn(?:ed|t)|built|made|ran|read|wrote|was|were|had|"
                   r"(?:i|we|he|she|they)\s+\w+ed|hab(?:e|en)\s+\w+\s+ge\w+t|j['’]ai\s+\w+é|fue|hice|fiz)\b")
# "morgen" and "mañana" are also "morning": "am Morgen", "jeden Morgen", "por la mañana", "esta mañana".
_MORNING_BEFORE = re.compile(r"(?i)(?:\b(?:am|jeden|guten|den|der|diesen|heute|la|las|esta|cada|por\s+la|de|una)\s+)$")

_WEEKDAY_NAMES = (
    ("monday", "mon", "montag", "lundi", "lunes", "segunda-feira", "segunda"),
    ("tuesday", "tue", "tues", "dienstag", "mardi", "martes", "terça-feira", "terca-feira", "terça", "terca"),
    ("wednesday", "wed", "mittwoch", "mercredi", "miércoles", "miercoles", "quarta-feira", "quarta"),
    ("thursday", "thu", "thur", "thurs", "donnerstag", "jeudi", "jueves", "quinta-feira", "quinta"),
    ("friday", "fri", "freitag", "vendredi", "viernes", "sexta-feira", "sexta"),
    ("saturday", "sat", "samstag", "sonnabend", "samedi", "sábado", "sabado"),
    ("sunday", "sun", "sonntag", "dimanche", "domingo"),
)
WEEKDAYS = {name: number for number, names in enumerate(_WEEKDAY_NAMES) for name in names}
# Short forms ("mon", "sat", "segunda") are everyday words too: they count only with a marker or beside a time.
_SHORT_WEEKDAYS = frozenset({"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "segunda",
                             "quarta", "quinta", "sexta"})
_WEEKDAY = r"(?P<weekday>" + "|".join(sorted(map(re.escape, WEEKDAYS), key=len, reverse=True)) + r")"
_NEXT_BEFORE = r"(?:next|this\s+coming|coming|nächsten|nächster|kommenden|el\s+próximo|la\s+próxima|na\s+próxima|no\s+próximo|próxim[oa])"
_LAST_BEFORE = r"(?:last|this\s+past|past|letzten|letzter|vergangenen|el\s+pasado|na\s+última|no\s+último|el\s+último)"
_NEXT_AFTER = r"(?:prochain|prochaine|que\s+viene|que\s+vem|próximo|próxima)"
_LAST_AFTER = r"(?:dernier|dernière|pasado|pasada|passado|passada)"
_WEEKDAY_RE = re.compile(
    rf"(?<![\w-])(?:(?P<before>{_NEXT_BEFORE}|{_LAST_BEFORE}|this|diesen|dieser|ce|este|esta|nesta|neste)\s+)?{_WEEKDAY}"
    rf"(?![\w-])(?:\s+(?P<after>{_NEXT_AFTER}|{_LAST_AFTER})\b)?",
    re.IGNORECASE,
)
# Habits, not a day: "le mardi soir", "los martes", "às terças", "on Mondays" (the plural is not matched at all).
_HABIT_BEFORE = re.compile(r"(?i)(?:\b(?:le|les|los|las|às|as|todos\s+los|todas\s+las|every|each|jeden|jede[nm]?|chaque|cada)\s+)$")
_ARTICLE_BEFORE = re.compile(r"(?i)(?:\b(?:the|a|an|der|die|das|den)\s+)$")  # "el viernes" is a day; "the Thursday class" no
# Portuguese "no"/"na" is "on the" ("No sábado passado fomos ..."): a bare "no" before a day negates only in
# English ("no Saturday"); Spanish says "no el sábado".
_NEGATION_BEFORE = re.compile(
    r"(?i)(?:\b(?:(?:not|nicht|pas|non|não|nie|never)\s+(?:on\s+|the\s+|am\s+|le\s+|el\s+|o\s+|a\s+|à\s+|às\s+|at\s+|no\s+|na\s+)?|"
    r"no\s+(?:on\s+|the\s+|el\s+|at\s+)))$"
)
_PAST = re.compile(
    r"(?i)\b(?:was|were|had|did|went|got|came|met|saw|took|made|gave|ran|flew|drove|left|bought|sold|spent|"
    r"(?:i|we|he|she|they|you)\s+(?:\w+ly\s+)?\w+ed|war|waren|hatte|hatten|habe\s+\w+|haben\s+\w+|bin\s+ge\w+|"
    r"sind\s+ge\w+|j['’]ai|nous\s+avons|on\s+a|était|fui|fue|fuimos|estuve|tuve|hice|hicimos|fomos|tive|estive|fiz)\b"
)


_FUTURE = re.compile(
    r"(?i)\b(?:will|shall|going\s+to|gonna|due|next|upcoming|plan(?:ned|ning)?|book(?:ed)?\s+for|"
    r"(?:i['’]m|we['’]re|i\s+am|we\s+are|is|are)\s+\w+ing|\w+['’]ll|werde|werden|wird|vais|va|allons|voy|vamos|vou|vai|"
    r"vamos|irá|iremos)\b"
)
RECENT_DAYS = 90


def _tense(clause: str) -> str | None:
    if _PAST.search(clause):
        return "past"
    if _FUTURE.search(clause):
        return "future"
    return None


@dataclass(frozen=True)
class FoundDate:
    day: date
    start: int
    end: int
    relative: bool
    until: date | None = None  # the last day of a range ("from 3 to 10 May")
    negated: bool = False  # "not Saturday": the text says it is not this day


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


def _clause_around(text: str, start: int, end: int) -> str:
    """The clause holding ``text[start:end]``: tense is read there ("we signed ..., moving in on 1 July")."""
    marks = ".!?\n,;–—"
    left = max(text.rfind(mark, 0, start) for mark in marks)
    stops = [i for i in (text.find(mark, end) for mark in marks) if i >= 0]
    return text[left + 1 : min(stops) if stops else len(text)]


def _year_for(month: int, day: int, reference: date, tense: str | None) -> date | None:
    """The year a month and day without one most likely mean, said on ``reference``.

    In a past-tense clause the latest such day up to the message; in a future one
    the next; otherwise a day up to ``RECENT_DAYS`` back stays in the past and any
    other is the next one (people plan more than they look back).
    """
    options = []
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            options.append(date(year, month, day))
        except ValueError:
            continue
    if not options:
        return None
    before = [d for d in options if d <= reference]
    after = [d for d in options if d >= reference]
    if tense == "past" and before:
        return max(before)
    if tense != "future" and before and (reference - max(before)).days <= RECENT_DAYS:
        return max(before)
    return min(after) if after else max(before)


# The day an event was moved to is ahead, whatever the tense of the move ("the offsite got moved to 29 April",
# "wurde auf den 3. Mai verschoben", "reporté au 12 juin", "aplazada al 5 de mayo", "adiado para 9 de junho").
MOVED_TO = re.compile(
    r"(?i)\b(?:moved|pushed(?:\s+back)?|postponed|rescheduled|shifted|delayed|changed|bumped|brought\s+forward|"
    r"reporté|reportée|décalé|décalée|déplacé|déplacée|aplazad[oa]|pospuest[oa]|movid[oa]|cambiad[oa]|trasladad[oa]|"
    r"adiad[oa]|remarcad[oa]|passou|mudou)\s+(?:(?:it|this|that|them)\s+)?(?:back\s+|forward\s+|again\s+)?(?:to|until|till|for|au|à|a|al|para|pra|"
    r"pro)(?:\s+(?:the|le|la|el|o|a))?\s*$|\bauf\s+(?:den\s+|nächsten\s+)?$"
)
_MOVE_VERB_DE = re.compile(r"(?i)\b(?:verschoben|verlegt|verschieben|verlegen)\b")


def moved_to(text: str, start: int, end: int) -> bool:
    """Whether the date at ``text[start:end]`` is the day something was moved to."""
    before = text[max(0, start - 40) : start]
    found = MOVED_TO.search(before)
    if found and found.group().lower().startswith("auf"):
        return bool(_MOVE_VERB_DE.search(_clause_around(text, start, end)))
    return bool(found)


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def find_dates(text: str, reference_ts: float | None = None) -> list[FoundDate]:
    """Every date in ``text``; dates without a year, weekdays and relative words need ``reference_ts``."""
    reference = day_of(reference_ts) if reference_ts is not None else None
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []

    def negated(start: int) -> bool:
        return bool(_NEGATION_BEFORE.search(text[max(0, start - 16) : start]))

    def add(day: date, start: int, end: int, relative: bool, until: date | None = None) -> None:
        taken.append((start, end))
        found.append(FoundDate(day, start, end, relative, until, negated(start)))

    def resolve(groups: dict, start: int, end: int) -> date | None:
        month = int(groups["mon"]) if groups.get("mon") else MONTHS.get((groups.get("month") or "").lower().rstrip("."))
        if not month:
            return None
        day_number = int(groups["day"])
        if groups.get("year"):
            try:
                return date(int(groups["year"]), month, day_number)
            except ValueError:
                return None
        if reference is None:
            return None
        tense = "future" if moved_to(text, start, end) else _tense(_clause_around(text, start, end))
        return _year_for(month, day_number, reference, tense)

    for match in _RANGE.finditer(text):
        groups = match.groupdict()
        last = resolve(groups, match.start(), match.end())
        if last is None or not 1 <= int(groups["first"]) < last.day:
            continue
        start = match.start("first")
        add(last.replace(day=int(groups["first"])), start, match.end(), False, last)
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if _overlaps(taken, match.start(), match.end()):
                continue
            day = resolve(match.groupdict(), match.start(), match.end())
            if day is not None:
                add(day, match.start(), match.end(), False)
    if reference is None:
        found.sort(key=lambda f: f.start)
        return found
    for match in _ORDINAL_DAY.finditer(text):
        if _overlaps(taken, match.start(), match.end()):
            continue
        earlier = [f for f in found if f.start < match.start() and not f.relative]
        base = max(earlier, key=lambda f: f.start).day if earlier else reference
        try:
            day = base.replace(day=int(match.group("day")))
        except ValueError:
            continue
        if not earlier and day < reference:
            month = base.month % 12 + 1
            try:
                day = date(base.year + (base.month == 12), month, day.day)
            except ValueError:
                continue
        add(day, match.start("day") - (4 if text[match.start("day") - 4 : match.start("day")].lower() == "the " else 0),
            match.end(), not earlier)  # "back on the 14th" after "9 May" is as written as the date before it
    for match in _RELATIVE_RE.finditer(text):
        if _overlaps(taken, match.start(), match.end()):
            continue
        word = match.group(1).lower()
        if word in ("morgen", "mañana") and _MORNING_BEFORE.search(text[max(0, match.start() - 12) : match.start()]):
            continue
        offset = _RELATIVE[word]
        day = _weekend(reference, offset) if isinstance(offset, str) else reference + timedelta(days=offset)
        add(day, match.start(), match.end(), True)
    for match in _OFFSET_RE.finditer(text):
        if _overlaps(taken, match.start(), match.end()):
            continue
        if _TOOK.search(_clause_around(text, match.start(), match.end())):
            continue  # "I lost 3 kg in two weeks": how long something took
        count = (match.group("count") or "").lower()
        days = 14 if match.group("fortnight") else \
            (int(count) if count.isdigit() else _COUNTS[count]) * _UNITS[match.group("unit").lower()]
        add(reference + timedelta(days=days), match.start(), match.end(), True)
    for match in _WEEKDAY_RE.finditer(text):
        if _overlaps(taken, match.start(), match.end()):
            continue
        # A weekday written beside a full date ("Thursday, 15 October 2026") belongs to that date.
        if any(abs(s - match.end()) <= 3 or abs(match.start() - e) <= 3 for s, e in taken):
            continue
        weekday = WEEKDAYS[match.group("weekday").lower()]
        marker = (match.group("before") or match.group("after") or "").lower()
        if not marker and (_HABIT_BEFORE.search(text[max(0, match.start() - 14) : match.start()]) or
                           _ARTICLE_BEFORE.search(text[max(0, match.start() - 6) : match.start()])):
            continue  # "le mardi soir" repeats; "the Thursday class" names a class
        if match.group("weekday").lower() in _SHORT_WEEKDAYS and not marker and not re.match(
                r"\s*,?\s*(?:\d{1,2}[:h.]\d\d|\d{1,2}\s*(?:am|pm|uhr|h)\b|at\s+\d)", text[match.end() : match.end() + 12], re.I):
            continue
        if re.fullmatch(rf"{_LAST_BEFORE}|{_LAST_AFTER}", marker, re.IGNORECASE):
            back = (reference.weekday() - weekday) % 7 or 7
            day = reference - timedelta(days=back)
        elif marker and re.fullmatch(rf"{_NEXT_BEFORE}|{_NEXT_AFTER}", marker, re.IGNORECASE):
            day = reference + timedelta(days=(weekday - reference.weekday()) % 7 or 7)
        elif _PAST.search(_clause_around(text, match.start(), match.end())) and not moved_to(text, match.start(), match.end()):
            day = reference - timedelta(days=(reference.weekday() - weekday) % 7)
        else:
            day = reference + timedelta(days=(weekday - reference.weekday()) % 7)
        add(day, match.start(), match.end(), True)
    found.sort(key=lambda f: f.start)
    return found


_VAGUE = re.compile(r"(?i)\b(?:week|month|year|woche|monat|jahr|semaine|mois|an|année|semana|mes|año|mês|ano)\b")


def event_dates(text: str, reference_ts: float | None) -> list[FoundDate]:
    """The days an event in ``text`` happens on: dates not negated, written dates before relative words when a
    sentence has both ("I got that wrong yesterday, it is on 4 March" happens on 4 March); "last week" or "next
    month" name no day."""
    dates = [d for d in find_dates(text, reference_ts) if not d.negated and not (
        d.relative and _VAGUE.search(text[d.start:d.end]) and not _OFFSET_RE.fullmatch(text[d.start:d.end]))]
    absolute = [d for d in dates if not d.relative]
    return absolute or dates


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
