"""Applying a batch's plan to the store: rule candidates and the model's decisions become memory changes.

Runs inside the batch's transaction (``Absorber._store``); each change is
guarded by a savepoint, so an invalid candidate is a logged rejection and not
a failed batch.  Rule candidates extend what is already stored where they can
(an activity goes on, a resource is seen again, a core block gains a line);
model decisions were already reconciled against similar memories.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from core.absorb import extractors, llm
from core.absorb.extractors import Candidate
from core.absorb.reports import BatchPlan, BatchReport
from core.errors import EngramError
from core.store.protect import keep_in_vault

log = logging.getLogger(__name__)

ACTOR = "absorb"
CORE_COMPACT_AT = 0.9  # rewrite a core block when it would pass this share of its limit
CORE_COMPACT_TO = 0.7
PROFILE_MAX_CHARS = 1500
SUGGESTED = " (suggested)"


class Applier:
    """Writes one batch's plan through the store; see the module docstring."""

    def __init__(self, store):
        self.store = store
        self.memories = store.memories

    def apply(self, plan: BatchPlan, report: BatchReport) -> None:
        """Every rule candidate, then every model decision, each in its own savepoint."""
        for candidate in plan.rules:
            self._guarded(plan, report, candidate, lambda c=candidate: self._apply_rule(c, report))
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
            _memory, action = keep_in_vault(self.memories, candidate.fields, sources=candidate.sources[:1], actor=ACTOR,
                                            reason=f"{candidate.fields['entry_type']} found in observations", embed=False)
            if action in ("added", "updated"):
                getattr(report, action)[candidate.type] += 1
        elif kind == "profile":
            self._append_profile(candidate, report)
        else:
            self._add(candidate, report, {"conversation": "chat exchange", "dated": "sentence names a date"}.get(kind, "rule"))

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

    def _append_profile(self, candidate: Candidate, report: BatchReport) -> None:
        existing = self.memories.find_semantic(candidate.fields["name"])
        if existing is not None and self.memories.is_user_owned(existing.id):
            if candidate.fields["summary"].lower() in existing.text.lower():
                return
            name = suggested(candidate.fields["name"])
            candidate.fields["name"] = name
            existing = self.memories.find_semantic(name)
        if existing is None:
            self._add(candidate, report, "stated preference")
            return
        lines = [existing.fields["summary"]] + [l for l in (existing.fields.get("details") or "").split("\n") if l]
        new = candidate.fields["summary"]
        if any(new.lower() == l.lower() for l in lines):
            return
        details = "\n".join(lines[1:] + [new])
        while len(details) > PROFILE_MAX_CHARS and "\n" in details:
            details = details.split("\n", 1)[1]  # the oldest preference gives way
        self._update(existing, {"details": details}, candidate.sources, report, "another stated preference")

    def _append_core(self, candidate: Candidate, report: BatchReport) -> None:
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
        if any(line.lower() == l.lower() or line.lower() in l.lower() for l in lines):
            return
        limit = int(existing.fields.get("char_limit") or 2000)
        value = "\n".join(lines + [line])
        reason = "added a lasting fact"
        if len(value) > CORE_COMPACT_AT * limit:
            value, dropped = compact_core(lines + [line], int(CORE_COMPACT_TO * limit))
            reason = f"core block nearly full: rewritten compactly ({dropped} duplicate or oldest lines dropped)"
        self._update(existing, {"value": value}, candidate.sources, report, reason)

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
