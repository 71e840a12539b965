"""The grounding check: a memory may say only what its source observations say.

A candidate is rejected when any name, number or date it states is absent from
the batch's source text, when fewer than half of its key terms appear there, or
(for the knowledge vault) when its value is not in the source verbatim.  The
check is lexical on purpose: it cannot be talked round by a model, it is cheap
enough to re-run over the whole store (the bench does), and a false rejection
costs one memory while a false acceptance plants a fabricated one.

What counts as the source: the observations' text, speakers, roles, window
titles and URLs, and their dates and times written out in several forms, plus
every date the text yields relative to its message time ("yesterday").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

from core.absorb.dates import day_of, find_dates
from core.secrets import MASK_CHAR, carried_secrets

_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_NUMBER = re.compile(r"\d+")
_NAME = re.compile(r"\b[A-Z][\w'’-]+")
_SPACE = re.compile(r"\s+")

# Words that carry no claim: function words, and the words Engram's own templates use.
STOPWORDS = frozenset(
    """a an the and or but if then than that this these those there here of to in on at by for with from into onto
    about over under after before during while as is are was were be been being am do does did done have has had
    having not no yes so very just also too it its it's he she they them their his her hers him we us our you your
    i me my mine who whom whose what which when where why how all any some each every more most much many few
    other such own same can could will would should shall may might must one two both either neither again once
    only out up down off above below between through until because against per via new old
    user human assistant speaker person someone people somebody
    chat chatted conversation talked said says mentioned mention message messages exchange wrote asked told
    edited viewed used worked working browsed read reading opened activity window app application
    address e-mail email mail phone telephone number account iban key token password passcode secret card credential
    lives home vault kept
    api aws jwt private value code pin web page file document image link url site website contact
    preference preferences likes like loves love prefers prefer enjoys enjoy dislikes hates
    event events meeting trip plan plans note notes fact facts memory memories summary details detail
    commands command steps step calendar update decided
    today yesterday tomorrow morning afternoon evening night week weekend month year day time
    mon tue wed thu fri sat sun monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
TEXT_FIELDS = {
    "core": ("value",),
    "episodic": ("actor", "summary", "details"),
    "semantic": ("name", "summary", "details"),
    "procedural": ("summary", "steps"),
    "resource": ("title", "location", "summary", "content_excerpt"),
    "knowledge_vault": ("caption",),
}
MIN_TERM_SHARE = 0.5
STEM = 5


def _stem(word: str) -> str:
    return word[:STEM]


def _normalise_number(digits: str) -> str:
    return digits.lstrip("0") or "0"


@dataclass
class SourceText:
    """Everything a batch's memories may draw on, indexed for the check."""

    text: str
    words: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    days: set[date] = field(default_factory=set)
    compact: str = ""

    @classmethod
    def build(cls, pieces: Iterable[tuple[str, float | None]]) -> "SourceText":
        """From ``(text, reference time)`` pairs; times add their written forms and relative dates."""
        texts: list[str] = []
        days: set[date] = set()
        for text, ts in pieces:
            if not text and ts is None:
                continue
            texts.append(text or "")
            if ts is not None:
                moment = datetime.fromtimestamp(ts)
                days.add(moment.date())
                texts.append(moment.strftime("%Y-%m-%d %H:%M %d %B %Y %A"))
            for found in find_dates(text or "", ts):
                days.add(found.day)
                if found.until:
                    days.add(found.until)
        joined = "\n".join(texts)
        words = {w.lower().strip("'’-") for w in _WORD.findall(joined)}
        words = {w[:-2] if w.endswith(("'s", "’s")) else w for w in words} | words
        return cls(
            text=joined,
            words=words,
            stems={_stem(w) for w in words if len(w) >= STEM},
            numbers={_normalise_number(n) for n in _NUMBER.findall(joined)},
            days=days,
            compact=_SPACE.sub("", joined).lower(),
        )

    @classmethod
    def from_observations(cls, observations: Iterable[Any], extra: Iterable[str] = ()) -> "SourceText":
        pieces: list[tuple[str, float | None]] = []
        for obs in observations:
            context = [obs.text or "", obs.app or "", obs.window_title or "", obs.url or "", obs.role or ""]
            meta = obs.meta or {}
            context += [str(meta.get("speaker") or ""), str(meta.get("title") or "")]
            # Secrets masked in the text are still what the observation said: the vault checks against them.
            context += [f"{item['label']}: {item['value']}" for item in carried_secrets(meta)]
            pieces.append(("\n".join(p for p in context if p), obs.ts))
        pieces += [(text, None) for text in extra]
        return cls.build(pieces)

    def has_word(self, word: str) -> bool:
        word = word.lower().strip("'’-")
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        if word in self.words:
            return True
        return len(word) >= STEM and _stem(word) in self.stems


@dataclass
class GroundingResult:
    ok: bool
    reason: str = ""
    terms_found: int = 0
    terms_total: int = 0


def claim_text(memory_type: str, fields: dict[str, Any]) -> str:
    parts: list[str] = []
    for name in TEXT_FIELDS.get(memory_type, ()):
        value = fields.get(name)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value:
            parts.append(str(value))
    return "\n".join(parts)


def _time_days(memory_type: str, fields: dict[str, Any]) -> list[date]:
    out = []
    if memory_type == "episodic":
        for name in ("occurred_at", "occurred_until"):
            value = fields.get(name)
            if isinstance(value, (int, float)):
                out.append(day_of(float(value)))
    return out


def check(memory_type: str, fields: dict[str, Any], source: SourceText, *, min_term_share: float = MIN_TERM_SHARE) -> GroundingResult:
    """Whether a candidate of ``memory_type`` with ``fields`` is grounded in ``source``.

    ``min_term_share`` is the share of key terms that must appear; the absorber
    asks more of model candidates than the default, which re-checks use.
    """
    text = claim_text(memory_type, fields)
    if memory_type == "knowledge_vault":
        secret = _SPACE.sub("", str(fields.get("secret_value") or "")).lower()
        if MASK_CHAR in secret:
            return GroundingResult(False, "the vault value is a mask, not the value")
        if not secret or secret not in source.compact:
            return GroundingResult(False, "the vault value does not appear in the source")
    for day in _time_days(memory_type, fields):
        if day not in source.days:
            return GroundingResult(False, f"the date {day.isoformat()} is not in the source")
    for found in find_dates(text):
        if not found.relative and found.day not in source.days:
            return GroundingResult(False, f"the date {text[found.start:found.end]!r} is not in the source")
    for digits in _NUMBER.findall(text):
        if _normalise_number(digits) not in source.numbers:
            return GroundingResult(False, f"the number {digits} is not in the source")
    for match in _NAME.finditer(text):
        name = match.group().rstrip("'’-")
        if name.lower() in STOPWORDS:
            continue
        if not source.has_word(name):
            return GroundingResult(False, f"the name {name!r} is not in the source")
    terms = [w for w in (m.group().lower() for m in _WORD.finditer(text)) if len(w) >= 4 and w not in STOPWORDS]
    if not terms and not text.strip() and memory_type != "knowledge_vault":
        return GroundingResult(False, "the candidate says nothing")
    found = sum(1 for t in terms if source.has_word(t))
    if terms and found / len(terms) < min_term_share:
        missing = [t for t in terms if not source.has_word(t)][:5]
        return GroundingResult(
            False, f"only {found} of {len(terms)} key terms are in the source (missing: {', '.join(missing)})", found, len(terms)
        )
    return GroundingResult(True, "", found, len(terms))
