"""Merging near-duplicate memories of the same type.

Candidates come from the stored vectors: memories of one type whose cosine
similarity is at least ``consolidation.merge_similarity``.  A candidate pair is
then confirmed by rules, and by the chat model when one is available -- the
model may only refuse a pair the rules accepted, never accept one they refused:
a wrong merge loses a memory, a missed one only leaves a duplicate.

The rules refuse a pair when the two memories differ in any of:

- key fields: a semantic memory's name, an episodic memory's time (the spans
  must overlap, with ``EPISODE_SLACK_SECONDS`` of slack), event type and actor,
  a resource's location, a procedure's kind, a vault entry's exact value;
- numbers (which include days, times, amounts and versions), month and weekday
  names, and capitalised names;
- negation ("not", "never", "n't", ...) or polarity words ("like"/"dislike");
- content words: the smaller memory's words must nearly all be in the larger.

The survivor is the pinned one, else the one with the richer text; it keeps the
union of both memories' sources, the larger importance, both recall counts, the
union of an episode's time span, and gets a MERGE history row; the absorbed
memory is deleted with the reason "merged into #N" (the history keeps its text),
and the digests and facts that linked to it now link to the survivor.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from core.errors import EngramError
from core.store.memories import Memory

log = logging.getLogger(__name__)

ACTOR = "consolidation"
MERGEABLE_TYPES = ("episodic", "semantic", "resource", "procedural", "knowledge_vault")  # core blocks have unique labels
DIGEST_EVENT_TYPES = frozenset({"daily_digest", "weekly_digest"})
EPISODE_SLACK_SECONDS = 15 * 60
MIN_WORD_CONTAINMENT = 0.85
BLOCK_ROWS = 512
MAX_NEIGHBOURS = 8

_WORD = re.compile(r"[^\W_][\w'’]*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"(?<![\w'’])[A-Z][\w'’-]*")
NEGATIONS = frozenset("not no never none nothing nobody nowhere neither nor without cannot cant wont dont doesnt didnt isnt arent wasnt werent hasnt havent hadnt shouldnt wouldnt couldnt".split())
MONTHS_AND_DAYS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
    today yesterday tomorrow morning afternoon evening night""".split()
)
# Words whose swap flips a statement: "likes tea" / "dislikes tea".
POLARITY = frozenset(
    """like likes liked dislike dislikes disliked love loves loved hate hates hated prefer prefers preferred avoid avoids
    avoided enjoy enjoys enjoyed start started starts stop stopped stops begin began end ended open opened close closed
    accept accepted reject rejected win won lose lost buy bought sell sold join joined leave left arrive arrived depart
    departed before after above below more less increase increased decrease decreased add added remove removed yes
    true false always sometimes usually rarely""".split()
)
STOPWORDS = frozenset(
    """a an the and or but if then of to in on at by for with from into as is are was were be been being am do does did
    have has had it its this that these those i me my we our you your he him his she her they them their so very just
    also too up out about over one some any""".split()
)
# Fields that only render the time: compared by rule, not as words.
SKIP_TEXT_FIELDS = {"occurred_at", "occurred_until", "char_limit", "secret_value", "sensitivity"}


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'").replace("'", "") for w in _WORD.findall(text)]


def claim_text(memory: Memory) -> str:
    parts = []
    for name, value in memory.fields.items():
        if name in SKIP_TEXT_FIELDS or value is None:
            continue
        parts.append(" ".join(value) if isinstance(value, list) else str(value))
    return "\n".join(parts)


@dataclass
class Verdict:
    ok: bool
    reason: str


def _norm(value: Any) -> str:
    return " ".join(str(value or "").lower().split())


def _span(memory: Memory) -> tuple[float, float]:
    start = float(memory.fields["occurred_at"])
    end = memory.fields.get("occurred_until")
    return start, float(end) if end is not None else start


def key_fields_agree(a: Memory, b: Memory) -> Verdict:
    if a.type != b.type:
        return Verdict(False, "different types")
    kind = a.type
    if kind == "semantic" and _norm(a.fields.get("name")) != _norm(b.fields.get("name")):
        return Verdict(False, "different names")
    if kind == "episodic":
        if {a.fields.get("event_type"), b.fields.get("event_type")} & DIGEST_EVENT_TYPES:
            return Verdict(False, "digests are not merged")
        (a0, a1), (b0, b1) = _span(a), _span(b)
        if a0 > b1 + EPISODE_SLACK_SECONDS or b0 > a1 + EPISODE_SLACK_SECONDS:
            return Verdict(False, "different times")
        for name in ("event_type", "actor"):
            if a.fields.get(name) and b.fields.get(name) and _norm(a.fields[name]) != _norm(b.fields[name]):
                return Verdict(False, f"different {name.replace('_', ' ')}")
    if kind == "resource":
        la, lb = _norm(a.fields.get("location")), _norm(b.fields.get("location"))
        if la and lb and la != lb:
            return Verdict(False, "different locations")
    if kind == "procedural" and a.fields.get("entry_type") != b.fields.get("entry_type"):
        return Verdict(False, "different kinds of procedure")
    if kind == "knowledge_vault":
        if a.fields.get("secret_value") != b.fields.get("secret_value") or a.fields.get("entry_type") != b.fields.get("entry_type"):
            return Verdict(False, "different vault values")
    return Verdict(True, "")


def texts_agree(text_a: str, text_b: str) -> Verdict:
    """The word-level rules: numbers, dates, names, negation, polarity, containment."""
    numbers_a = {n.replace(",", "").lstrip("0") for n in _NUMBER.findall(text_a)}
    numbers_b = {n.replace(",", "").lstrip("0") for n in _NUMBER.findall(text_b)}
    if numbers_a != numbers_b:
        return Verdict(False, "different numbers")
    words_a, words_b = _words(text_a), _words(text_b)
    set_a, set_b = set(words_a), set(words_b)
    if (set_a & MONTHS_AND_DAYS) != (set_b & MONTHS_AND_DAYS):
        return Verdict(False, "different dates")
    if bool(set_a & NEGATIONS or "n't" in text_a) != bool(set_b & NEGATIONS or "n't" in text_b):
        return Verdict(False, "one is negated")
    if (set_a & POLARITY) != (set_b & POLARITY):
        return Verdict(False, "different polarity")
    names_a = {n.lower() for n in _NAME.findall(text_a)} - STOPWORDS - MONTHS_AND_DAYS
    names_b = {n.lower() for n in _NAME.findall(text_b)} - STOPWORDS - MONTHS_AND_DAYS
    # A capitalised word may just start a sentence: only a name that the other text lacks in any case counts.
    if {n for n in names_a ^ names_b if n not in (set_a & set_b)}:
        return Verdict(False, "different names")
    content_a, content_b = set_a - STOPWORDS, set_b - STOPWORDS
    small, large = sorted((content_a, content_b), key=len)
    if not small:
        return Verdict(False, "nothing to compare")
    if len(small & large) / len(small) < MIN_WORD_CONTAINMENT:
        return Verdict(False, "different words")
    return Verdict(True, "")


def rules_agree(a: Memory, b: Memory) -> Verdict:
    verdict = key_fields_agree(a, b)
    if not verdict.ok:
        return verdict
    return texts_agree(claim_text(a), claim_text(b))


MODEL_SCHEMA = {
    "type": "object",
    "properties": {"same": {"type": "boolean"}},
    "required": ["same"],
}


def model_agrees(chat_model, a: Memory, b: Memory) -> bool:
    """Ask the model whether two memories say the same thing; any doubt or error is a no."""
    messages = [
        {"role": "system", "content": "You compare two notes from a personal memory. Answer true only if they describe "
                                      "the very same fact or event with no detail that contradicts the other."},
        {"role": "user", "content": f"Note A: {a.text}\nNote B: {b.text}\nAre A and B the same memory?"},
    ]
    try:
        reply = chat_model.chat_json(messages, MODEL_SCHEMA, max_tokens=16)
    except EngramError as exc:
        log.info("the model could not compare #%s and #%s: %s", a.id, b.id, exc)
        return False
    return isinstance(reply, dict) and reply.get("same") is True


# -- candidates ------------------------------------------------------------------------


def candidate_pairs(ids: np.ndarray, vectors: np.ndarray, threshold: float, *, only: set[int] | None = None,
                    times: np.ndarray | None = None) -> list[tuple[float, int, int]]:
    """(cosine, id_a, id_b) with id_a < id_b and cosine >= threshold, most similar first.

    ``only`` restricts the pairs to those with at least one member in it (the
    light pass looks at memories changed since the last pass).  Each row keeps
    at most ``MAX_NEIGHBOURS`` neighbours, which bounds the work on a store full
    of near-identical screen episodes.  With ``times`` (events: their vectors
    leave the day out, so the same rehearsal on ten days embeds alike) the
    neighbours kept are the nearest in time, where a copy of the same event is.
    """
    pairs: dict[tuple[int, int], float] = {}
    if len(ids) < 2:
        return []
    rows = np.arange(len(ids)) if only is None else np.flatnonzero(np.isin(ids, list(only)))
    for start in range(0, len(rows), BLOCK_ROWS):
        block = rows[start : start + BLOCK_ROWS]
        sims = vectors[block] @ vectors.T
        sims[np.arange(len(block)), block] = -1.0  # not with itself
        for local, row in enumerate(block):
            hits = np.flatnonzero(sims[local] >= threshold)
            if len(hits) > MAX_NEIGHBOURS:
                if times is not None:
                    hits = hits[np.lexsort((-sims[local][hits], np.abs(times[hits] - times[row])))[:MAX_NEIGHBOURS]]
                else:
                    hits = hits[np.argsort(-sims[local][hits])[:MAX_NEIGHBOURS]]
            for col in hits:
                a, b = int(ids[row]), int(ids[col])
                key = (a, b) if a < b else (b, a)
                pairs[key] = float(sims[local][col])
    return sorted(((s, a, b) for (a, b), s in pairs.items()), key=lambda p: (-p[0], p[1], p[2]))


# -- merging ---------------------------------------------------------------------------


@dataclass
class MergeReport:
    candidates: int = 0
    merged: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    model_refused: int = 0
    model_calls: int = 0
    deferred: int = 0
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (survivor, absorbed)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


def _richness(memory: Memory) -> tuple:
    return (memory.pinned, len(memory.text), len(memory.sources), memory.access_count, -memory.id)


def choose_survivor(a: Memory, b: Memory) -> tuple[Memory, Memory]:
    return (a, b) if _richness(a) >= _richness(b) else (b, a)


def merge_pair(memories, survivor: Memory, absorbed: Memory, *, keep_fields: bool = False) -> Memory:
    """Merge ``absorbed`` into ``survivor`` in one transaction; see the module docstring.

    ``keep_fields``: the survivor is the user's own, so nothing it says changes (it only gains sources).
    """
    changes: dict[str, Any] = {}
    if absorbed.importance > survivor.importance:
        changes["importance"] = absorbed.importance
    if absorbed.pinned and not survivor.pinned:
        changes["pinned"] = True
    if survivor.type == "episodic" and not keep_fields:
        (s0, s1), (a0, a1) = _span(survivor), _span(absorbed)
        if a0 < s0:
            changes["occurred_at"] = a0
        if max(s1, a1) > s1 or (survivor.fields.get("occurred_until") is None and max(s1, a1) > s0):
            changes["occurred_until"] = max(s1, a1)
    reason = f"merged #{absorbed.id} into this memory (near-duplicate)"
    return memories.merge_into(survivor.id, absorbed.id, changes, actor=ACTOR, reason=reason)


def merge_duplicates(
    memories,
    *,
    threshold: float,
    chat_model=None,
    max_model_calls: int = 40,
    only: Callable[[str], set[int] | None] | None = None,
    stop: threading.Event | None = None,
    types: tuple[str, ...] = MERGEABLE_TYPES,
) -> MergeReport:
    """Find and merge near-duplicates of every type; one transaction per merge.

    ``only(type)`` may return the ids a light pass should look at (None: all).
    Pairs beyond ``max_model_calls`` are deferred to a later pass rather than
    merged on the rules alone, so a model, when there is one, sees every merge.
    """
    report = MergeReport()
    for memory_type in types:
        restrict = only(memory_type) if only else None
        if restrict is not None and not restrict:
            continue
        ids, vectors = memories.unit_vectors(memory_type)
        times = memories.times_of(ids) if memory_type == "episodic" else None
        pairs = candidate_pairs(ids, vectors, threshold, only=restrict, times=times)
        report.candidates += len(pairs)
        gone: set[int] = set()
        for _similarity, id_a, id_b in pairs:
            if stop is not None and stop.is_set():
                return report
            if id_a in gone or id_b in gone:
                continue
            found = memories.get_many([id_a, id_b])
            if len(found) < 2:
                continue
            a, b = found[id_a], found[id_b]
            verdict = rules_agree(a, b)
            if not verdict.ok:
                report.refuse(verdict.reason)
                continue
            owned = memories.user_owned([a.id, b.id])
            if len(owned) == 2:
                report.refuse("both written by the user")
                continue
            if chat_model is not None:
                if report.model_calls >= max_model_calls:
                    report.deferred += 1
                    continue
                report.model_calls += 1
                if not model_agrees(chat_model, a, b):
                    report.model_refused += 1
                    continue
            if owned:  # the user's memory survives, unchanged; the other's sources join it
                survivor, absorbed = (a, b) if a.id in owned else (b, a)
            else:
                survivor, absorbed = choose_survivor(a, b)
            merge_pair(memories, survivor, absorbed, keep_fields=bool(owned))
            gone.add(absorbed.id)
            report.merged += 1
            report.pairs.append((survivor.id, absorbed.id))
    return report
