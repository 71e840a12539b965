"""The absorber: batches of observations in, typed and grounded memories out.

``batching`` cuts the backlog, this module runs each batch (rules, model,
grounding, reconcile, the one transaction), ``applying`` writes a batch's plan
through the store, ``reports`` says what was done.

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

import logging
import re
import threading
import time
from typing import Any, Callable, Sequence

from core.absorb import applying, extractors, grounding, llm, lookups, provenance, updates
from core.absorb.applying import ACTOR, Applier
from core.absorb.batching import CHAT_BATCH_MESSAGES, make_batches
from core.absorb.candidates import Candidate
from core.absorb.reports import AbsorbReport, BatchPlan, BatchReport
from core.errors import EngramError, ModelError, ModelUnavailableError
from core.store.records import AlreadyAbsorbed
from core.store.search import MEMORY_INDEX

__all__ = ["ACTOR", "Absorber", "AbsorbReport", "BatchReport", "make_batches"]

log = logging.getLogger(__name__)

SIMILAR_PER_CANDIDATE = 3
MAX_EXISTING_SHOWN = 8
RECONCILED_TYPES = ("episodic", "semantic", "procedural", "resource")
MODEL_TERM_SHARE = 0.75  # model candidates must reuse most of their key terms from the source


class Absorber:
    """Turns the observation backlog into memories; see the module docstring."""

    def __init__(
        self,
        store,
        settings,
        events,
        chat_model: Callable[[], Any],
        *,
        clock: Callable[[], float] = time.time,
        use_llm: bool | None = None,
        chat_size: int | None = None,
    ):
        self.store = store
        self.settings = settings
        self.events = events
        self.chat_model = chat_model
        self.memories = store.memories
        self.observations = store.observations
        self.clock = clock
        self.use_llm = bool(settings.get("absorb.use_llm")) if use_llm is None else use_llm
        self.applier = Applier(store)
        self.chat_size = chat_size or CHAT_BATCH_MESSAGES
        self._lock = threading.Lock()

    # -- the backlog ----------------------------------------------------------------------------

    def backlog(self) -> int:
        return self.observations.count(unabsorbed=True)

    def llm_pending(self) -> int:
        return self.store.absorb_log.pending_count()

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
            self.events.emit("absorb_will_start", backlog=report.backlog_before)
            try:
                self._run(report, stop, max_batches, settle_seconds, progress)
            except Exception as exc:
                self.events.emit("absorb_did_fail", message=str(exc))
                raise
        report.seconds = time.perf_counter() - started
        report.backlog_after = self.backlog()
        report.llm_pending = self.llm_pending()
        self.events.emit("absorb_did_finish", report=report.to_dict())
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
            waiting = self.observations.unabsorbed(limit=2000)
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
        plan = BatchPlan()
        stored = observations
        observations = provenance.as_data(observations)  # what others wrote to an AI is page content, not an instruction
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
        vault_from_screen = bool(self.settings.get("privacy.vault_from_screen"))
        candidates, plan.updates = extractors.extract_with_updates(
            observations, vault_from_screen=vault_from_screen,
            is_known=lambda name: self.memories.find_semantic(name, ignore_case=True) is not None)
        for candidate in candidates:
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
        self._store(stored, plan, report, deferred_ids=[o.id for o in text_obs] if report.deferred else [])
        report.seconds = time.perf_counter() - started
        return report

    def _model_pass(self, observations: Sequence, source: grounding.SourceText, plan: BatchPlan, report: BatchReport) -> None:
        """At most two model calls: extract, then reconcile. Fills ``plan.decisions``."""
        try:
            model = self.chat_model()
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
        grounded = self._only_what_its_speaker_may_write(grounded, observations, plan)
        grounded = only_new_and_named(grounded, plan, {o.id: o.ts for o in observations})
        to_reconcile: list[Candidate] = []
        for candidate in grounded:
            if candidate.type in RECONCILED_TYPES:
                to_reconcile.append(candidate)
            elif candidate.type == "knowledge_vault" and self.applier.find_vault(candidate) is not None:
                continue  # the exact value is already kept
            else:
                plan.decisions.append(llm.Decision(candidate, "ADD"))
        if to_reconcile:
            self._reconcile(model, to_reconcile, observations, plan, report)

    def _only_what_its_speaker_may_write(self, candidates: list[Candidate], observations: Sequence,
                                         plan: BatchPlan) -> list[Candidate]:
        """Core memory and vault entries only from the user's own words (vault also from the screen when allowed).

        A model reads the whole batch; a candidate of these types must be grounded
        in the user's own messages alone, or it is refused and logged.
        """
        own = [o for o in observations if provenance.is_users_own(o)]
        if self.settings.get("privacy.vault_from_screen"):
            screens = [o for o in observations if o.kind == "screen"]
        else:
            screens = []
        sources = {
            "core": grounding.SourceText.from_observations(own) if own else None,
            "knowledge_vault": grounding.SourceText.from_observations(own + screens) if own or screens else None,
        }
        kept = []
        for candidate in candidates:
            if candidate.type not in sources:
                kept.append(candidate)
                continue
            source = sources[candidate.type]
            if source is not None and grounding.check(candidate.type, candidate.fields, source,
                                                      min_term_share=MODEL_TERM_SHARE).ok:
                kept.append(candidate)
                continue
            what = "core memory" if candidate.type == "core" else "a vault entry"
            plan.reject("speaker", candidate, f"{what} comes only from the user's own words, and this is not in them",
                        candidate.sources)
        return kept

    def _reconcile(self, model, candidates: list[Candidate], observations, plan: BatchPlan, report: BatchReport) -> None:
        shown: list[llm.Existing] = []
        seen: set[int] = set()
        has_similar: set[int] = set()
        for index, candidate in enumerate(candidates):
            for hit in self.memories.search(candidate.describe(), types=[candidate.type], limit=SIMILAR_PER_CANDIDATE, for_reader=False):
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
        own = [o for o in observations if provenance.is_users_own(o)]
        own_source = grounding.SourceText.from_observations(own) if own else None
        source_cache: dict[int, grounding.SourceText] = {}
        for decision in decisions:
            if decision.action == "DELETE" and not (own_source is not None and grounding.check(
                    decision.candidate.type, decision.candidate.fields, own_source, min_term_share=MODEL_TERM_SHARE).ok):
                # Only the user's own words end a fact; what others say is added beside it.
                plan.reject("speaker", decision.candidate, f"only the user's own words may remove memory "
                            f"#{decision.target.id}; kept, and the new fact added beside it", decision.candidate.sources)
                decision = llm.Decision(decision.candidate, "ADD")
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
            self.chat_model()
        except ModelUnavailableError:
            return None
        started = time.perf_counter()
        found = self.observations.get_many(observation_ids)
        observations = [found[i] for i in sorted(found, key=lambda i: (found[i].ts, i))]
        report = BatchReport(None, len(observations), sorted({o.kind for o in observations}))
        plan = BatchPlan()
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
        return self.store.absorb_log.pending_groups()

    # -- storing ----------------------------------------------------------------------------------

    def _store(self, observations: Sequence, plan: BatchPlan, report: BatchReport, *, deferred_ids: list[int],
               resolved_ids: Sequence[int] = ()) -> None:
        ids = [o.id for o in observations]
        log_ = self.store.absorb_log
        try:
            with self.store.atomic():
                log_.claim(ids)
                if resolved_ids:
                    log_.resolve_pending(resolved_ids)
                batch_id = log_.start_batch(len(ids) or len(resolved_ids), report.llm_calls, report.llm_state)
                report.batch_id = batch_id
                self.applier.apply(plan, report)
                for stage, memory_type, reason, candidate, sources in plan.rejections:
                    log_.reject(batch_id, stage, memory_type, reason, candidate, sources)
                    report.rejected[stage] += 1
                log_.defer(deferred_ids, batch_id, "no chat model was available")
                self.observations.mark_absorbed(ids, batch_id)
                # The vault keeps the clear values now; the observations keep only their masks.
                self.observations.drop_carried_secrets(ids)
                log_.finish_batch(batch_id, report.to_dict())
        except AlreadyAbsorbed:
            log.info("absorb: batch of %d observations was absorbed by another run; skipped", len(ids))
            report.batch_id = None
            report.added.clear(), report.updated.clear(), report.deleted.clear(), report.rejected.clear()
            report.llm_state = "skipped"
            return
        try:
            self.store.indexer.index_pending([MEMORY_INDEX])
        except EngramError as exc:  # vectors are computed later by the scheduler's embed job
            log.warning("absorb: embedding new memories failed, left for later: %s", exc.message)

def only_new_and_named(candidates: list[Candidate], plan: BatchPlan, times: dict[int, float] | None = None) -> list[Candidate]:
    """Model candidates that say something the rules and the store do not, each under a title that names something.

    Refused, each with a logged reason: a title that is a field name or a
    fragment, a title that is its own content repeated, a resource with no
    location, an event the model gave no date for (the conversation summary
    already has the batch's time), a core fact that is no fact family's (who the
    user is, work, home, health, preferences), a semantic name that is a
    sentence; and a statement the batch's rule memories already hold, which
    would be a second copy of one fact (stored memories are the reconcile
    call's to compare); and a statement a later message of the batch corrects
    or ends (``times``: each observation's time), which would be stored stale.
    """
    from core.absorb.facts import families_of

    USER_FAMILIES = {"home", "work", "identity", "health"}

    kept = []
    for candidate in candidates:
        title = applying.title_of(candidate)
        name, content = candidate.meta.get("name") or "", candidate.meta.get("content") or ""
        reason = None
        if applying.is_junk_title(title):
            reason = f"the title {title!r} names a field or is a fragment"
        elif name and content and (name.lower() == content.lower() or content.lower() in name.lower()):
            reason = "the title is the content itself: it names nothing"
        elif candidate.type == "resource" and not candidate.fields.get("location"):
            reason = "a document with no location is no resource"
        elif candidate.type == "episodic" and not candidate.meta.get("dated"):
            reason = "an event without its own date"
        elif candidate.type == "semantic" and len(str(candidate.fields.get("name") or "").split()) > 4:
            reason = "the name is a sentence, not someone or something"
        elif candidate.type != "knowledge_vault" and lookups.find_addresses(grounding.claim_text(candidate.type, candidate.fields)):
            reason = "a postal address is the vault's alone (the rules keep it there, and its town in core memory)"
        elif candidate.type == "semantic" and set(families_of(f"{name} {content}")) & USER_FAMILIES:
            reason = "the user's own home, work, name or health is core memory's, which the rules keep"
        elif candidate.type == "core":
            said = re.sub(r"(?i)^\W*(?:the\s+)?user['’]s\b", "my", content or candidate.describe())
            found = families_of(re.sub(r"(?i)^\W*(?:the\s+)?user\s+(\w+?)s?\b", r"I \1", said))
            if not found:
                reason = "not a fact about who the user is, their work, home, health or preferences"
            else:
                candidate.fields["label"] = found[0]
        if reason:
            plan.reject("junk", candidate, reason, candidate.sources)
            continue
        said = candidate.describe()
        if any(updates.restates(said, rule.describe() + " " + str(rule.fields.get("details") or "")) == "same"
               for rule in plan.rules if rule.type == candidate.type or candidate.type in ("core", "semantic")
               and rule.type in ("core", "semantic")):
            plan.reject("duplicate", candidate, "the rules already keep this fact", candidate.sources)
            continue
        if any(_stale_after(u, candidate, said, times or {}) for u in plan.updates):
            plan.reject("superseded", candidate, "a later message corrects or ends it", candidate.sources)
            continue
        kept.append(candidate)
    return kept


def _stale_after(update, candidate: Candidate, said: str, times: dict[int, float]) -> bool:
    """Whether a correction or an ending in the batch makes ``said`` (a model candidate's statement) out of date."""
    if update.kind not in ("correct", "end"):
        return False
    if update.obs_id in candidate.sources:  # drawn on the correcting message too: stale if it keeps the wrong value
        return update.kind == "correct" and any(updates.mentions_value(said, v) for v in update.negated)
    newest = max((times.get(i, 0.0) for i in candidate.sources), default=0.0)
    return update.ts > newest and updates.supersedes(update, said)


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


