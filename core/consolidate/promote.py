"""Promotion: what recurs across episodes becomes a lasting semantic memory.

Two deterministic signals, over episodic memories (digests excluded), each
counted in distinct local days:

- a recurring event: the same title -- an episode's summary with its times and
  numbers taken out ("Weekly sync with Ana", "Edited budget.ods in LibreOffice
  Calc") -- on at least ``consolidation.promote_min_days`` days.  The fact names
  the usual weekday and time when most occurrences share them;
- a recurring statement about someone: "I work at/for X", "I live in X",
  "my favourite X is Y", "I love/prefer/enjoy X" by the same speaker with the
  same object on that many days.  The fact quotes the latest such sentence.

Each fact is a semantic memory sourced from the observations of the episodes
it was seen in, linked to them (``memory_links`` kind ``promoted_from``), and
passes the absorb grounding check against those sources before it is stored;
with a chat model, the model may rephrase it in one sentence, kept only if that
sentence is grounded too.  Re-running refreshes a fact (new sources, new
episodes) instead of adding another; a fact already known as a semantic memory
of the same name is not duplicated.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from core.absorb import grounding
from core.consolidate import derived
from core.consolidate.digests import DIGEST_TYPES
from core.errors import EngramError

log = logging.getLogger(__name__)

MAX_SOURCES = 200
MAX_EPISODES = 5000
WEEKDAY_SHARE = 0.6
TIME_SLACK_MINUTES = 45
MODEL_MIN_TERM_SHARE = 0.75

_CLOCKS = re.compile(r"\b\d{1,2}[:.]\d{2}(?:\s*[-–]\s*\d{1,2}[:.]\d{2})?\b")
_TIMES = re.compile(_CLOCKS.pattern + r"|\d+")
_PUNCT = re.compile(r"[\s.,;:!?()\[\]–-]+$")
_SPEAKER_LINE = re.compile(r"^(?P<speaker>[^:\n]{1,40}):\s*(?P<text>.+)$", re.MULTILINE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_OBJECT = r"(?P<object>[A-Z][\w&'’.-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w&'’.-]*){0,3})"
STATEMENTS = (
    ("works at", re.compile(rf"\bI\s+(?:now\s+)?(?:work|am working)\s+(?:at|for)\s+{_OBJECT}")),
    ("lives in", re.compile(rf"\bI\s+(?:now\s+)?(?:live|am living)\s+in\s+{_OBJECT}")),
    ("favourite", re.compile(r"\b[Mm]y\s+favou?rite\s+(?P<what>\w+(?:\s\w+)?)\s+is\s+(?P<object>[\w'’ -]{2,40}?)(?=[.,!;]|$)")),
    ("likes", re.compile(r"\bI\s+(?:really\s+)?(?:love|prefer|enjoy)\s+(?P<object>[\w'’ -]{2,40}?)(?=[.,!;]|$)")),
)
NOT_TITLED = frozenset({"conversation", "mentioned event"})


def title_key(summary: str) -> str:
    """A title with times, numbers and trailing punctuation removed, lowercased: what recurs."""
    text = _TIMES.sub(" ", summary or "")
    text = " ".join(text.split())
    return _PUNCT.sub("", text).lower()


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts).date()


@dataclass
class Sighting:
    memory_id: int
    ts: float
    text: str  # the title, or the sentence that states the fact


@dataclass
class PromotionReport:
    checked: int = 0
    promoted: int = 0
    refreshed: int = 0
    rejected: int = 0
    model_written: int = 0
    facts: list[str] = field(default_factory=list)


class Promoter:
    def __init__(self, store, *, min_days: int, chat_model=None):
        self.store = store
        self.min_days = min_days
        self.chat_model = chat_model

    def _episodes(self) -> list[dict]:
        return self.store.memories.episodes(excluding=sorted(DIGEST_TYPES), limit=MAX_EPISODES, newest_first=True)

    def collect(self) -> dict[tuple[str, ...], list[Sighting]]:
        """Every recurring title and statement, with where it was seen."""
        found: dict[tuple[str, ...], list[Sighting]] = {}
        for row in self._episodes():
            key = title_key(row["summary"])
            # A conversation's summary is its first sentence, not a title that can recur.
            if len(key) >= 8 and ":" not in key and (row["event_type"] or "") not in NOT_TITLED:
                found.setdefault(("event", key), []).append(Sighting(row["id"], row["occurred_at"], row["summary"]))
            text = "\n".join(p for p in (row["summary"], row["details"]) if p)
            for speaker, sentence in self._statements(text, row["actor"]):
                for relation, pattern in STATEMENTS:
                    match = pattern.search(sentence)
                    if not match:
                        continue
                    obj = " ".join(match.group("object").split()).strip(" '’-")
                    if len(obj) < 2:
                        continue
                    what = match.groupdict().get("what") or ""
                    key = ("statement", speaker.lower(), relation, what.lower(), obj.lower())
                    found.setdefault(key, []).append(Sighting(row["id"], row["occurred_at"], f"{speaker}: {sentence.strip()}"))
        return found

    @staticmethod
    def _statements(text: str, actor: str | None):
        lines = list(_SPEAKER_LINE.finditer(text))
        if lines:
            for line in lines:
                for sentence in _SENTENCE.findall(line.group("text")):
                    yield line.group("speaker").strip(), sentence
        else:
            for sentence in _SENTENCE.findall(text):
                yield (actor or "user"), sentence

    def _fact(self, key: tuple[str, ...], sightings: list[Sighting]) -> tuple[str, dict]:
        latest = max(sightings, key=lambda s: s.ts)
        if key[0] == "event":
            title = _PUNCT.sub("", " ".join(_CLOCKS.sub(" ", latest.text).split()))
            weekdays = Counter(datetime.fromtimestamp(s.ts).strftime("%A") for s in sightings)
            weekday, count = weekdays.most_common(1)[0]
            parts = [f"{title} (recurring)"]
            if count / len(sightings) >= WEEKDAY_SHARE:
                parts.append(f"usually on {weekday}s")
                minutes = [datetime.fromtimestamp(s.ts).hour * 60 + datetime.fromtimestamp(s.ts).minute for s in sightings]
                middle = statistics.median(minutes)
                if all(abs(m - middle) <= TIME_SLACK_MINUTES for m in minutes):
                    parts.append(f"around {datetime.fromtimestamp(latest.ts):%H:%M}")
            first, last = min(s.ts for s in sightings), latest.ts
            return title, {"name": title, "summary": ", ".join(parts),
                           "details": f"seen from {_day(first):%-d %B %Y} to {_day(last):%-d %B %Y}"}
        _kind, _speaker, relation, what, _obj = key
        speaker, _, sentence = latest.text.partition(": ")
        match = dict(STATEMENTS)[relation].search(sentence)
        obj = " ".join(match.group("object").split()).strip(" '’-") if match else _obj
        name = f"{speaker}'s favourite {what}" if relation == "favourite" else f"{speaker} {relation} {obj}"
        return name, {"name": name, "summary": latest.text, "details": None}

    def _grounded(self, fields: dict, source: grounding.SourceText, share: float = grounding.MIN_TERM_SHARE) -> bool:
        return grounding.check("semantic", fields, source, min_term_share=share).ok

    def _model_sentence(self, fields: dict, sightings: list[Sighting], source: grounding.SourceText) -> str | None:
        if self.chat_model is None:
            return None
        examples = "\n".join(f"- {s.text}" for s in sorted(sightings, key=lambda s: s.ts)[-6:])
        messages = [
            {"role": "system", "content": "State in one short sentence the lasting fact these notes show. "
                                          "Use only words, names and numbers from the notes. No preamble."},
            {"role": "user", "content": examples},
        ]
        try:
            text = " ".join(self.chat_model.chat(messages, max_tokens=60).split())
        except EngramError as exc:
            log.info("the model could not phrase a fact: %s", exc)
            return None
        if not text or not self._grounded(dict(fields, summary=text), source, MODEL_MIN_TERM_SHARE):
            return None
        return text

    def run(self, *, stop: threading.Event | None = None) -> PromotionReport:
        report = PromotionReport()
        for key, sightings in sorted(self.collect().items()):
            if stop is not None and stop.is_set():
                break
            days = {_day(s.ts) for s in sightings}
            if len(days) < self.min_days:
                continue
            report.checked += 1
            label, fields = self._fact(key, sightings)
            episode_ids = sorted({s.memory_id for s in sightings})
            store_key = "fact:" + "|".join(key)
            stamp = derived.fingerprint(episode_ids)
            existing = self.store.derived.lookup(store_key)
            if existing is not None and existing["fingerprint"] == stamp:
                continue
            if existing is None and self.store.memories.find_semantic(fields["name"], ignore_case=True):
                continue  # already known, from the absorber or the user
            source_ids = self.store.memories.sources_of(episode_ids, limit=MAX_SOURCES)
            source = grounding.SourceText.from_observations(self.store.observations.get_many(source_ids).values())
            if not self._grounded(fields, source):
                plain = dict(fields, summary=fields["summary"].split(", usually")[0], details=None)
                if not self._grounded(plain, source):
                    report.rejected += 1
                    log.info("not promoting %r: not grounded in its sources", label)
                    continue
                fields = plain
            sentence = self._model_sentence(fields, sightings, source)
            if sentence:
                fields = dict(fields, details="\n".join(p for p in (sentence, fields.get("details")) if p))
                report.model_written += 1
            fields["importance"] = min(0.9, 0.5 + 0.05 * len(days))
            _memory, created = derived.write(
                self.store, key=store_key, memory_type="semantic", fields=fields, child_ids=episode_ids,
                link_kind="promoted_from", sources=source_ids, stamp=stamp,
                reason=f"seen on {len(days)} different days",
            )
            if created:
                report.promoted += 1
                report.facts.append(label)
            else:
                report.refreshed += 1
        return report
