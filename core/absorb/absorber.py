"""The absorber: batches of observations in, typed and grounded memories out.

For each batch:

1. unreadable observations (garbage OCR) are set aside with a logged rejection;
2. the rule-based extractors propose candidates (always, with or without a model);
3. with a model, one ``chat_json`` call proposes typed candidates;
4. every candidate passes the grounding check or is logged and dropped;
5. model candidates that resemble existing memories of their type go to a
   second ``chat_json`` call that chooses ADD, UPDATE, DELETE or NOOP;
6. one transaction stores every change (the store writes provenance and
   history), the rejections, the batch record, and marks the observations
   absorbed.  A crash before the commit leaves the batch in the queue and
   nothing stored; a crash after it leaves nothing to redo.  The transaction
   re-checks that its observations are still unabsorbed, so two absorbers
   (the scheduler and ``engram absorb --now``) never store a batch twice.

When no chat model is usable the rule-based part still runs and the batch's
observations are queued in ``absorb_llm_pending``; the model pass runs on them
once a model is available.  A model that answers but breaks the schema
(``ModelError``) is logged as a rejection and not retried: at temperature 0 the
same model would give the same answer.  (Re-running the model pass over old
observations after switching to a larger model is not offered yet.)  Models are called
outside the transaction, so the database is never locked while a model thinks.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from core.absorb import extractors, grounding, llm
from core.absorb.extractors import Candidate
from core.errors import EngramError, ModelError, ModelUnavailableError
from core.memory.protect import keep_in_vault
from core.secrets import mask as mask_secret
from core.search import MEMORY_INDEX

log = logging.getLogger(__name__)

ACTOR = "absorb"
CHAT_BATCH_MESSAGES = 12
SCREEN_BATCH_OBSERVATIONS = 60
SCREEN_BATCH_MINUTES = 15
CHAT_GAP_SECONDS = 30 * 60
SIMILAR_PER_CANDIDATE = 3
MAX_EXISTING_SHOWN = 8
CORE_COMPACT_AT = 0.9  # rewrite a core block when it would pass this share of its limit
CORE_COMPACT_TO = 0.7
PROFILE_MAX_CHARS = 1500
RECONCILED_TYPES = ("episodic", "semantic", "procedural", "resource")
MODEL_TERM_SHARE = 0.75  # model candidates must reuse most of their key terms from the source


def mask_for_log(memory_type: str, fields: dict) -> dict:
    """A candidate's fields as the rejection log keeps them: vault values masked, times as numbers."""
    out = dict(fields)
    if memory_type == "knowledge_vault" and out.get("secret_value"):
        out["secret_value"] = mask_secret(str(out["secret_value"]))
    return out


class _AlreadyAbsorbed(Exception):
    """Another absorber stored this batch first; this one's work is rolled back."""


# -- reports ------------------------------------------------------------------------------


@dataclass
class BatchReport:
    batch_id: int | None
    observations: int
    kinds: list[str]
    llm_calls: int = 0
    llm_state: str = "skipped"  # skipped | done | deferred | failed | unreadable
    seconds: float = 0.0
    added: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    deleted: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    deferred: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "observations": self.observations,
            "kinds": self.kinds,
            "llm_calls": self.llm_calls,
            "llm_state": self.llm_state,
            "seconds": round(self.seconds, 3),
            "added": dict(self.added),
            "updated": dict(self.updated),
            "deleted": dict(self.deleted),
            "rejected": dict(self.rejected),
        }


@dataclass
class AbsorbReport:
    batches: list[BatchReport] = field(default_factory=list)
    seconds: float = 0.0
    backlog_before: int = 0
    backlog_after: int = 0
    llm_pending: int = 0
    stopped: bool = False

    def total(self, name: str) -> Counter:
        out: Counter = Counter()
        for batch in self.batches:
            out.update(getattr(batch, name))
        return out

    def to_dict(self) -> dict[str, Any]:
        calls = [b.llm_calls for b in self.batches]
        return {
            "batches": len(self.batches),
            "observations": sum(b.observations for b in self.batches),
            "added": dict(self.total("added")),
            "updated": dict(self.total("updated")),
            "deleted": dict(self.total("deleted")),
            "rejected": dict(self.total("rejected")),
            "llm_calls": sum(calls),
            "llm_calls_max_per_batch": max(calls, default=0),
            "llm_states": dict(Counter(b.llm_state for b in self.batches)),
            "seconds": round(self.seconds, 3),
            "seconds_per_batch": round(self.seconds / len(self.batches), 3) if self.batches else 0.0,
            "backlog_before": self.backlog_before,
            "backlog_after": self.backlog_after,
            "llm_pending": self.llm_pending,
            "stopped": self.stopped,
            "per_batch": [b.to_dict() for b in self.batches],
        }


# -- batching -------------------------------------------------------------------------------


def make_batches(
    observations: Sequence,
    *,
    chat_size: int = CHAT_BATCH_MESSAGES,
    screen_size: int = SCREEN_BATCH_OBSERVATIONS,
    screen_minutes: float = SCREEN_BATCH_MINUTES,
) -> list[list]:
    """Group observations: chat messages by conversation in windows of ``chat_size``
    (split at pauses of 30 minutes), screen observations in spans of at most
    ``screen_minutes`` or ``screen_size`` observations.  Batches come out in time order."""
    open_batches: dict[tuple, list] = {}
    done: list[list] = []
    for obs in sorted(observations, key=lambda o: (o.ts, o.id)):
        is_screen = obs.kind == "screen"
        key = ("screen",) if is_screen else ("chat", obs.conversation or "")
        batch = open_batches.get(key)
        if batch:
            full = len(batch) >= (screen_size if is_screen else chat_size)
            paused = obs.ts - batch[-1].ts > (SCREEN_BATCH_MINUTES * 60 if is_screen else CHAT_GAP_SECONDS)
            too_long = is_screen and obs.ts - batch[0].ts > screen_minutes * 60
            if full or paused or too_long:
                done.append(batch)
                batch = None
        if not batch:
            batch = open_batches[key] = []
        batch.append(obs)
    done.extend(b for b in open_batches.values() if b)
    done.sort(key=lambda b: (b[0].ts, b[0].id))
    return done


# -- the absorber -------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What one batch will store, decided before the transaction opens."""

    rules: list[Candidate] = field(default_factory=list)
    decisions: list[llm.Decision] = field(default_factory=list)
    rejections: list[tuple[str, str | None, str, dict | None, list[int]]] = field(default_factory=list)

    def reject(self, stage: str, candidate: Candidate | None, reason: str, sources: list[int]) -> None:
        self.rejections.append(
            (stage, candidate.type if candidate else None, reason,
             mask_for_log(candidate.type, candidate.fields) if candidate else None,
             candidate.sources if candidate else sources)
        )


class Absorber:
    """Turns the observation backlog into memories; see the module docstring."""

    def __init__(self, engine, *, use_llm: bool | None = None, chat_size: int | None = None):
        self.engine = engine
        self.db = engine.db
        self.memories = engine.memories
        self.clock = engine.clock
        self.use_llm = bool(engine.settings.get("absorb.use_llm")) if use_llm is None else use_llm
        self.chat_size = chat_size or CHAT_BATCH_MESSAGES
        self._lock = threading.Lock()

    # -- the backlog ----------------------------------------------------------------------------

    def backlog(self) -> int:
        return self.engine.observations.count(unabsorbed=True)

    def llm_pending(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM absorb_llm_pending"))

    def absorb_backlog(
        self,
        *,
        stop: threading.Event | None = None,
        max_batches: int | None = None,
        settle_seconds: float = 0.0,
        progress: Callable[[BatchReport], None] | None = None,
    ) -> AbsorbReport:
        """Absorb every waiting observation (and deferred model work); returns what was done.

        ``settle_seconds`` holds back a batch that is not full and whose newest
        observation is younger than that (a conversation may still be going on);
        the scheduled job uses it, ``absorb --now`` does not.
        """
        started = time.perf_counter()
        report = AbsorbReport(backlog_before=self.backlog())
        with self._lock:
            self.engine.events.emit("absorb_will_start", backlog=report.backlog_before)
            try:
                self._run(report, stop, max_batches, settle_seconds, progress)
            except Exception as exc:
                self.engine.events.emit("absorb_did_fail", message=str(exc))
                raise
        report.seconds = time.perf_counter() - started
        report.backlog_after = self.backlog()
        report.llm_pending = self.llm_pending()
        self.engine.events.emit("absorb_did_finish", report=report.to_dict())
        return report

    def _limit_reached(self, report: AbsorbReport, stop, max_batches) -> bool:
        if stop is not None and stop.is_set():
            report.stopped = True
            return True
        return max_batches is not None and len(report.batches) >= max_batches

    def _run(self, report: AbsorbReport, stop, max_batches, settle_seconds, progress) -> None:
        for group in self._deferred_groups():
            if self._limit_reached(report, stop, max_batches):
                return
            batch = self.absorb_deferred(group)
            if batch is None:
                break  # still no model
            report.batches.append(batch)
            if progress:
                progress(batch)
        while not self._limit_reached(report, stop, max_batches):
            waiting = self.engine.observations.unabsorbed(limit=2000)
            if not waiting:
                return
            batches = make_batches(waiting, chat_size=self.chat_size)
            if settle_seconds:
                now = self.clock()
                batches = [b for b in batches if now - b[-1].ts >= settle_seconds or len(b) >= self.chat_size]
                if not batches:
                    return
            for observations in batches:
                if self._limit_reached(report, stop, max_batches):
                    return
                batch = self.absorb_batch(observations)
                report.batches.append(batch)
                if progress:
                    progress(batch)
            if len(waiting) < 2000 and not settle_seconds and self.backlog() == 0:
                return

    # -- one batch ------------------------------------------------------------------------------

    def absorb_batch(self, observations: Sequence) -> BatchReport:
        """Absorb one batch: rules, model, grounding, reconcile, then one transaction."""
        started = time.perf_counter()
        report = BatchReport(None, len(observations), sorted({o.kind for o in observations}))
        plan = _Plan()
        readable = []
        for obs in observations:
            if extractors.looks_like_garbage(obs.text or ""):
                titled = obs.kind == "screen" and obs.window_title
                plan.reject("input", None, f"observation {obs.id} is unreadable text (garbage OCR or empty)"
                            + ("; only its window title was used" if titled else ""), [obs.id])
                if titled:
                    readable.append(obs)
            else:
                readable.append(obs)
        source = grounding.SourceText.from_observations(observations)
        vault_from_screen = bool(self.engine.settings.get("privacy.vault_from_screen"))
        for candidate in extractors.extract(observations, vault_from_screen=vault_from_screen):
            result = grounding.check(candidate.type, candidate.fields, source)
            if result.ok:
                plan.rules.append(candidate)
            else:
                plan.reject("grounding", candidate, result.reason, candidate.sources)
        text_obs = [o for o in readable if extractors.looks_like_garbage(o.text or "") is False]
        if not text_obs:
            report.llm_state = "unreadable" if not readable else "skipped"
        elif self.use_llm:
            self._model_pass(text_obs, source, plan, report)
        self._store(observations, plan, report, deferred_ids=[o.id for o in text_obs] if report.deferred else [])
        report.seconds = time.perf_counter() - started
        return report

    def _model_pass(self, observations: Sequence, source: grounding.SourceText, plan: _Plan, report: BatchReport) -> None:
        """At most two model calls: extract, then reconcile. Fills ``plan.decisions``."""
        try:
            model = self.engine.chat_model()
        except ModelUnavailableError as exc:
            log.info("absorb: model unavailable, model pass deferred: %s", exc.message)
            report.llm_state = "deferred"
            report.deferred = True
            return
        ids = [o.id for o in observations]
        report.llm_calls += 1
        try:
            reply = model.chat_json(llm.extract_messages(observations), llm.extract_schema(), max_tokens=llm.EXTRACT_MAX_TOKENS)
        except ModelUnavailableError as exc:
            report.llm_state, report.deferred = "deferred", True
            log.info("absorb: model became unavailable: %s", exc.message)
            return
        except ModelError as exc:
            report.llm_state = "failed"
            plan.reject("model_output", None, f"the extract call failed: {exc.message}", ids)
            return
        except Exception as exc:  # a crashing model runtime must not wedge the queue on this batch forever
            log.exception("absorb: the extract call crashed")
            report.llm_state = "failed"
            plan.reject("model_output", None, f"the extract call crashed: {exc!r}"[:500], ids)
            return
        candidates, problems = llm.parse_candidates(reply, observations)
        for problem in problems:
            plan.reject("model_output", None, problem, ids)
        grounded: list[Candidate] = []
        for candidate in candidates:
            result = grounding.check(candidate.type, candidate.fields, source, min_term_share=MODEL_TERM_SHARE)
            if result.ok:
                candidate.sources = narrow_sources(candidate, observations)
                grounded.append(candidate)
            else:
                plan.reject("grounding", candidate, result.reason, ids)
        report.llm_state = "done"
        to_reconcile: list[Candidate] = []
        for candidate in grounded:
            if candidate.type in RECONCILED_TYPES:
                to_reconcile.append(candidate)
            elif candidate.type == "knowledge_vault" and self._find_vault(candidate) is not None:
                continue  # the exact value is already kept
            else:
                plan.decisions.append(llm.Decision(candidate, "ADD"))
        if to_reconcile:
            self._reconcile(model, to_reconcile, observations, plan, report)

    def _reconcile(self, model, candidates: list[Candidate], observations, plan: _Plan, report: BatchReport) -> None:
        shown: list[llm.Existing] = []
        seen: set[int] = set()
        has_similar: set[int] = set()
        for index, candidate in enumerate(candidates):
            for hit in self.memories.search(candidate.describe(), types=[candidate.type], limit=SIMILAR_PER_CANDIDATE):
                has_similar.add(index)
                if hit.id not in seen and len(shown) < MAX_EXISTING_SHOWN:
                    seen.add(hit.id)
                    shown.append(llm.Existing(len(shown), hit.memory))
        if not shown:
            plan.decisions.extend(llm.Decision(c, "ADD") for c in candidates)
            return
        report.llm_calls += 1
        try:
            reply = model.chat_json(
                llm.reconcile_messages(candidates, shown),
                llm.reconcile_schema(len(candidates), len(shown)),
                max_tokens=llm.RECONCILE_MAX_TOKENS,
            )
        except Exception as exc:  # ModelError, or a crashing runtime: logged either way
            if not isinstance(exc, ModelError):
                log.exception("absorb: the reconcile call crashed")
                exc = ModelError(f"the model runtime crashed: {exc!r}"[:300])
            # Without a verdict, only facts with nothing similar stored are safe to add.
            for index, candidate in enumerate(candidates):
                if index in has_similar:
                    plan.reject("reconcile", candidate, f"the reconcile call failed: {exc.message}", candidate.sources)
                else:
                    plan.decisions.append(llm.Decision(candidate, "ADD"))
            return
        decisions, rejected = llm.map_decisions(reply, candidates, shown)
        for candidate, reason in rejected:
            plan.reject("reconcile", candidate, reason, [o.id for o in observations])
        source_cache: dict[int, grounding.SourceText] = {}
        for decision in decisions:
            if decision.action == "UPDATE" and decision.merged:
                target = decision.target
                if target.id not in source_cache:
                    source_cache[target.id] = grounding.SourceText.from_observations(observations, extra=[target.text])
                check = grounding.check("semantic", {"summary": decision.merged}, source_cache[target.id])
                if not check.ok:
                    plan.reject("grounding", decision.candidate, f"merged text rejected: {check.reason}", decision.candidate.sources)
                    decision.merged = ""
            plan.decisions.append(decision)

    def absorb_deferred(self, observation_ids: list[int]) -> BatchReport | None:
        """Run the model pass on observations whose rule pass ran without a model; None if still no model."""
        try:
            self.engine.chat_model()
        except ModelUnavailableError:
            return None
        started = time.perf_counter()
        found = self.engine.observations.get_many(observation_ids)
        observations = [found[i] for i in sorted(found, key=lambda i: (found[i].ts, i))]
        report = BatchReport(None, len(observations), sorted({o.kind for o in observations}))
        plan = _Plan()
        if observations:
            self._model_pass(observations, grounding.SourceText.from_observations(observations), plan, report)
        if report.deferred:
            return None
        self._store([], plan, report, deferred_ids=[], resolved_ids=observation_ids)
        report.seconds = time.perf_counter() - started
        return report

    def _deferred_groups(self) -> list[list[int]]:
        if not self.use_llm:
            return []
        rows = self.db.query("SELECT observation_id, batch_id FROM absorb_llm_pending ORDER BY batch_id, observation_id")
        groups: dict[Any, list[int]] = {}
        for row in rows:
            groups.setdefault(row["batch_id"], []).append(row["observation_id"])
        return list(groups.values())

    # -- storing ----------------------------------------------------------------------------------

    def _store(self, observations: Sequence, plan: _Plan, report: BatchReport, *, deferred_ids: list[int],
               resolved_ids: Sequence[int] = ()) -> None:
        ids = [o.id for o in observations]
        now = self.clock()
        try:
            with self.db.transaction():
                if ids:
                    marks = ",".join("?" * len(ids))
                    waiting = self.db.scalar(f"SELECT count(*) FROM observations WHERE absorbed_at IS NULL AND id IN ({marks})", ids)
                    if int(waiting) != len(ids):
                        raise _AlreadyAbsorbed()
                if resolved_ids:
                    marks = ",".join("?" * len(resolved_ids))
                    cursor = self.db.execute(f"DELETE FROM absorb_llm_pending WHERE observation_id IN ({marks})", list(resolved_ids))
                    if cursor.rowcount == 0:
                        raise _AlreadyAbsorbed()
                batch_id = int(self.db.execute(
                    "INSERT INTO absorb_batches(started_at, finished_at, observations, llm_calls, llm_state, seconds) "
                    "VALUES (?, ?, ?, ?, ?, 0)",
                    [now, now, len(ids) or len(resolved_ids), report.llm_calls, report.llm_state],
                ).lastrowid)
                report.batch_id = batch_id
                for candidate in plan.rules:
                    self._guarded(plan, report, candidate, lambda c=candidate: self._apply_rule(c, report))
                for decision in plan.decisions:
                    self._guarded(plan, report, decision.candidate, lambda d=decision: self._apply_decision(d, report))
                for stage, memory_type, reason, candidate, sources in plan.rejections:
                    self.db.execute(
                        "INSERT INTO absorb_rejections(at, batch_id, stage, memory_type, reason, candidate, observation_ids) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [now, batch_id, stage, memory_type, reason,
                         json.dumps(candidate, ensure_ascii=False, default=str) if candidate else None, json.dumps(sources)],
                    )
                    report.rejected[stage] += 1
                for obs_id in deferred_ids:
                    self.db.execute(
                        "INSERT OR IGNORE INTO absorb_llm_pending(observation_id, batch_id, queued_at, reason) VALUES (?, ?, ?, ?)",
                        [obs_id, batch_id, now, "no chat model was available"],
                    )
                self.engine.observations.mark_absorbed(ids, batch_id)
                # The vault keeps the clear values now; the observations keep only their masks.
                self.engine.observations.drop_carried_secrets(ids)
                self.db.execute(
                    "UPDATE absorb_batches SET finished_at = ?, seconds = ?, report = ? WHERE id = ?",
                    [self.clock(), 0.0, json.dumps(report.to_dict()), batch_id],
                )
        except _AlreadyAbsorbed:
            log.info("absorb: batch of %d observations was absorbed by another run; skipped", len(ids))
            report.batch_id = None
            report.added.clear(), report.updated.clear(), report.deleted.clear(), report.rejected.clear()
            report.llm_state = "skipped"
            return
        try:
            self.engine.indexer.index_pending([MEMORY_INDEX])
        except EngramError as exc:  # vectors are computed later by the scheduler's embed job
            log.warning("absorb: embedding new memories failed, left for later: %s", exc.message)

    def _guarded(self, plan: _Plan, report: BatchReport, candidate: Candidate, apply: Callable[[], None]) -> None:
        """Apply one change in a savepoint: an invalid candidate is a logged rejection, not a failed batch."""
        try:
            with self.db.transaction():
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
        row = self.db.query_one(
            "SELECT id FROM memory_episodic WHERE event_type = 'activity' AND details = ? AND occurred_until >= ? "
            "AND occurred_at <= ? ORDER BY occurred_until DESC LIMIT 1",
            [fields["details"], fields["occurred_at"] - extractors.ACTIVITY_GAP_SECONDS, fields["occurred_at"]],
        )
        if row is None:
            if candidate.key[2] >= 2:
                self._add(candidate, report, "activity span from the window timeline")
            return
        existing = self.memories.get(row["id"])
        start = existing.fields["occurred_at"]
        until = max(existing.fields.get("occurred_until") or start, fields["occurred_until"])
        what = existing.fields["summary"].rsplit(", ", 1)[0]
        summary = f"{what}, {extractors._clock(start)}–{extractors._clock(until)}"
        self._update(existing, {"occurred_until": until, "summary": summary}, candidate.sources, report, "activity continued")

    def _find_resource(self, candidate: Candidate):
        fields = candidate.fields
        if fields.get("location"):
            row = self.db.query_one("SELECT id FROM memory_resource WHERE location = ? COLLATE NOCASE LIMIT 1", [fields["location"]])
        else:
            row = self.db.query_one(
                "SELECT id FROM memory_resource WHERE location IS NULL AND title = ? COLLATE NOCASE LIMIT 1", [fields["title"]]
            )
        return self.memories.get(row["id"]) if row else None

    def _find_vault(self, candidate: Candidate):
        return self.memories.find_vault_entry(str(candidate.fields.get("secret_value") or ""))

    def _append_profile(self, candidate: Candidate, report: BatchReport) -> None:
        name = candidate.fields["name"]
        row = self.db.query_one("SELECT id FROM memory_semantic WHERE name = ? LIMIT 1", [name])
        if row is None:
            self._add(candidate, report, "stated preference")
            return
        existing = self.memories.get(row["id"])
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

    def _apply_decision(self, decision: llm.Decision, report: BatchReport) -> None:
        candidate = decision.candidate
        if decision.action == "NOOP":
            return
        if candidate.type == "core":
            self._append_core(candidate, report)
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


def narrow_sources(candidate: Candidate, observations: Sequence) -> list[int]:
    """The observations a model candidate draws on: those sharing its key words, if they alone ground it.

    A model sees the whole batch, but provenance should point at the messages
    that say the thing; when the words are spread so that no smaller set
    grounds the candidate, the whole batch stays its source.
    """
    words = {w.lower() for w in grounding._WORD.findall(grounding.claim_text(candidate.type, candidate.fields))
             if len(w) >= 4 and w.lower() not in grounding.STOPWORDS}
    words |= set(grounding._NUMBER.findall(grounding.claim_text(candidate.type, candidate.fields)))
    chosen = []
    for obs in observations:
        own = grounding.SourceText.from_observations([obs])
        if any(own.has_word(w) if not w.isdigit() else w.lstrip("0") in own.numbers for w in words):
            chosen.append(obs)
    if chosen and len(chosen) < len(observations):
        narrowed = grounding.SourceText.from_observations(chosen)
        if grounding.check(candidate.type, candidate.fields, narrowed, min_term_share=MODEL_TERM_SHARE).ok:
            return [o.id for o in chosen]
    return [o.id for o in observations]


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
