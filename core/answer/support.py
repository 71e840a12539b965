"""Does the evidence answer the question, and which sentences answer it best?

``find_support(question, units)`` scores every stating unit:

- **coverage**: the share of the question's anchors the unit holds (a word, a form of it, or a
  word of its concept), type words counting half; a unit short of some anchors may borrow them
  from the words around it (its message and the neighbouring turns) at a discount;
- **fit**: whether it holds the kind of thing asked for -- a date or time for "when", a name for
  "who", a place, path or link for "where", a number for "how much", steps for "how do I", and
  for any question something the question does not already say;
- who stands behind it: the user's own words first, then memories, other people, the screen.

A question about the user's identity (their name, where they live, their job) is answered only
by the user's own words or memories: a screen or a tool saying "the user's home address is ..."
answers nothing.  The best unit must cover at least ``MIN_COVERAGE`` of the question and fit it;
otherwise the answer is an abstention.

The best unit is then checked for a newer statement that changes it: a later unit that shares a
word with it and says "correction", "actually", "no longer", "now", "instead", "cancelled",
"left", "jetzt", "ya no"... wins, so an answer never quotes the outdated version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.answer.evidence import Unit
from core.answer.question import Question
from core.answer.words import (
    NUMBER,
    PATH_OR_LINK,
    STOPWORDS,
    TIME_EXPRESSION,
    WordSet,
    concepts_of,
    names_in,
    words,
)

MIN_COVERAGE = 0.5
CONTEXT_DISCOUNT = 0.8  # coverage borrowed from the words around a unit counts this much
TYPE_WEIGHT = 0.5
STANDING_BONUS = {"own": 0.25, "memory": 0.2, "person": 0.15, "screen": 0.05}
IDENTITY_CONCEPTS = frozenset({"live", "work", "name"})
SEEING_WORDS = frozenset(words("""read reading saw see seen look looking looked view viewing viewed open opened
    watch watching watched browse browsing browsed visit visited visiting check checking checked"""))
UPDATE = re.compile(
    r"\b(correction|corrected|correcting|actually|in fact|i meant|got (that|it) wrong|not the|no longer|not any ?more|"
    r"any ?more|now|nowadays|these days|instead|switched|changed|moved|left|quit|cancell?ed|called off|ended|is over|"
    r"stopped|update|new|oops|sorry|nicht mehr|kein\w* mehr|jetzt|nun|sondern|umgezogen|gekündigt|abgesagt|"
    r"plus|maintenant|désormais|en fait|annulé|ya no|ahora|en realidad|cancelad[oa]|já não|agora|corrigindo|"
    r"na verdade|mudaram|mudei|não [àa]s)\b",
    re.IGNORECASE,
)


@dataclass
class Scored:
    unit: Unit
    coverage: float  # for the gate: anchors, with missing type words counting against
    fit: bool
    score: float  # for ranking
    covered: set[str] = field(default_factory=set)


@dataclass
class Support:
    """What the evidence says about a question: the units to quote (best first), or nothing."""

    question: Question
    chosen: list[Unit] = field(default_factory=list)
    ranked: list[Scored] = field(default_factory=list)
    reason: str = ""
    superseded: list[Unit] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.chosen)


def term_supported(term: str, unit_words: WordSet, raw: str) -> bool:
    if unit_words.has(term):
        return True
    return any(concept.in_text(unit_words, raw) for concept in concepts_of(term))


def is_identity_question(question: Question) -> bool:
    """A question about who the user is: their name, home or work, asked in the first person."""
    if not question.first_person:
        return False
    return any(c.name in IDENTITY_CONCEPTS for term in question.terms for c in concepts_of(term))


def _coverage(question: Question, unit: Unit, use_context: bool) -> tuple[float, float, set[str], int]:
    """(gate coverage, anchor coverage, covered terms, anchors matched word for word)."""
    unit_words = unit.context_words if use_context else unit.words
    raw = unit.context if use_context and unit.context else unit.text
    covered: set[str] = set()
    exact = 0
    anchors_got = 0.0
    for term in question.anchors:
        if term_supported(term, unit_words, raw) or (unit.standing == "screen" and term in SEEING_WORDS):
            anchors_got += 1.0
            covered.add(term)
            exact += int(term in unit_words.items)
    types_got = 0.0
    for term in question.types:
        if term_supported(term, unit_words, raw):
            types_got += 1.0
            covered.add(term)
    total = len(question.anchors) + TYPE_WEIGHT * len(question.types)
    gate = (anchors_got + TYPE_WEIGHT * types_got) / total if total else 0.0
    if question.anchors:
        rank = anchors_got / len(question.anchors)
    else:
        rank = types_got / len(question.types) if question.types else 0.0
    return gate, rank, covered, exact


def fits(question: Question, unit: Unit) -> bool:
    """Whether ``unit`` holds the kind of thing ``question`` asks for (see the module docstring)."""
    text = unit.text
    asked = set(question.terms) | set(words(question.text))
    new_words = [w for w in words(text) if w not in STOPWORDS and w not in asked and len(w) >= 2]
    kind = question.kind
    if kind == "when":
        return bool(TIME_EXPRESSION.search(text)) or unit.event_at is not None
    if kind == "how_much":
        return bool(NUMBER.search(text))
    if kind == "who" or question.wants_name:
        if not any(ch.isupper() for ch in text):
            return bool(new_words)  # typed all in lowercase: no capital marks the name
        return any(name not in asked for name in names_in(text))
    if kind == "where":
        return bool(PATH_OR_LINK.search(text)) or any(name not in asked for name in names_in(text)) or unit.vault
    if kind == "yes_no":
        return True
    return bool(new_words) or unit.vault


def score_unit(question: Question, unit: Unit) -> Scored:
    gate, rank, covered, exact = _coverage(question, unit, use_context=False)
    if covered:
        around_gate, around_rank, around_covered, _ = _coverage(question, unit, use_context=True)
        if around_gate * CONTEXT_DISCOUNT > gate:
            gate, rank, covered = around_gate * CONTEXT_DISCOUNT, around_rank * CONTEXT_DISCOUNT, around_covered
    fit = fits(question, unit)
    score = (2.0 * rank + 0.15 * exact / max(1, len(question.anchors)) + 0.05 * len(covered & set(question.types))
             + (0.6 if fit else 0.0) + STANDING_BONUS.get(unit.standing, 0.0) + 0.3 * min(1.0, unit.item_score))
    if question.kind == "how_to" and unit.steps:
        score += 0.4
    if question.asks_saved and unit.vault:
        score += 0.4
    return Scored(unit, gate, fit, score, covered)


def _eligible(question: Question, unit: Unit) -> bool:
    if unit.standing == "machine" or unit.question or unit.to_ai or unit.quoted:
        return False
    if unit.hypothetical and question.kind != "yes_no":
        return False
    if is_identity_question(question) and unit.standing not in ("own", "memory"):
        return False
    return True


def _shares_a_word(a: Unit, b: Unit) -> bool:
    """Whether ``b`` speaks of what ``a`` says: a content word in common, other than the words that announce a change."""
    mine = {w for w in a.words.items if w not in STOPWORDS and len(w) >= 3 and not UPDATE.fullmatch(w) and not w.isdigit()}
    return any(b.words.has(w) for w in mine)


def _newer(candidate: Unit, than: Unit) -> bool:
    if candidate.said_at is None or than.said_at is None:
        return False
    return candidate.said_at > than.said_at + 1.0


def supersede(best: Unit, pool: list[Unit]) -> tuple[Unit, list[Unit]]:
    """The newest unit that changes ``best`` (shares a word with it and says it changed), and what it replaced."""
    replaced: list[Unit] = []
    current = best
    for _ in range(5):
        # Only what was said or seen can change it: a memory's time is its newest source's, not the sentence's.
        changes = [u for u in pool if u.source == "observation" and _newer(u, current) and UPDATE.search(u.text)
                   and _shares_a_word(current, u)]
        if not changes:
            break
        replaced.append(current)
        current = max(changes, key=lambda u: (u.said_at or 0.0, -u.order))
    return current, replaced


def find_support(question: Question, units: list[Unit]) -> Support:
    """The best supporting units for ``question`` among ``units``, or an empty ``Support`` with the reason."""
    pool = [u for u in units if _eligible(question, u)]
    if not pool:
        return Support(question, reason="nothing retrieved states anything about it")
    ranked = sorted((score_unit(question, u) for u in pool), key=lambda s: -s.score)
    qualified = [s for s in ranked if s.coverage >= MIN_COVERAGE and s.fit]
    if not qualified:
        best = ranked[0]
        if best.coverage < MIN_COVERAGE:
            missing = [t for t in question.terms if t not in best.covered]
            reason = "no memory mentions " + ", ".join(missing[:3]) if missing else "nothing matches the question"
        else:
            reason = f"nothing retrieved holds the {question.kind.replace('_', ' ')} asked for"
        return Support(question, ranked=ranked, reason=reason)
    best = qualified[0]
    chosen, replaced = supersede(best.unit, pool)
    out = [chosen]
    # A second sentence when it adds what the first lacks: an anchor, or the thing asked for.
    first = next((s for s in ranked if s.unit is chosen), best)
    for other in qualified[1:4]:
        if other.unit is chosen or other.unit in replaced or other.unit.ref == chosen.ref and other.unit.text == chosen.text:
            continue
        if any(u.source == "observation" and _newer(u, other.unit) and _shares_a_word(other.unit, u)
               and UPDATE.search(u.text) for u in pool):
            continue  # itself outdated
        adds_terms = bool(other.covered - first.covered)
        if adds_terms and not first.fit or (adds_terms and first.coverage < 1.0):
            out.append(other.unit)
            break
    return Support(question, chosen=out, ranked=ranked, superseded=replaced)
