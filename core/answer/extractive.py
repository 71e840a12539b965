"""The extractive answer: the sentences that answer, quoted, with who said them, when, and their citation.

    You wrote on 28 September 2026: "To deploy the blog: git pull, then make build, then rsync
    public/ to the server." [2]

Times are shown only when they are real: a message's day (never its minute, which says when it
was typed, not when the thing happens), an episode's day, and its time of day only when the
episode has one (a dated event stored for "some time that day" has none).  A question about the
vault ("do I have my gate code saved?") answered by a vault entry starts with "Yes", and the value
stays masked.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Callable

from core.secrets import SHORT_MASK
from core.answer.evidence import Unit
from core.answer.words import words
from core.answer.support import Support

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")


def format_day(ts: float) -> str:
    """``28 September 2026`` in local time."""
    moment = datetime.fromtimestamp(ts)
    return f"{moment.day} {MONTH_NAMES[moment.month - 1]} {moment.year}"


def format_moment(ts: float) -> str:
    moment = datetime.fromtimestamp(ts)
    return f"{format_day(ts)}, {moment:%H:%M}"


# A number, code or identifier: at least three digits, maybe grouped or with a short prefix ("PF-2281934").
_VALUE = re.compile(r"(?<![\w@.])(?:[A-Za-z]{1,4}[-#]?)?\d[\d \-./]*\d[\w-]*")


def without_values(text: str) -> str:
    """``text`` with its numbers and codes masked: asked whether something is saved, Engram does not show it."""
    return _VALUE.sub(lambda m: SHORT_MASK if sum(ch.isdigit() for ch in m.group()) >= 3 else m.group(), text)


def _quote(text: str) -> str:
    return "\u201c" + text.strip().strip("\"\u201c\u201d") + "\u201d"


# Words that ask which page, file or link: the answer says where it is.
LOCATION_WORDS = frozenset(words("""page pages webpage website site link links url article document documents file
    files pdf seite webseite dokument datei artikel lien fichier documento archivo enlace articulo pagina arquivo
    ficheiro ligacao"""))


def asks_where_it_is(question) -> bool:
    """Whether ``question`` asks which page, file or link ("Which page did I read about ...?")."""
    return question.kind in ("what", "where") and any(t in LOCATION_WORDS for t in question.terms)


def attribution(unit: Unit, *, latest: bool = False, location: bool = False) -> str:
    """Who said the unit and when, as the start of a sentence; with ``location``, a screen's page address too."""
    day = format_day(unit.said_at) if unit.said_at is not None else None
    prefix = "Most recently, " if latest else ""
    if unit.standing == "own":
        return f"{prefix}{'y' if latest else 'Y'}ou wrote" + (f" on {day}" if day else "")
    if unit.standing == "person":
        return f"{prefix}{unit.speaker or 'Someone'} wrote" + (f" on {day}" if day else "")
    if unit.standing == "screen":
        page = [_quote(unit.title)] if unit.title and not unit.heading else []
        if location and unit.url and unit.url not in unit.quote:
            page.append(unit.url)
        return (f"{prefix}{'o' if latest else 'O'}n your screen" + (f" in {unit.app}" if unit.app else "")
                + (f" ({', '.join(page)})" if page else "")
                + (f" on {day}" if day else ""))
    if unit.vault:
        return f"{prefix}{'i' if latest else 'I'}n your vault"
    if unit.event_at is not None and _day_is_stated(float(unit.event_at), unit):
        when = format_moment(float(unit.event_at)) if unit.exact_time else format_day(float(unit.event_at))
        return f"{prefix}{'f' if latest else 'F'}rom your memories ({when})"
    if unit.event_at is not None and unit.said_at is not None:
        # A day worked out from "tomorrow" or "next week" is the rules' reading, not words anyone wrote: the answer
        # says when it was noted, and the quote says when it happens.
        return f"{prefix}{'f' if latest else 'F'}rom your memories (noted on {format_day(unit.said_at)})"
    return f"{prefix}{'f' if latest else 'F'}rom your memories"


def _day_is_stated(event_at: float, unit: Unit) -> bool:
    """Whether an event's day is stated: by the user who wrote the memory, or as the day its source was written, or
    as a day of the month its words or sources name (a calendar's date line)."""
    if not unit.grounds:
        return True  # a memory the user wrote (no source text): its date is their own statement
    day = datetime.fromtimestamp(event_at).date()
    if unit.said_at is not None and datetime.fromtimestamp(unit.said_at).date() == day:
        return True
    return re.search(rf"(?<!\d){day.day}(?!\d)", f"{unit.text}\n{unit.grounds}") is not None


_LIST = re.compile(r"^(?P<lead>[^:]{3,60}):\s*(?P<items>.+)$")


def narrowed(unit: Unit, question) -> str:
    """A list sentence ("Colleague birthdays: Priyanka on 9 May, Tom on 21 November") quoted with its lead and the one
    item the question names, so an answer about Tom does not read Priyanka's date."""
    match = _LIST.match(unit.quote)
    if not match or unit.quote != unit.text:
        return unit.quote
    items = [i.strip() for i in re.split(r"[,;]\s+", match.group("items")) if i.strip()]
    if len(items) < 2 or not question.entities:
        return unit.quote
    holding = [i for i in items if all(any(w in words(i) for w in group) for group in question.entities)]
    if len(holding) != 1:
        return unit.quote
    return f"{match.group('lead')}: … {holding[0].rstrip('.')}"


# "(was Mondays 09:00)", "(früher montags)": the old value beside the new one.
_WAS = re.compile(r"\s*\((was|were|previously|formerly|before|used to be|früher|vorher|bisher|avant|anciennement|"
                  r"auparavant|antes|anteriormente)\b[^()]*\)", re.IGNORECASE)
_ASKS_PAST = re.compile(r"\b(was|were|before|previously|used to|formerly|old|früher|vorher|avant|antes|anteriormente)\b",
                        re.IGNORECASE)


def without_old_values(quote: str, question) -> str:
    """``quote`` without the old value it names beside the new one ("moves to Fridays 16:00 (was Mondays 09:00)"),
    unless the question asks for the past: what was is no answer to what is."""
    if _ASKS_PAST.search(question.text):
        return quote
    return _WAS.sub(" (…)", quote)


def compose(support: Support, cite: Callable[[Unit], int]) -> str:
    """The extractive answer for ``support`` (which must have chosen units); ``cite`` numbers a unit.

    Units of one message or one screen share a line, their quotes joined by an ellipsis.
    """
    groups: list[list[Unit]] = []
    for unit in support.chosen:
        if groups and (groups[-1][0].source, groups[-1][0].ref) == (unit.source, unit.ref):
            groups[-1].append(unit)
        else:
            groups.append([unit])
    lines: list[str] = []
    for group in groups:
        unit = group[-1]
        latest = bool(support.superseded) and support.main in group
        head = attribution(unit, latest=latest, location=asks_where_it_is(support.question))
        if unit.vault and support.question.asks_saved and unit is support.main:
            head = "Yes, it is in your vault"
        quotes: list[str] = []
        for member in group:
            quote = member.whole if member.whole and support.question.kind == "how_to" else narrowed(member, support.question)
            quote = without_old_values(quote, support.question)
            if support.question.asks_saved:
                quote = without_values(quote)
            if quote not in quotes:
                quotes.append(quote)
        quoted = " … ".join(_quote(q) for q in quotes)
        lines.append(f"{head}: {quoted} [{cite(unit)}]")
    return "\n".join(lines)
