"""Applying a batch's plan to the store: rule candidates and the model's decisions become memory changes.

Runs inside the batch's transaction (``Absorber._store``); each change is
guarded by a savepoint, so an invalid candidate is a logged rejection and not
a failed batch.  Rule candidates extend what is already stored where they can
(an activity goes on, a resource is seen again, a core block gains a line);
model decisions were already reconciled against similar memories.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable, Sequence

from core.absorb import extractors, llm, lookups, text as tx, updates
from core.absorb.dates import day_of, event_dates, noon_ts
from core.absorb.candidates import Candidate
from core.absorb.facts import SINGLE_VALUED, entity_key
from core.absorb.reports import BatchPlan, BatchReport
from core.errors import EngramError
from core.store.protect import keep_in_vault

log = logging.getLogger(__name__)

ACTOR = "absorb"
CORE_COMPACT_AT = 0.9  # rewrite a core block when it would pass this share of its limit
CORE_COMPACT_TO = 0.7
SUGGESTED = " (suggested)"
SIMILAR_LIMIT = 12  # stored memories looked at when a new one may repeat or update them
JUST_SAID_SECONDS = 60 * 60  # a correction that names only a new day is about an event stated this recently ...
JUST_SAID_SCAN = 60  # ... among the newest events
ENTITY_MAX_CHARS = 4000  # an entity's lines past this give way, oldest first (the history keeps them)
# Titles that name a field, not a thing: a model that fills a form with its labels proposes them.
FIELD_NAME_TITLES = frozenset(
    ("name", "content", "summary", "value", "date", "steps", "details", "caption", "title", "label", "type", "text",
     "fact", "memory", "note", "none", "null", "unknown", "n/a")
)
NOT_EVENTS = frozenset({"conversation", "activity", "daily_digest", "weekly_digest"})


class Applier:
    """Writes one batch's plan through the store; see the module docstring."""

    def __init__(self, store):
        self.store = store
        self.memories = store.memories

    def apply(self, plan: BatchPlan, report: BatchReport) -> None:
        """Every rule candidate and update in the order they were said, then every model decision.

        An update runs before the candidates of its own sentence, so "I no longer
        prefer aisle seats, I want window seats now" first ends the aisle line,
        then adds its own.
        """
        steps = [((c.meta.get("order") or (0.0, 0, 0)), 1, i, c) for i, c in enumerate(plan.rules)]
        steps += [(u.order, 0, i, u) for i, u in enumerate(plan.updates)]
        for _order, is_rule, _i, item in sorted(steps, key=lambda s: (s[0], s[1], s[2])):
            if is_rule:
                self._guarded(plan, report, item, lambda c=item: self._apply_rule(c, report))
            else:
                self._guarded_update(plan, report, item)
        for decision in plan.decisions:
            self._guarded(plan, report, decision.candidate, lambda d=decision: self._apply_decision(d, report, plan))

    def find_vault(self, candidate: Candidate):
        return self.memories.find_vault_entry(str(candidate.fields.get("secret_value") or ""))

    def _guarded(self, plan: BatchPlan, report: BatchReport, candidate: Candidate, apply: Callable[[], None]) -> None:
        """Apply one change in a savepoint: an invalid candidate is a logged rejection, not a failed batch."""
        try:
            with self.store.atomic():
                apply()
        except EngramError as exc:
            plan.reject("store", candidate, exc.message, candidate.sources)

    def _guarded_update(self, plan: BatchPlan, report: BatchReport, update: updates.Update) -> None:
        try:
            with self.store.atomic():
                self._apply_update(update, report)
        except EngramError as exc:
            plan.reject("store", None, f"an update could not be applied: {exc.message}", [update.obs_id])

    def _add(self, candidate: Candidate, report: BatchReport, reason: str) -> Any:
        memory = self.memories.add(candidate.type, candidate.fields, sources=candidate.sources, actor=ACTOR, reason=reason, embed=False)
        report.added[candidate.type] += 1
        return memory

    def _update(self, memory, changes: dict, sources: Sequence[int], report: BatchReport, reason: str) -> None:
        new = self.memories.update(memory.id, changes, sources=sources, actor=ACTOR, reason=reason)
        if new.updated_at != memory.updated_at:
            report.updated[memory.type] += 1

    # -- rule candidates ------------------------------------------------------------------------

    def _apply_rule(self, candidate: Candidate, report: BatchReport) -> None:
        kind = candidate.key[0] if candidate.key else None
        if candidate.type == "core":
            self._append_core(candidate, report)
        elif kind == "activity":
            self._extend_activity(candidate, report)
        elif kind == "resource":
            existing = self._find_resource(candidate)
            if existing is None:
                self._add(candidate, report, "resource seen in observations")
            else:
                self._update(existing, {}, candidate.sources[:1], report, "resource seen again")
        elif candidate.type == "knowledge_vault":
            self._keep_vault_entry(candidate, report)
        elif kind == "entity":
            self._merge_entity(candidate, report)
        elif kind in ("dated", "screen-event"):
            self._add_event(candidate, report)
        elif kind == "procedure":
            self._merge_procedure(candidate, report)
        elif kind == "said":
            self._add_unless_said(candidate, report)
        else:
            self._add(candidate, report, {"conversation": "chat exchange"}.get(kind, "rule"))

    # -- before writing, the store: repeats add a source, not a memory --------------------------

    def _similar(self, text: str, memory_type: str, limit: int = SIMILAR_LIMIT) -> list:
        """Active memories of ``memory_type`` that share words with ``text`` (full-text search, no model)."""
        if not tx.words(text):
            return []
        try:
            return [hit.memory for hit in self.memories.search(text[:500], types=[memory_type], limit=limit, semantic=False, for_reader=False)]
        except EngramError:
            return []

    def _add_event(self, candidate: Candidate, report: BatchReport) -> None:
        """An event, unless one on the same day already says the same (then it gains this source)."""
        fields = candidate.fields
        day = day_of(fields["occurred_at"])
        for memory in self._similar(fields["summary"], "episodic"):
            if memory.fields.get("event_type") in NOT_EVENTS or day_of(memory.fields["occurred_at"]) != day:
                continue
            body = fields["summary"].split(": ", 1)[-1]
            if set(candidate.sources) & set(memory.sources) and tx.normalised(body) in tx.normalised(memory.fields["summary"]):
                self._update(memory, {}, candidate.sources, report, "the same event said again")
                return  # the statement is already this event (a correction rewrote it)
            names, stems = updates.shared(fields["summary"], memory.fields["summary"])
            if names and stems or len(stems) >= 3 or updates.restates(fields["summary"], memory.fields["summary"]):
                self._update(memory, {}, candidate.sources, report, "the same event said again")
                return
        self._add(candidate, report, "sentence names a date" if candidate.key[0] == "dated" else "event on screen")

    def _merge_procedure(self, candidate: Candidate, report: BatchReport) -> None:
        summary = tx.normalised(candidate.fields["summary"])
        for memory in self._similar(candidate.fields["summary"], "procedural"):
            if tx.normalised(memory.fields.get("summary") or "") != summary:
                continue
            if self.memories.is_user_owned(memory.id):
                break
            steps = list(memory.fields.get("steps") or [])
            steps += [s for s in candidate.fields["steps"] if s not in steps]
            self._update(memory, {"steps": steps}, candidate.sources, report, "the same procedure seen again")
            return
        self._add(candidate, report, "steps the user wrote down" if candidate.fields.get("entry_type") == "guide"
                  else "commands typed in a terminal")

    def _add_unless_said(self, candidate: Candidate, report: BatchReport) -> None:
        said = tx.normalised(candidate.fields["summary"])
        for memory in self._similar(candidate.fields["summary"], "semantic", limit=5):
            if tx.normalised(memory.fields.get("summary") or "") == said:
                self._update(memory, {}, candidate.sources, report, "said again")
                return
        self._add(candidate, report, "what a speaker said about themselves")

    # -- the knowledge vault ------------------------------------------------------------------

    def _keep_vault_entry(self, candidate: Candidate, report: BatchReport) -> None:
        """A vault value: the same value (or the same street address) adds a source; a new number for the same
        label ("Kofi's number") replaces the old one, whose value stays in the history."""
        fields = candidate.fields
        kind = fields.get("entry_type")
        existing = None
        if kind == "address":
            key = lookups.address_key(fields["secret_value"])
            existing = next((m for m in self.memories.list("knowledge_vault", limit=500)
                             if m.fields.get("entry_type") == "address"
                             and lookups.address_key(m.fields.get("secret_value") or "") == key), None)
            if existing is not None:
                self._update(existing, {}, candidate.sources[:1], report, "address seen again")
                return
        if kind in lookups.LOOKUP_LABELS and ":" in (fields.get("caption") or "") and \
                self.memories.find_vault_entry(fields["secret_value"]) is None:
            existing = self.memories.find_vault_entry(kind=kind, caption=fields["caption"])
            if existing is not None and not self.memories.is_user_owned(existing.id):
                self._update(existing, {"secret_value": fields["secret_value"]}, candidate.sources[:1], report,
                             f"a new value for the {fields['caption']}")
                return
        older = []
        if candidate.meta.get("new_value") and extractors.is_own_caption(fields.get("caption") or "") and \
                self.memories.find_vault_entry(fields["secret_value"]) is None:
            older = [m for m in self.memories.list("knowledge_vault", limit=500)
                     if m.fields.get("entry_type") == kind and extractors.is_own_caption(m.fields.get("caption") or "")
                     and not self.memories.is_user_owned(m.id)]
        _memory, action = keep_in_vault(self.memories, fields, sources=candidate.sources[:1], actor=ACTOR,
                                        reason=f"{kind} found in observations", embed=False)
        if action in ("added", "updated"):
            getattr(report, action)[candidate.type] += 1
        for memory in older:  # "new address: ...": the old one is archived, its value kept in the history
            if _memory is None or memory.id != _memory.id:
                self.memories.set_archived(memory.id, True, actor=ACTOR, reason=f"replaced by a newer {kind}")
                report.updated[candidate.type] += 1

    def _extend_activity(self, candidate: Candidate, report: BatchReport) -> None:
        fields = candidate.fields
        existing = self.memories.find_activity(
            fields["details"], ending_after=fields["occurred_at"] - extractors.ACTIVITY_GAP_SECONDS,
            starting_before=fields["occurred_at"],
        )
        if existing is None or self.memories.is_user_owned(existing.id):
            if candidate.key[2] >= 2:
                self._add(candidate, report, "activity span from the window timeline")
            return
        start = existing.fields["occurred_at"]
        until = max(existing.fields.get("occurred_until") or start, fields["occurred_until"])
        what = existing.fields["summary"].rsplit(", ", 1)[0]
        summary = f"{what}, {extractors._clock(start)}–{extractors._clock(until)}"
        self._update(existing, {"occurred_until": until, "summary": summary}, candidate.sources, report, "activity continued")

    def _find_resource(self, candidate: Candidate):
        return self.memories.find_resource(location=candidate.fields.get("location"), title=candidate.fields["title"])

    def _append_core(self, candidate: Candidate, report: BatchReport) -> None:
        """A line for a core block: a repeat adds a source, a fuller restatement replaces the line it repeats,
        and a change replaces the line it changes (see ``core.absorb.updates``)."""
        label = candidate.fields.get("label") or "human"
        line = " ".join(str(candidate.fields.get("value") or "").split())
        existing = self.memories.find_core(label)
        if existing is not None and self.memories.is_user_owned(existing.id):
            # The user's own block is theirs: what absorb learns goes beside it, for them to take or leave.
            if line.lower() in existing.fields["value"].lower():
                return
            label = suggested(label)
            candidate.fields["label"] = label
            existing = self.memories.find_core(label)
        if existing is None:
            self._add(candidate, report, "lasting fact about the user")
            return
        lines = [l for l in existing.fields["value"].split("\n") if l.strip()]
        for index, old in enumerate(lines):
            same = updates.restates(line, old)
            if same == "same":
                self._update(existing, {}, candidate.sources, report, "the same fact said again")
                return
            if same == "fuller":
                lines[index] = line
                self._write_core(existing, lines, candidate, report, "the same fact, said more fully")
                return
        update = self._as_update(candidate)
        single = label.split(" ")[0] in SINGLE_VALUED
        if single and not update.kind and _names_differ(line, lines):
            update.kind = "change"  # "I live in Cork" after "I live in Dublin"
        kept = [l for l in lines if not updates.supersedes(update, l, same_family=True, single_valued=single)]
        reason = "added a lasting fact" if len(kept) == len(lines) else f"changed: {lookups.describe_addresses(candidate.meta.get('statement', line))[:200]}"
        self._write_core(existing, kept + [line], candidate, report, reason)

    def _write_core(self, existing, lines: list[str], candidate: Candidate, report: BatchReport, reason: str) -> None:
        limit = int(existing.fields.get("char_limit") or 2000)
        value = "\n".join(lines)
        if len(value) > CORE_COMPACT_AT * limit:
            value, dropped = compact_core(lines, int(CORE_COMPACT_TO * limit))
            reason = f"core block nearly full: rewritten compactly ({dropped} duplicate or oldest lines dropped)"
        self._update(existing, {"value": value}, candidate.sources, report, reason)

    @staticmethod
    def _as_update(candidate: Candidate) -> updates.Update:
        meta = candidate.meta
        order = meta.get("order") or (0.0, 0, 0)
        return updates.Update(candidate.sources[0] if candidate.sources else 0, order[0], meta.get("statement") or
                              candidate.describe(), meta.get("kind") or "", tx.negated_values(meta.get("statement") or ""),
                              order=order, source_text=meta.get("source_text") or meta.get("statement") or "")

    # -- people, places, organisations ----------------------------------------------------------

    def _find_entity(self, name: str):
        found = self.memories.find_semantic(name, ignore_case=True)
        if found is None and entity_key(name) != name.lower():
            found = self.memories.find_semantic(entity_key(name), ignore_case=True)
        if found is None:
            for memory in self._similar(name, "semantic", limit=5):
                if entity_key(memory.fields.get("name") or "") == entity_key(name):
                    return memory
        return found

    def _merge_entity(self, candidate: Candidate, report: BatchReport) -> None:
        """Lines about a person or thing go into its one semantic memory; repeats add a source, changes replace."""
        name = candidate.fields["name"]
        existing = self._find_entity(name)
        if existing is not None and self.memories.is_user_owned(existing.id):
            name = suggested(existing.fields["name"])
            candidate.fields["name"] = name
            existing = self.memories.find_semantic(name)
        if existing is None:
            self._add(candidate, report, "someone or something the user named")
            return
        lines = [l for l in (existing.fields.get("details") or "").split("\n") if l.strip()]
        changed = False
        for line, kind in zip(candidate.meta.get("lines") or [], candidate.meta.get("kinds") or []):
            if any(updates.restates(line, old) == "same" for old in lines):
                continue
            fuller = [i for i, old in enumerate(lines) if updates.restates(line, old) == "fuller"]
            if fuller:
                lines[fuller[0]] = line
            else:
                update = updates.Update(candidate.sources[0], 0.0, line, kind or "", tx.negated_values(line))
                lines = [old for old in lines if not updates.supersedes(update, old, same_family=True)] + [line]
            changed = True
        while len("\n".join(lines)) > ENTITY_MAX_CHARS and len(lines) > 1:
            lines.pop(0)
        changes: dict[str, Any] = {"details": "\n".join(lines)} if changed else {}
        if candidate.meta.get("relation") and existing.fields.get("summary") == existing.fields.get("name"):
            changes["summary"] = candidate.fields["summary"]
        self._update(existing, changes, candidate.sources, report, "more about someone or something the user named"
                     if changed else "mentioned again")

    # -- a statement that changes, corrects or ends older facts -------------------------------------

    def _apply_update(self, update: updates.Update, report: BatchReport) -> None:
        """Rewrite what ``update`` ends or corrects outside its own family: core lines, semantic lines, events."""
        reason = {"correct": "corrected by", "end": "ended by", "change": "changed by"}[update.kind]
        reason = f"{reason}: {lookups.describe_addresses(update.statement)[:200]}"  # a postal address is the vault's
        for block in self.memories.list("core", limit=50):
            if block.fields["label"].split(" ")[0] in update.families or self.memories.is_user_owned(block.id):
                continue
            lines = [l for l in block.fields["value"].split("\n") if l.strip()]
            new = [updates.annotated(l, update) if " (update " not in l and updates.supersedes(update, l) else l
                   for l in lines]
            if new != lines:
                self._update(block, {"value": "\n".join(new)}, [update.obs_id], report, reason)
        query = " ".join([update.statement, *update.negated])
        for memory in self._similar(query, "semantic"):
            if self.memories.is_user_owned(memory.id) or update.obs_id in memory.sources and \
                    entity_key(memory.fields.get("name") or "") not in update.entities:
                continue
            lines = [l for l in (memory.fields.get("details") or "").split("\n") if l.strip()]
            restated = entity_key(memory.fields.get("name") or "") in update.entities
            if not lines:  # a one-statement memory (a model's): its summary is the line
                if " (update " not in memory.fields["summary"] and updates.supersedes(update, memory.fields["summary"]):
                    self._update(memory, {"summary": updates.annotated(memory.fields["summary"], update)},
                                 [update.obs_id], report, reason)
                continue
            new: list[str] = []
            for line in lines:
                if " (update " in line or not updates.supersedes(update, line):
                    new.append(line)
                elif not restated:
                    new.append(updates.annotated(line, update))
            if new != lines:  # a line restated by this statement goes; its new line follows in the same batch
                self._update(memory, {"details": "\n".join(new) or None}, [update.obs_id], report, reason)
        self._update_events(update, query, report, reason)

    def _update_events(self, update: updates.Update, query: str, report: BatchReport, reason: str) -> None:
        events = [m for m in self._similar(query, "episodic")
                  if m.fields.get("event_type") not in NOT_EVENTS and update.obs_id not in m.sources
                  and not self.memories.is_user_owned(m.id) and " (update " not in m.fields["summary"]
                  and m.fields.get("occurred_at", 0) <= update.ts + 400 * 86400]
        matched = [m for m in events if updates.supersedes(update, m.fields["summary"])]
        moved = updates.rescheduled(update.statement, update.ts)
        if not matched and moved:
            # "the offsite got moved to 29 April": one word names the event; it is one still ahead
            matched = [m for m in events if m.fields["occurred_at"] >= update.ts - 86400
                       and updates.shared(update.statement, updates.body(m.fields["summary"]))[1]]
        if not matched and update.kind == "correct" and not update.negated and event_dates(update.statement, update.ts):
            matched = self._just_said_events(update)
        if not matched:
            return
        self._note_on_summaries(update, matched, report, reason)
        if update.kind == "correct" or moved:
            target = max(matched, key=lambda m: (sum(updates.mentions_value(m.fields["summary"], v) for v in update.negated),
                                                 m.created_at))
            speaker = (target.fields.get("actor") or "User").split(" and ")[0]
            changes: dict[str, Any] = {"summary": updates.corrected_summary(target.fields["summary"], update, speaker)}
            days = event_dates(update.statement, update.ts)
            if days:
                changes["occurred_at"] = noon_ts(days[0].day)
                changes["occurred_until"] = noon_ts(days[0].until) if days[0].until else None
            self._update(target, changes, [update.obs_id], report, reason)
            return
        for memory in matched:
            self._update(memory, {"summary": updates.annotated(memory.fields["summary"], update)}, [update.obs_id],
                         report, reason)

    def _note_on_summaries(self, update: updates.Update, events: list, report: BatchReport, reason: str) -> None:
        """The one-line summaries of the conversations where the changed events were said get the change as a note:
        a summary that lists "dinner, Imani, Friday" would otherwise still read as the plan after it was cancelled."""
        said = self.memories.sources_of([m.id for m in events])
        summaries = self.memories.get_many(self.memories.citing(said)) if said else {}
        for memory in summaries.values():
            if memory.type != "episodic" or memory.archived or memory.fields.get("event_type") != "conversation" \
                    or update.obs_id in memory.sources or " (update " in memory.fields["summary"] \
                    or self.memories.is_user_owned(memory.id):
                continue
            self._update(memory, {"summary": updates.annotated(memory.fields["summary"], update)}, [update.obs_id],
                         report, reason)

    def _just_said_events(self, update: updates.Update) -> list:
        """The event the user stated last in the same conversation, shortly before a correction that names only its
        new day ("sorry, I got that wrong, it's Wednesday 18 March"): the one the correction is about."""
        try:
            said = self.store.observations.get(update.obs_id)
        except EngramError:
            return []
        best, best_ts = None, None
        for memory in self.memories.list("episodic", limit=JUST_SAID_SCAN):
            if memory.fields.get("event_type") != "mentioned event" or update.obs_id in memory.sources or \
                    self.memories.is_user_owned(memory.id) or " (update " in memory.fields["summary"]:
                continue
            for obs in self.store.observations.get_many(memory.sources).values():
                if obs.conversation == said.conversation and obs.kind == "chat" and \
                        0 <= update.ts - obs.ts <= JUST_SAID_SECONDS and (best_ts is None or obs.ts > best_ts):
                    best, best_ts = memory, obs.ts
        return [best] if best is not None else []

    # -- model decisions ------------------------------------------------------------------------

    def _apply_decision(self, decision: llm.Decision, report: BatchReport, plan: BatchPlan) -> None:
        candidate = decision.candidate
        if decision.action == "NOOP":
            return
        if candidate.type == "core":
            self._append_core(candidate, report)
            return
        if decision.action in ("UPDATE", "DELETE") and self.memories.is_user_owned(decision.target.id):
            # Only the user rewrites or removes what the user wrote: the new fact is kept beside it.
            plan.reject("user_owned", candidate, f"would {decision.action.lower()} memory #{decision.target.id}, which "
                        "you wrote or edited; added as a new memory instead", candidate.sources)
            self._add(candidate, report, "new grounded fact beside a memory the user wrote")
            return
        if decision.action == "ADD":
            self._add(candidate, report, "proposed by the model, grounded in the batch")
        elif decision.action == "UPDATE":
            target = self.memories.get(decision.target.id)
            self._update(target, merged_fields(target, candidate, decision.merged), candidate.sources, report,
                         "merged with a new grounded fact")
        elif decision.action == "DELETE":
            self.memories.delete(decision.target.id, actor=ACTOR, reason=f"contradicted by: {candidate.describe()[:200]}")
            report.deleted[candidate.type] += 1
            self._add(candidate, report, "replaces a contradicted memory")


def title_of(candidate: Candidate) -> str:
    field = {"core": "label", "episodic": "summary", "semantic": "name", "procedural": "summary", "resource": "title",
             "knowledge_vault": "caption"}.get(candidate.type, "summary")
    return str(candidate.fields.get(field) or "")


def is_junk_title(title: str) -> bool:
    """A title that names a field ("name", "content", "summary"), is empty, or is a fragment of punctuation."""
    bare = " ".join(re.sub(r"[^\w\s]", " ", title.lower()).split())
    return not bare or bare in FIELD_NAME_TITLES or not re.search(r"[^\W\d_]{2}", bare)


def _names_differ(line: str, lines: list[str]) -> bool:
    """Whether ``line`` names a place or organisation the older lines do not, while they name others."""
    new = tx.capitalised(line) - {"user"}
    old = set().union(*(tx.capitalised(l) for l in lines)) - {"user"} if lines else set()
    return bool(new - old) and bool(old - new)


def suggested(name: str) -> str:
    """The name of the memory beside a user's own where absorb puts what it learned."""
    return name if name.endswith(SUGGESTED) else f"{name}{SUGGESTED}"


def compact_core(lines: list[str], budget: int) -> tuple[str, int]:
    """A core block's lines without duplicates, dropping the oldest until it fits ``budget``."""
    kept: list[str] = []
    for line in lines:
        low = line.lower()
        if any(low == k.lower() or low in k.lower() for k in kept):
            continue
        kept = [k for k in kept if k.lower() not in low]  # a newer, fuller line replaces the shorter one
        kept.append(line)
    while len("\n".join(kept)) > budget and len(kept) > 1:
        kept.pop(0)
    return "\n".join(kept), len(lines) - len(kept)


def merged_fields(target, candidate: Candidate, merged: str) -> dict[str, Any]:
    """The fields of ``target`` after an UPDATE: the model's merged text if grounded, else the richer statement."""
    statement_field = {"episodic": "summary", "semantic": "summary", "procedural": "summary", "resource": "summary",
                       "knowledge_vault": "secret_value"}[target.type]
    if target.type == "knowledge_vault":
        return {"secret_value": candidate.fields["secret_value"]}
    current = str(target.fields.get(statement_field) or "")
    new = merged or (candidate.describe() if len(candidate.describe()) > len(current) else current)
    changes: dict[str, Any] = {statement_field: new}
    if target.type == "procedural":
        steps = list(target.fields.get("steps") or [])
        steps += [s for s in candidate.fields.get("steps") or [] if s not in steps]
        changes["steps"] = steps
    return changes
