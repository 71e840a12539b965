"""The check a model's answer must pass before it is shown.

An answer passes when

- every number in it is in the evidence it cites (digit runs compared by value; the days and
  years of the cited evidence count, the minutes a message was typed do not);
- every date in it is a day the cited evidence names or was written on;
- every name in it (a capitalised word that is not a function word) is in the cited evidence;
- at least ``MIN_KEY_TERM_SHARE`` of its other key terms are there too;
- it uses the evidence that answers the question (it shares a word, number or name with it); and
- it is an answer: not an abstention when the evidence answers, not the prompt echoed back.

Otherwise the caller shows the extractive answer instead.  The check is lexical on purpose: a
model cannot talk it round, and a false rejection costs only the model's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from core.absorb.dates import find_dates
from core.answer.evidence import Unit
from core.answer.question import Question
from core.answer.words import STOPWORDS, WordSet, names_in, words

MIN_KEY_TERM_SHARE = 0.75
CITATION = re.compile(r"\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]")
_DIGITS = re.compile(r"\d+")
_ECHO = re.compile(r"(?im)^\s*(memories|evidence|question|rules?)\s*:|<\|?im_|<start_of_turn>|\[\d+\]\s*\((you|memory|screen)")
_ABSTAIN = re.compile(r"(?i)\bI (have|had) no memory\b|\bI don'?t (know|have)\b|\bno (information|memory|record)\b")
# Words any answer may use without evidence: they carry no claim.
FREE_WORDS = frozenset(words("""according mentioned mention memory memories wrote write written said says told note
    noted notes saved stored vault answer question evidence source sources based seems appears likely probably
    also currently usually""")) | STOPWORDS


@dataclass
class Verdict:
    ok: bool
    reason: str = ""
    used: list[Unit] = field(default_factory=list)


def _numbers(text: str) -> set[str]:
    return {str(int(run)) for run in _DIGITS.findall(text)}


def _days_of(units: list[Unit]) -> set[date]:
    days: set[date] = set()
    for unit in units:
        for moment in (unit.said_at, unit.event_at):
            if moment is not None:
                days.add(datetime.fromtimestamp(float(moment)).date())
        days.update(found.day for found in find_dates(unit.text, unit.said_at))
    return days


def _unit_numbers(unit: Unit) -> set[str]:
    """The numbers a unit supports: its own, the day and year it was written, and an episode's date and time."""
    found = _numbers(unit.text)
    if unit.said_at is not None:
        day = datetime.fromtimestamp(float(unit.said_at))
        found |= {str(day.day), str(day.year)}
    if unit.event_at is not None:
        day = datetime.fromtimestamp(float(unit.event_at))
        found |= {str(day.day), str(day.month), str(day.year)}
        if unit.exact_time:
            found |= {str(day.hour), str(day.minute)}
    return found


def _names(text: str) -> list[str]:
    """The names in a model's answer: capitalised words that do not merely start a sentence."""
    starts = {m.group(1).lower() for m in re.finditer(r"(?:^|[.!?:]\s+)([^\W\d_]+)", text)}
    return [n for n in names_in(text) if n not in starts]


def key_terms(text: str, question: Question) -> list[str]:
    asked = set(words(question.text))
    return [w for w in dict.fromkeys(words(text)) if len(w) >= 4 and w not in FREE_WORDS and w not in asked
            and not w.isdigit()]


def check_answer(answer: str, question: Question, cited: list[Unit], answering: list[Unit],
                 outdated: list[Unit] | None = None) -> Verdict:
    """Whether ``answer`` may be shown; ``cited`` is the evidence it cites, ``answering`` what answers the question
    (the extractive answer's sentences), ``outdated`` what a newer statement replaced."""
    text = CITATION.sub(" ", answer or "").strip()
    if not text:
        return Verdict(False, "the model gave no answer")
    if _ECHO.search(answer):
        return Verdict(False, "the model echoed its instructions")
    if _ABSTAIN.search(text):
        return Verdict(False, "the model did not answer although the evidence does")
    if not cited:
        return Verdict(False, "the answer cites nothing")
    cited_words = WordSet(w for u in cited for w in u.words.items)
    numbers = set().union(*(_unit_numbers(u) for u in cited)) | _numbers(question.text)
    for number in sorted(_numbers(text)):
        if number not in numbers:
            return Verdict(False, f"the number {number} is not in what it cites")
    days = _days_of(cited)
    for found in find_dates(text):
        if not found.relative and found.day not in days:
            return Verdict(False, f"the date {text[found.start:found.end]!r} is not in what it cites")
    asked = set(words(question.text))
    for name in _names(text):
        if name not in asked and not cited_words.has(name):
            return Verdict(False, f"the name {name!r} is not in what it cites")
    terms = key_terms(text, question)
    if terms:
        found = [t for t in terms if cited_words.has(t)]
        if len(found) / len(terms) < MIN_KEY_TERM_SHARE:
            missing = [t for t in terms if not cited_words.has(t)][:4]
            return Verdict(False, "key terms not in what it cites: " + ", ".join(missing))
    # The thing asked for (a date, number or name) must come from the sentences that answer, not from a neighbour.
    answering_numbers = set().union(*(_unit_numbers(u) for u in answering)) if answering else set()
    answering_words = WordSet(w for u in answering for w in u.words.items)
    if question.kind in ("when", "how_much") and _numbers(text) - answering_numbers - _numbers(question.text):
        return Verdict(False, "its number is not in the sentence that answers the question")
    if question.kind in ("who", "where") or question.wants_name:
        new_names = [n for n in _names(text) if n not in asked]
        if new_names and not any(answering_words.has(n) for n in new_names):
            return Verdict(False, "its name is not in the sentence that answers the question")
    if outdated:
        # After a change, the answer must hold what changed ("window"), not only what both versions say ("aisle").
        stale = WordSet(w for u in outdated for w in u.words.items)
        stale_numbers = set().union(*(_numbers(u.text) for u in outdated))
        new = [t for t in terms + _names(text) if answering_words.has(t) and not stale.has(t)]
        new += [n for n in _numbers(text) if n in answering_numbers and n not in stale_numbers]
        if not new:
            return Verdict(False, "it repeats what a newer statement changed, not the change")
    answer_words = set(terms) | set(_names(text)) | _numbers(text)
    used = [u for u in cited if any(u.words.has(w) for w in answer_words if not w.isdigit())
            or (_numbers(text) & _unit_numbers(u))]
    if not any(u in answering or any(u.ref == a.ref and u.source == a.source for a in answering) for u in used):
        return Verdict(False, "the answer does not use the evidence that answers the question")
    return Verdict(True, "", used)
