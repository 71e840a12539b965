"""The two model calls of a batch: propose typed candidates, then reconcile them.

Both calls go through ``ChatModel.chat_json`` with a JSON schema, so a model
that cannot follow it yields a ``ModelError`` rather than free text.  The
candidate shape is one flat object for all six types (type, name, content,
optional date, value and steps): a small model follows one simple shape far
more reliably than six, and the absorber maps it onto each type's fields.

In the reconcile call existing memories are shown as small integers 0..n-1,
never as database ids; the schema limits the answer to those integers, and
``map_decisions`` checks again, so an invented id is a logged rejection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from core.absorb.dates import noon_ts, parse_day
from core.absorb.candidates import Candidate
from core.absorb.provenance import speaker_of
from core.store.types import MEMORY_TYPES
from core.resources import read_text

MAX_MEMORIES = 3
MAX_PROMPT_SOURCE_CHARS = 2000
MAX_LINE_CHARS = 400
EXTRACT_MAX_TOKENS = 300
RECONCILE_MAX_TOKENS = 200
ACTIONS = ("ADD", "UPDATE", "DELETE", "NOOP")
TYPE_NAMES = tuple(MEMORY_TYPES)


def load_prompt(name: str, **values: Any) -> str:
    text = read_text("prompts", f"{name}.md")
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text.strip()


def extract_schema(max_memories: int = MAX_MEMORIES) -> dict:
    return {
        "type": "object",
        "properties": {
            "memories": {
                "type": "array",
                "maxItems": max_memories,
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {"enum": list(TYPE_NAMES)},
                        "name": {"type": "string", "maxLength": 80},
                        "content": {"type": "string", "maxLength": 240},
                        "date": {"type": "string", "maxLength": 20},
                        "value": {"type": "string", "maxLength": 120},
                        "steps": {"type": "array", "maxItems": 6, "items": {"type": "string", "maxLength": 120}},
                    },
                    "required": ["type", "name", "content"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["memories"],
        "additionalProperties": False,
    }


def reconcile_schema(new_count: int, existing_count: int) -> dict:
    decision: dict[str, Any] = {
        "type": "object",
        "properties": {
            "fact": {"enum": list(range(new_count))},
            "action": {"enum": list(ACTIONS)},
            "merged": {"type": "string", "maxLength": 300},
        },
        "required": ["fact", "action"],
        "additionalProperties": False,
    }
    if existing_count:
        decision["properties"]["existing"] = {"enum": list(range(existing_count))}
    return {
        "type": "object",
        "properties": {"decisions": {"type": "array", "maxItems": new_count, "items": decision}},
        "required": ["decisions"],
        "additionalProperties": False,
    }


def source_prompt(observations: Sequence) -> str:
    """The batch as the model reads it: dated, attributed lines, clipped to fit a small context."""
    lines: list[str] = []
    used = 0
    last_day = None
    for obs in observations:
        moment = datetime.fromtimestamp(obs.ts)
        day = moment.strftime("%A %d %B %Y")
        if day != last_day:
            lines.append(f"[{day}]")
            last_day = day
        text = " ".join((obs.text or "").split())[:MAX_LINE_CHARS]
        if obs.kind == "chat":
            line = f"{speaker_of(obs)}: {text}"
        else:
            where = " - ".join(p for p in (obs.app, obs.window_title) if p)
            line = f"{moment.strftime('%H:%M')} screen ({where}): {text}"
        if used + len(line) > MAX_PROMPT_SOURCE_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def extract_messages(observations: Sequence) -> list[dict]:
    return [
        {"role": "system", "content": load_prompt("absorb_extract", max_memories=MAX_MEMORIES)},
        {"role": "user", "content": source_prompt(observations)},
    ]


def _clean(value: Any, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def candidate_from_model(item: dict, observations: Sequence) -> Candidate | None:
    """Map one proposed memory onto its type's fields; None when it lacks what the type needs."""
    kind = item.get("type")
    name = _clean(item.get("name"), 120)
    content = _clean(item.get("content"), 400)
    if kind not in MEMORY_TYPES or not (name or content):
        return None
    if "?" in content or re.search(r"[{}\[\]]", content + name) or len((content or name).split()) < 3:
        return None  # a question, JSON debris or a fragment states no fact
    sources = [o.id for o in observations]
    text = content or name
    if kind == "core":
        label = name.lower() if name.lower() in ("human", "persona") else "human"
        fields = {"label": label, "value": text}
    elif kind == "episodic":
        day = parse_day(str(item.get("date") or ""))
        when = noon_ts(day) if day else observations[0].ts
        speakers = []
        for obs in observations:
            if obs.kind == "chat" and speaker_of(obs) not in speakers:
                speakers.append(speaker_of(obs))
        fields = {"occurred_at": when, "occurred_until": None, "actor": " and ".join(speakers[:2]) or "user",
                  "event_type": "event", "summary": text, "details": None}
    elif kind == "semantic":
        fields = {"name": name or content[:60], "summary": text, "details": None}
    elif kind == "procedural":
        steps = [_clean(s, 200) for s in item.get("steps") or [] if _clean(s, 200)]
        fields = {"entry_type": "guide", "summary": name or content, "steps": steps or [content]}
        text = fields["summary"] + (": " + "; ".join(steps) if steps else "")
    elif kind == "resource":
        location = content if re.match(r"(https?://|/|~/)", content) else None
        fields = {"title": name or content, "resource_type": "document", "location": location,
                  "summary": None if location else content, "content_excerpt": None}
    else:  # knowledge_vault
        value = _clean(item.get("value"), 200)
        if not value:
            return None
        fields = {"entry_type": "fact", "caption": name or content, "secret_value": value, "sensitivity": "medium",
                  "source": "chat" if any(o.kind == "chat" for o in observations) else "screen"}
    meta = {"dated": bool(parse_day(str(item.get("date") or ""))) if kind == "episodic" else None, "name": name,
            "content": content}
    return Candidate(kind, fields, sources, origin="llm", key=None, text=text, meta=meta)


def parse_candidates(reply: Any, observations: Sequence) -> tuple[list[Candidate], list[str]]:
    """Candidates from the extract call's reply, and a reason for each item that could not be used."""
    items = reply.get("memories") if isinstance(reply, dict) else None
    if not isinstance(items, list):
        return [], ["the reply has no list of memories"]
    out, problems = [], []
    for item in items[: MAX_MEMORIES * 2]:
        if not isinstance(item, dict):
            problems.append(f"a proposed memory is {type(item).__name__}, not an object")
            continue
        candidate = candidate_from_model(item, observations)
        if candidate is None:
            problems.append(f"a proposed {item.get('type')!r} memory is a question, a fragment, or lacks its type's fields")
        else:
            out.append(candidate)
    return out, problems


@dataclass
class Existing:
    """An existing memory shown to the reconcile call under a small number."""

    number: int
    memory: Any


def reconcile_messages(candidates: Sequence[Candidate], existing: Sequence[Existing]) -> list[dict]:
    new_lines = "\n".join(f"[{i}] ({c.type}) {c.describe()}" for i, c in enumerate(candidates))
    old_lines = "\n".join(f"[{e.number}] ({e.memory.type}) {e.memory.text[:300]}" for e in existing)
    return [
        {"role": "system", "content": load_prompt("absorb_reconcile")},
        {"role": "user", "content": f"NEW facts:\n{new_lines}\n\nEXISTING memories:\n{old_lines or '(none)'}"},
    ]


@dataclass
class Decision:
    candidate: Candidate
    action: str
    target: Any = None  # the existing Memory for UPDATE / DELETE / NOOP
    merged: str = ""


def map_decisions(reply: Any, candidates: Sequence[Candidate], existing: Sequence[Existing]) -> tuple[list[Decision], list[tuple[Candidate | None, str]]]:
    """Decisions with existing numbers mapped back to memories; rejected decisions with their reasons.

    A candidate the model gave no decision for is added (it already passed the
    grounding check); a decision naming a number that was not shown, or a
    memory of another type, is rejected and its candidate not stored.
    """
    items = reply.get("decisions") if isinstance(reply, dict) else None
    if not isinstance(items, list):
        return [Decision(c, "ADD") for c in candidates], [(None, "the reconcile reply has no list of decisions; all added")]
    by_number = {e.number: e.memory for e in existing}
    decided: dict[int, Decision] = {}
    rejected: list[tuple[Candidate | None, str]] = []
    for item in items:
        if not isinstance(item, dict):
            rejected.append((None, "a decision is not an object"))
            continue
        fact, action = item.get("fact"), str(item.get("action") or "").upper()
        if not isinstance(fact, int) or isinstance(fact, bool) or not 0 <= fact < len(candidates):
            rejected.append((None, f"a decision names new fact {fact!r}, which was not shown"))
            continue
        candidate = candidates[fact]
        if fact in decided:
            continue  # the first decision for a fact stands
        if action not in ACTIONS:
            rejected.append((candidate, f"unknown action {action!r}"))
            decided[fact] = Decision(candidate, "REJECTED")
            continue
        target = None
        if action != "ADD":
            number = item.get("existing")
            if not isinstance(number, int) or isinstance(number, bool) or number not in by_number:
                rejected.append((candidate, f"{action} names existing memory {number!r}, which was not shown (invented id)"))
                decided[fact] = Decision(candidate, "REJECTED")
                continue
            target = by_number[number]
            if target.type != candidate.type:
                rejected.append((candidate, f"{action} pairs a {candidate.type} fact with a {target.type} memory"))
                decided[fact] = Decision(candidate, "REJECTED")
                continue
        decided[fact] = Decision(candidate, action, target, _clean(item.get("merged"), 400))
    decisions = [decided.get(i) or Decision(c, "ADD") for i, c in enumerate(candidates)]
    return [d for d in decisions if d.action != "REJECTED"], rejected


def describe_reply(reply: Any) -> str:
    return json.dumps(reply, ensure_ascii=False, default=str)[:500]
