"""Query understanding without an LLM.

``understand(text, now, known_names)`` turns a question into a ``QueryPlan``:
the search terms (stopwords and question words dropped), the names it
mentions (known speakers and people first, then capitalised words that are not
at the start of the sentence), the time ranges it names (see
``core.recall.timeparse``), and the memory types it most likely targets, in
order of preference.  Everything here is a cheap, deterministic heuristic that
retrieval uses for weighting; nothing is filtered out on the strength of it
alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from core.recall.timeparse import TimeRange, parse_time

# Stopwords for questions: function words plus the question and chatter words
# that never identify the memory sought ("what", "tell", "remember").
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before after above below
    to from up down in out on off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will just don should now i me my
    myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself it its
    itself they them their theirs themselves what which who whom whose this that these those am is are was were be
    been being have has had having do does did doing would could might must shall may ever also as yes ok okay
    tell remember recall know please""".split()
)

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")

# Ordered (pattern, types) rules: the first match decides the preferred types.
TYPE_RULES: tuple[tuple[re.Pattern, tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), types)
    for pattern, types in (
        (r"\b(password|passcode|pin|account number|iban|routing|ssn|social security|licen[cs]e number|passport|"
         r"phone number|wifi|wi-fi|api key|token|address|postcode|zip code)\b", ("knowledge_vault", "semantic")),
        (r"\b(how (do|did|can|should|to) (i|we|you)|steps|instructions|recipe|procedure|set ?up|install|configure)\b",
         ("procedural", "resource", "episodic")),
        (r"\b(which|what) (document|file|page|article|link|website|url|pdf|book)\b|\bwhere did i (read|see|find)\b",
         ("resource", "episodic")),
        (r"\b(when|what time|what day|how long ago|how long has|how long did|since when)\b", ("episodic", "semantic")),
        (r"\b(what happened|did i|did we|have i|what did .* do|last time|yesterday|today|ago|meeting|trip|visit)\b",
         ("episodic", "semantic")),
        (r"\b(who is|who's|who was|what is|what's|what are|tell me about|relationship|favou?rite|prefer|like)\b",
         ("semantic", "core", "episodic")),
    )
)
DEFAULT_TYPES = ("episodic", "semantic", "resource", "procedural", "knowledge_vault")


@dataclass
class QueryPlan:
    """What retrieval needs to know about one question."""

    text: str
    now: datetime
    terms: list[str]
    names: list[str] = field(default_factory=list)  # mentioned people, known names first, in reading order
    speakers: list[str] = field(default_factory=list)  # mentioned names that are known speakers/roles
    time_ranges: list[TimeRange] = field(default_factory=list)
    types: tuple[str, ...] = DEFAULT_TYPES
    open_question: bool = False  # no specific terms: recency and importance should decide

    @property
    def time_range(self) -> TimeRange | None:
        """The first resolved (not event-anchored) range, if any."""
        for r in self.time_ranges:
            if r.anchor is None:
                return r
        return None


def terms_of(text: str, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """Lowercased content words of ``text`` in order, without repeats or possessive endings."""
    seen: dict[str, None] = {}
    for raw in _WORD.findall(text or ""):
        word = raw.lower()
        if word.endswith("'s") or word.endswith("’s"):
            word = word[:-2]
        word = word.strip("'-")
        if word and word not in stopwords:
            seen.setdefault(word, None)
    return list(seen)


def infer_types(text: str) -> tuple[str, ...]:
    """Memory types ``text`` most likely asks about, best first; every type appears once."""
    for pattern, types in TYPE_RULES:
        if pattern.search(text):
            rest = tuple(t for t in DEFAULT_TYPES if t not in types)
            return tuple(types) + rest
    return DEFAULT_TYPES


def understand(text: str, now: datetime, known_names: Iterable[str] = ()) -> QueryPlan:
    """The ``QueryPlan`` for ``text`` asked at ``now``.

    ``known_names`` are the speakers, roles and people the store knows
    (case-insensitive); a mention of one of them lets retrieval favour what that
    person said or what is about them.
    """
    known = {n.lower(): n for n in known_names if n}
    time_ranges = parse_time(text, now)
    time_words = {w.lower() for r in time_ranges for w in _WORD.findall(r.expression)}
    words = terms_of(text)
    names: list[str] = []
    speakers: list[str] = []
    for word in _WORD.findall(text):
        bare = re.sub(r"['’]s$", "", word)
        if bare.lower() in known and known[bare.lower()] not in speakers:
            speakers.append(known[bare.lower()])
            names.append(known[bare.lower()])
    for match in _CAPITALISED.finditer(text):
        phrase = match.group(1)
        if phrase.lower() in STOPWORDS or phrase.lower() in time_words or phrase in names:
            continue
        if phrase.lower() in known:
            continue
        names.append(phrase)
    # Words that only name the time are kept out of the terms: the range handles them.
    terms = [w for w in words if w not in time_words] or words
    content = [w for w in terms if w not in known and w not in time_words]
    return QueryPlan(
        text=text,
        now=now,
        terms=terms,
        names=names,
        speakers=speakers,
        time_ranges=time_ranges,
        types=infer_types(text),
        open_question=not content,
    )
