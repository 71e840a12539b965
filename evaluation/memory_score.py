"""Scoring of the memory evaluation: pure functions over plain data, no engine, no model.

The definitions are the contract of ``memory-eval-format.md`` (format
``engram-memory-eval/1``); where that text leaves a choice open, the choice is
written down here.

- A memory is a ``MemoryView``: its type, its fields (knowledge-vault values
  in clear), its title and whether it is active.  Its *matching text* is every
  field of its type joined with ``" | "`` in declaration order, times as ISO
  8601 in UTC (as ``engram get --json`` shows them), steps one after another,
  lowercased; the core block's size limit is a setting, not content, and is
  left out.
- Point terms are matched as substrings of the matching text ("contains").
- Answer terms are matched as whole words or phrases (no letter or digit
  directly before or after), so ``"no"`` is not found in ``"know"`` and
  ``"yes"`` not in ``"eyes"``.
- ``duplicates`` counts every active memory whose normalised text equals
  another's: two copies of one fact count 2.
- ``unsupported_numbers`` counts answers, not numbers: an answer holding at
  least one digit run found in none of the case's sources.  Digit runs compare
  by value, so ``"07"`` and ``"7"`` are the same number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from core.store.types import MEMORY_TYPES, iso

FIELD_NAME_TITLES = frozenset(
    ("name", "content", "summary", "value", "date", "steps", "details", "caption", "title", "label", "type")
)
SHORT_PHRASE_WORDS = 5  # "one short phrase repeated": a phrase of at most this many words, said twice or more
CITATION = re.compile(r"\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]")
DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class MemoryView:
    """What scoring needs of a stored memory."""

    id: int
    type: str
    fields: dict[str, Any]
    active: bool = True

    @property
    def title(self) -> str:
        spec = MEMORY_TYPES[self.type]
        return str(self.fields.get(spec.title_field) or "")

    @property
    def text(self) -> str:
        return matching_text(self.type, self.fields)


def matching_text(memory_type: str, fields: dict[str, Any]) -> str:
    """Every field joined (vault values as given, so revealed), lowercased; see the module docstring."""
    spec = MEMORY_TYPES[memory_type]
    parts: list[str] = []
    for f in spec.fields:
        value = fields.get(f.name)
        if value is None or value == "" or value == [] or f.kind == "int":
            continue
        if f.kind == "time":
            value = iso(float(value))
        elif isinstance(value, list):
            value = " ; ".join(str(v) for v in value)
        parts.append(str(value))
    return " | ".join(parts).lower()


# -- points -------------------------------------------------------------------------------


def type_matches(point_type: str | Sequence[str], memory_type: str) -> bool:
    if isinstance(point_type, str):
        return point_type == "any" or point_type == memory_type
    return "any" in point_type or memory_type in point_type


def point_matches(point: dict, memory_type: str, text: str) -> bool:
    """Whether one memory (its type and lowercased matching text) matches ``point``."""
    if not type_matches(point.get("type", "any"), memory_type):
        return False
    if not all(term in text for term in point.get("all", ())):
        return False
    wanted = point.get("any")
    if wanted and not any(term in text for term in wanted):
        return False
    return not any(term in text for term in point.get("none", ()))


def matching_ids(point: dict, memories: Iterable[MemoryView], *, active_only: bool = True) -> list[int]:
    return [m.id for m in memories if (m.active or not active_only) and point_matches(point, m.type, m.text)]


def point_met(point: dict, memories: Sequence[MemoryView]) -> tuple[bool, list[int]]:
    """(met, ids of the active memories that match): met when at least one and at most ``max_matches`` match."""
    ids = matching_ids(point, memories)
    limit = point.get("max_matches")
    return bool(ids) and (limit is None or len(ids) <= limit), ids


def forbidden_ids(forbid: Sequence[dict], forbid_active: Sequence[dict], memories: Sequence[MemoryView]) -> dict[int, list[int]]:
    """Memory id -> indexes of the points it breaks: ``forbid`` over every memory, ``forbid_active`` over active
    ones.  Indexes of ``forbid_active`` points follow those of ``forbid``."""
    out: dict[int, list[int]] = {}
    for index, point in enumerate(forbid):
        for memory_id in matching_ids(point, memories, active_only=False):
            out.setdefault(memory_id, []).append(index)
    for index, point in enumerate(forbid_active, len(forbid)):
        for memory_id in matching_ids(point, memories):
            out.setdefault(memory_id, []).append(index)
    return out


# -- store hygiene ------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lowercased, punctuation removed, runs of spaces made one.

    Symbols count as punctuation here: the ``|`` between fields, ``•`` of a masked value.
    """
    kept = "".join(ch for ch in text.lower() if unicodedata.category(ch)[0] not in "PS")
    return " ".join(kept.split())


def duplicate_ids(memories: Sequence[MemoryView]) -> list[int]:
    """Active memories whose normalised text equals another active memory's."""
    groups: dict[str, list[int]] = {}
    for memory in memories:
        if memory.active:
            groups.setdefault(normalise(memory.text), []).append(memory.id)
    return sorted(i for ids in groups.values() if len(ids) > 1 for i in ids)


def is_repeated_phrase(text: str, max_words: int = SHORT_PHRASE_WORDS) -> bool:
    """Whether ``text`` is nothing but one phrase of at most ``max_words`` words said two or more times."""
    words = normalise(text).split()
    for size in range(1, min(max_words, len(words) // 2) + 1):
        if len(words) % size == 0 and words == words[:size] * (len(words) // size):
            return True
    return False


def is_junk(memory: MemoryView) -> bool:
    """A title that is empty or a field name, or a text that is one short phrase repeated."""
    title = normalise(memory.title)
    if not title or title in FIELD_NAME_TITLES:
        return True
    return is_repeated_phrase(content_text(memory))


def content_text(memory: MemoryView) -> str:
    """The memory's words without its times (a date beside a repeated phrase does not make it content)."""
    spec = MEMORY_TYPES[memory.type]
    fields = {f.name: memory.fields.get(f.name) for f in spec.fields if f.kind != "time"}
    return matching_text(memory.type, fields)


def junk_ids(memories: Sequence[MemoryView]) -> list[int]:
    return [m.id for m in memories if m.active and is_junk(m)]


# -- answers ------------------------------------------------------------------------------


def holds_term(text: str, term: str) -> bool:
    """Whether lowercased ``text`` holds ``term`` as a whole word or phrase."""
    pattern = r"(?<![^\W_])" + re.escape(term.lower()) + r"(?![^\W_])"
    return re.search(pattern, text.lower()) is not None


def answer_correct(question: dict, answer: str, abstained: bool) -> bool:
    """Correct: an abstention for an ``abstain`` question; otherwise an answer (not an abstention) that holds
    every ``answer_all`` term, one ``answer_any`` term when given, and no ``answer_none`` term."""
    if question.get("abstain"):
        return abstained
    if abstained:
        return False
    if not all(holds_term(answer, t) for t in question.get("answer_all", ())):
        return False
    wanted = question.get("answer_any")
    if wanted and not any(holds_term(answer, t) for t in wanted):
        return False
    return not any(holds_term(answer, t) for t in question.get("answer_none", ()))


def numbers_in(text: str) -> set[str]:
    """The digit runs of ``text`` as values (``"07"`` -> ``"7"``)."""
    return {str(int(run)) for run in DIGITS.findall(text)}


def unsupported_numbers(answer: str, sources: Iterable[str], question: str = "") -> list[str]:
    """Digit runs of ``answer`` (citation markers like ``[2]`` removed) found in no source and not in the question."""
    known = numbers_in(question)
    for source in sources:
        known |= numbers_in(source)
    found = numbers_in(CITATION.sub(" ", answer))
    return sorted(found - known, key=lambda n: (len(n), n))


# -- what is shown ------------------------------------------------------------------------


def shown_strings(value: Any) -> Iterable[str]:
    """Every string in a JSON-like value (keys and values), for scanning what a command shows."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from shown_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from shown_strings(item)
    elif value is not None:
        yield str(value)


def count_appearances(texts: Iterable[str], secrets: Sequence[str]) -> int:
    """How many times any of ``secrets`` appears in ``texts`` (case and runs of spaces ignored)."""
    wanted = [" ".join(s.lower().split()) for s in secrets if s.strip()]
    if not wanted:
        return 0
    total = 0
    for text in texts:
        flat = " ".join(text.lower().split())
        total += sum(flat.count(secret) for secret in wanted)
    return total


@dataclass
class Tally:
    """Sums over cases."""

    points_met: int = 0
    points_total: int = 0
    by_type: dict[str, list[int]] = field(default_factory=dict)  # point type -> [met, total]

    def add_point(self, point_type: str | Sequence[str], met: bool) -> None:
        key = point_type if isinstance(point_type, str) else "/".join(sorted(point_type))
        entry = self.by_type.setdefault(key, [0, 0])
        entry[0] += int(met)
        entry[1] += 1
        self.points_met += int(met)
        self.points_total += 1


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
