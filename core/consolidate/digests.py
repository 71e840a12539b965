"""Daily and weekly digests of episodic memories.

A daily digest ("What I did on Saturday 2 May 2026") is an episodic memory
with ``event_type`` ``daily_digest``, ``occurred_at`` the day's start and
``occurred_until`` its end, linked (``memory_links`` kind ``digest``) to the
day's episodic memories and sourced from their observations.  A weekly digest
(``weekly_digest``) is built from a week's daily digests the same way.  Only
finished days and weeks get digests, and only when they hold at least
``MIN_DAY_MEMORIES`` memories or ``MIN_WEEK_DAYS`` daily digests.

The text is deterministic -- the day's memories grouped by kind of event, with
their times -- unless a chat model is available, in which case the model's
two-sentence summary leads, provided it passes the absorb grounding check
against the digest's sources; otherwise the deterministic summary stays.  The
deterministic text is checked too: times that its sources do not show are
left out.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta
from typing import Any

from core.absorb import grounding
from core.consolidate import derived
from core.errors import EngramError
from core.store.memories import Memory

log = logging.getLogger(__name__)

DAILY, WEEKLY = "daily_digest", "weekly_digest"
DIGEST_TYPES = frozenset({DAILY, WEEKLY})
MIN_DAY_MEMORIES = 2
MIN_WEEK_DAYS = 2
MAX_LINES = 40
MAX_SOURCES = 2000
HEADLINE_ITEMS = 4
MODEL_MIN_TERM_SHARE = 0.75


def day_start(day: date) -> float:
    return datetime.combine(day, dtime()).timestamp()


def day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M")


def _short(text: str, limit: int = 80) -> str:
    """``text`` cut at a word boundary (a word cut in half would be a new, ungrounded word)."""
    text = " ".join(str(text or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(",;:") + "…"


def _kind(memory: Memory) -> str:
    return (memory.fields.get("event_type") or "event").replace("_", " ")


def day_title(day: date, *, dated: bool = True) -> str:
    # A day known only from "last week" in a message has no written date in its sources: the
    # undated title keeps such a digest grounded (its time is still in occurred_at and the index).
    return f"What I did on {day_label(day)}" if dated else "What I did that day"


def deterministic_day_text(day: date, memories: list[Memory], *, with_times: bool, dated: bool = True) -> dict[str, Any]:
    ordered = sorted(memories, key=lambda m: (m.time, m.id))
    groups: dict[str, list[Memory]] = {}
    for memory in ordered:
        groups.setdefault(_kind(memory), []).append(memory)
    lines: list[str] = []
    for kind, members in groups.items():
        lines.append(f"{kind.capitalize()}:")
        for memory in members:
            if len(lines) >= MAX_LINES:
                break
            prefix = f"{_clock(memory.time)} " if with_times else ""
            lines.append(f"- {prefix}{_short(memory.fields.get('summary'), 160)}")
    shown = sum(1 for line in lines if line.startswith("- "))
    if shown < len(ordered):
        lines.append(f"(and {len(ordered) - shown} more)")
    headline = "; ".join(_short(m.fields.get("summary"), 60) for m in ordered[:HEADLINE_ITEMS])
    return {"summary": f"{day_title(day, dated=dated)}: {headline}", "details": "\n".join(lines)}


@dataclass
class DigestReport:
    daily_added: int = 0
    daily_refreshed: int = 0
    weekly_added: int = 0
    weekly_refreshed: int = 0
    model_written: int = 0


class Digester:
    def __init__(self, store, chat_model=None):
        self.store = store
        self.chat_model = chat_model

    # -- what there is -------------------------------------------------------------------

    def episodes_by_day(self) -> dict[date, list[dict]]:
        rows = self.store.memories.episodes(excluding=(DAILY, WEEKLY))
        days: dict[date, list[dict]] = {}
        for row in rows:
            days.setdefault(datetime.fromtimestamp(row["occurred_at"]).date(), []).append(row)
        return days

    def _source(self, memories: list[Memory], source_ids: list[int]) -> grounding.SourceText:
        observations = list(self.store.observations.get_many(source_ids).values())
        return grounding.SourceText.from_observations(observations)

    def _grounded(self, fields: dict, source: grounding.SourceText, share: float = grounding.MIN_TERM_SHARE) -> bool:
        return grounding.check("episodic", fields, source, min_term_share=share).ok

    def _model_summary(self, title: str, details: str, source: grounding.SourceText, base: dict) -> str | None:
        if self.chat_model is None:
            return None
        messages = [
            {"role": "system", "content": "Summarise a person's activity log in at most two short sentences. "
                                          "Use only names, places, numbers and words from the log. No preamble."},
            {"role": "user", "content": f"{title}\n{details}"},
        ]
        try:
            text = " ".join(self.chat_model.chat(messages, max_tokens=120).split())
        except EngramError as exc:
            log.info("the model could not write a digest: %s", exc)
            return None
        if not text:
            return None
        candidate = dict(base, summary=f"{title}: {text}")
        return candidate["summary"] if self._grounded(candidate, source, MODEL_MIN_TERM_SHARE) else None

    # -- daily ---------------------------------------------------------------------------

    def refresh_daily(self, *, today: date, stop: threading.Event | None = None, report: DigestReport | None = None) -> DigestReport:
        report = report or DigestReport()
        for day, rows in sorted(self.episodes_by_day().items()):
            if stop is not None and stop.is_set():
                break
            if day >= today or len(rows) < MIN_DAY_MEMORIES:
                continue
            key = f"digest:day:{day.isoformat()}"
            stamp = self._changed_stamp(key, rows)
            if stamp is None:
                continue
            child_ids = [r["id"] for r in rows]
            memories = [m for m in self.store.memories.get_many(child_ids).values()]
            source_ids = self.store.memories.sources_of(child_ids, limit=MAX_SOURCES)
            start = day_start(day)
            base = {"occurred_at": start, "occurred_until": day_start(day + timedelta(days=1)) - 1,
                    "actor": "user", "event_type": DAILY, "importance": 0.4}
            source = self._source(memories, source_ids)
            variants = [(True, True), (False, True), (True, False), (False, False)]  # (with times, dated)
            for with_times, dated in variants:
                fields = dict(base, **deterministic_day_text(day, memories, with_times=with_times, dated=dated))
                if self._grounded(fields, source):
                    break
            summary = self._model_summary(day_title(day, dated=dated), fields["details"], source, base)
            if summary:
                fields["summary"] = summary
                report.model_written += 1
            if self._write(key, fields, child_ids, source_ids, stamp, f"daily digest of {len(child_ids)} memories"):
                report.daily_added += 1
            else:
                report.daily_refreshed += 1
        return report

    def _changed_stamp(self, key: str, rows: list[dict]) -> str | None:
        """The fingerprint of the memories a digest covers, or None when its stored digest is up to date."""
        stamp = derived.fingerprint((r["id"], r["updated_at"]) for r in rows)
        existing = self.store.derived.lookup(key)
        return None if existing is not None and existing["fingerprint"] == stamp else stamp

    def _write(self, key, fields, child_ids, source_ids, stamp, reason) -> bool:
        """Store or refresh one digest; True when it is new."""
        _memory, created = derived.write(
            self.store, key=key, memory_type="episodic", fields=fields, child_ids=child_ids, link_kind="digest",
            sources=source_ids, stamp=stamp, reason=reason,
        )
        return created

    # -- weekly --------------------------------------------------------------------------

    def refresh_weekly(self, *, today: date, stop: threading.Event | None = None, report: DigestReport | None = None) -> DigestReport:
        report = report or DigestReport()
        rows = self.store.memories.episodes(event_types=(DAILY,))
        weeks: dict[date, list[dict]] = {}
        for row in rows:
            day = datetime.fromtimestamp(row["occurred_at"]).date()
            weeks.setdefault(day - timedelta(days=day.weekday()), []).append(row)
        this_monday = today - timedelta(days=today.weekday())
        for monday, dailies in sorted(weeks.items()):
            if stop is not None and stop.is_set():
                break
            if monday >= this_monday or len(dailies) < MIN_WEEK_DAYS:
                continue
            key = f"digest:week:{monday.isoformat()}"
            stamp = self._changed_stamp(key, dailies)
            if stamp is None:
                continue
            child_ids = [r["id"] for r in dailies]
            memories = sorted(self.store.memories.get_many(child_ids).values(), key=lambda m: m.time)
            first = datetime.fromtimestamp(memories[0].time).date()
            last = datetime.fromtimestamp(memories[-1].time).date()
            title = f"What I did from {day_label(first)} to {day_label(last)}"
            lines = [f"- {_short(m.fields.get('summary'), 200)}" for m in memories]
            source_ids = self.store.memories.sources_of(child_ids, limit=MAX_SOURCES)
            base = {"occurred_at": day_start(first), "occurred_until": day_start(last + timedelta(days=1)) - 1,
                    "actor": "user", "event_type": WEEKLY, "importance": 0.4}
            source = self._source(memories, source_ids)
            fields = dict(base, summary=title, details="\n".join(lines))
            if not self._grounded(fields, source):
                title = "What I did that week"
                fields["summary"] = title
            summary = self._model_summary(title, fields["details"], source, base)
            if summary:
                fields["summary"] = summary
                report.model_written += 1
            if self._write(key, fields, child_ids, source_ids, stamp, f"weekly digest of {len(child_ids)} days"):
                report.weekly_added += 1
            else:
                report.weekly_refreshed += 1
        return report
