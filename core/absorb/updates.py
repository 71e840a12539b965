"""When a newer statement changes, corrects or ends an older fact: which lines it replaces, and how.

The absorber keeps each fact as the user said it: a line of a core block, a
line of a semantic memory about someone, or an event's summary.  A newer
statement

- **changes** a fact ("These days I take my coffee with oat milk", "Ich
  wohne jetzt in Düsseldorf"): within its own fact family (or about the same
  person), the older line it shares a topic word with is replaced.  Work and
  home hold one value: a new employer or home replaces the old one even
  without a shared word, unless the statement says "also";
- **corrects** one ("Correction: it's Sunday at 7, not Saturday", "I got
  that wrong, ... 4 March, not the 14th", "Nicht Mittwoch, sondern
  Donnerstag"): the line or event that holds the value after "not", or that
  shares two words with it, is rewritten, and an event moves to the new day;
- **ends** one ("I no longer ...", "left", "cancelled", "is over", "nicht
  mehr", "ya no", "ne ... plus"): a line or event sharing two words with it
  is ended.  A line the statement restates in its own family or about the
  same person is replaced; any other gets the statement appended as an update
  note, so nothing it said is lost and the current state is in the memory.

Every rewrite goes through the store, so the memory's history keeps the old
text.  Memories the user wrote or edited are never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from core.absorb import text as tx
from core.absorb.dates import find_dates, moved_to
from core.absorb.lookups import describe_addresses

RESCHEDULED = re.compile(
    r"(?i)\b(?:postponed|rescheduled|pushed\s+(?:back|to)|brought\s+forward|verschoben|verlegt|reporté|décalé|"
    r"aplazad[oa]|pospuest[oa]|adiad[oa]|remarcad[oa])\b"
)


def rescheduled(text: str, ts: float | None = None) -> bool:
    """Whether ``text`` moves an event: a rescheduling word, or a day it was moved to ("got moved to 29 April",
    "moved it to Friday", "déplacé au 3 mai")."""
    if RESCHEDULED.search(text):
        return True
    return any(moved_to(text, d.start, d.end) for d in find_dates(text, ts))
_TRAILING_FILLER = re.compile(r"(?i)(?:\s+(?:[\w'’]{1,3}|is|are|was|ist|est|es|sai|sale|leaves|starts|begins|findet|"
                              r"statt|takes|place|at|on|um|am|à|às|a\s+las|de|do|da|el|la|le|the))+\s*$")


@dataclass
class Update:
    """A user's statement that changes, corrects or ends earlier facts (see the module docstring)."""

    obs_id: int
    ts: float
    statement: str
    kind: str  # change | correct | end
    negated: list[str] = field(default_factory=list)
    families: set[str] = field(default_factory=set)  # core families the statement states itself
    entities: set[str] = field(default_factory=set)  # entity keys the statement is about (it adds lines there)
    order: tuple = ()
    source_text: str = ""  # the whole message, so lines it gave are never "older" than it


def shared(new: str, old: str) -> tuple[set[str], set[str]]:
    """``(names, stems)`` two texts share: capitalised words, and word stems (names included)."""
    names = {n for n in tx.capitalised(new) & tx.capitalised(old) if len(n) >= 3}
    return names, tx.overlap(new, old)


def mentions_value(text: str, value: str) -> bool:
    """Whether ``text`` holds ``value`` as a word ("the 12th" is found as "12" too)."""
    if re.search(r"(?<![\w])" + re.escape(value) + r"(?![\w])", text, re.IGNORECASE):
        return True
    ordinal = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th|er|º|ª)", value)
    return bool(ordinal) and re.search(r"(?<![\d.:])" + ordinal.group(1) + r"(?![\d:])", text) is not None


_NEGATION = re.compile(r"(?i)\b(?:not|no|never|n['’]t|nicht|kein\w*|nie|ne|pas|plus|jamais|nunca|nada|não|nem)\b")


def _negated_stems(text: str) -> set[str]:
    """The word stems of the clauses of ``text`` that hold a negation."""
    out: set[str] = set()
    for clause in tx.clauses(text):
        if _NEGATION.search(clause):
            out |= tx.stems(clause)
    return out


def restates(new: str, old: str) -> str | None:
    """``"same"`` when ``new`` says nothing ``old`` does not, ``"fuller"`` when it says all of it and more.

    A negation one has and the other lacks, or a number one has that the
    other lacks, makes them different statements.
    """
    new_body, old_body = body(new), body(old)
    shared_stems = tx.stems(new_body) & tx.stems(old_body)
    if shared_stems & (_negated_stems(new_body) ^ _negated_stems(old_body)):
        return None  # "I'm not allergic to kiwis" is not "I'm allergic to kiwis"
    new_numbers, old_numbers = set(re.findall(r"\d+", new_body)), set(re.findall(r"\d+", old_body))
    if new_numbers - old_numbers and old_numbers - new_numbers:
        return None
    if tx.normalised(new_body) == tx.normalised(old_body) or tx.contains_statement(old_body, new_body):
        return "same"
    if tx.contains_statement(new_body, old_body):
        return "fuller"
    return None


def body(line: str) -> str:
    """A line without its speaker ("User: ")."""
    return re.sub(r"^[^:]{1,40}:\s+", "", line.strip()) if re.match(r"^(?:User|[\w .'-]{1,40}):\s", line) else line


def from_same_message(line: str, source_text: str) -> bool:
    """Whether ``line`` is the user's words from ``source_text`` (a message never replaces its own lines)."""
    said = tx.normalised(body(line).split(" (update ")[0])
    return bool(said) and said in tx.normalised(source_text)


def supersedes(update: Update, line: str, *, same_family: bool = False, single_valued: bool = False) -> bool:
    """Whether ``update`` replaces, corrects or ends the fact in ``line``."""
    if from_same_message(line, update.source_text):
        return False
    if update.kind == "correct" and any(mentions_value(line, value) for value in update.negated):
        return True
    names, stems = shared(update.statement, body(line))
    if same_family:
        if single_valued and update.kind and not re.search(r"(?i)\b(?:also|too|as\s+well|auch|aussi|también|também)\b",
                                                           update.statement):
            return True
        return bool(update.kind) and bool(stems)
    return update.kind in ("correct", "end") and (len(stems) >= 2 or (bool(names) and len(stems) >= 1 and
                                                                       update.kind == "correct"))


def day_label(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d")


def annotated(line: str, update: Update) -> str:
    """``line`` with the statement that ended or changed it as a dated note."""
    return f"{line.rstrip()} (update {day_label(update.ts)}: {describe_addresses(update.statement.strip())})"


def subject_of(summary: str, negated: list[str]) -> str:
    """What an event summary is about: its words before the corrected value ("Dinner with the Nakamuras")."""
    text = body(summary)
    cut = len(text)
    for value in negated:
        found = re.search(r"(?<![\w])" + re.escape(value) + r"(?![\w])", text, re.IGNORECASE)
        if found:
            cut = min(cut, found.start())
    if cut == len(text):
        digit = re.search(r"\d", text)
        cut = digit.start() if digit else cut
        days = find_dates(text)  # "Mila's play is Thursday 19 March": the day is not what it is about
        cut = min([cut] + [d.start for d in days if d.start > 0])
    head = _TRAILING_FILLER.sub("", text[:cut].rstrip(" ,;:-–—")).strip()
    while head.split() and head.split()[-1].lower().strip(",") in tx.DATE_WORDS:  # "... is Thursday" (19 March)
        head = _TRAILING_FILLER.sub("", head.rsplit(None, 1)[0].rstrip(" ,;:-–—")).strip()
    return head if len(head.split()) >= 1 else text


def corrected_summary(old_summary: str, update: Update, speaker: str = "User") -> str:
    """An event's summary after a correction: the correction, with what it is about when it does not say."""
    statement = tx.strip_lead_in(update.statement) if not tx.CORRECTION.match(update.statement) else update.statement
    statement = describe_addresses(statement)  # a postal address is the vault's
    subject = subject_of(old_summary, update.negated)
    if not (tx.capitalised(subject) - tx.capitalised(statement)) and tx.capitalised(subject):
        return f"{speaker}: {statement}"
    return f"{speaker}: {subject_of(old_summary, update.negated)} — {statement}"
