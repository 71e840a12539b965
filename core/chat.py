"""Answering from memory: ``engine.ask`` and ``engine.quick_recall``.

``ask`` retrieves, builds a compact numbered context (core memory first, then
the best memories of each type with their dates, then raw observations), lets
the chat model answer with streaming, and returns the answer with the
citations it used.  Where retrieval finds nothing relevant it says plainly "I
have no memory of that" without asking the model to guess.  Each exchange is
stored as two chat observations, so it is absorbed like any conversation.

``quick_recall`` is search-as-you-type: FTS5 prefix queries over memories and
observations, no model, meant to answer within a keystroke.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from core.errors import ModelError, ModelUnavailableError
from core.memory.store import Memory
from core.memory.types import check_text, iso
from core.resources import read_text
from core.secrets import mask, mask_text, shield_observation
from core.search import MEMORY_INDEX, OBSERVATION_INDEX, QueryTimeout, newest_matches, recent_best_matches, typed_match

log = logging.getLogger(__name__)

NO_MEMORY = "I have no memory of that."
MIN_EVIDENCE_COSINE = 0.35  # closeness in meaning that counts as evidence without a shared word
CONTEXT_CHAR_BUDGET = 6000
QUICK_BUDGET_MS = 25.0  # all the queries of one keystroke: its results must arrive while typing
MIN_ATTEMPT_MS = 5.0  # what one index gets when the keystroke's budget was spent before it
_CITE = re.compile(r"\[(\d{1,3})\]")


@dataclass
class Citation:
    n: int
    kind: str  # "memory" or "observation"
    id: int
    type: str
    label: str
    time: str | None = None
    app: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    retrieval_ms: float = 0.0
    model: str | None = None
    observation_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "abstained": self.abstained,
            "retrieval_ms": round(self.retrieval_ms, 2),
            "model": self.model,
        }


@dataclass
class ContextItem:
    n: int
    kind: str
    id: int
    type: str
    text: str
    time: float | None
    app: str | None
    score: float

    def line(self) -> str:
        when = datetime.fromtimestamp(self.time, tz=timezone.utc).strftime("%Y-%m-%d %H:%M") if self.time else ""
        where = f", {self.app}" if self.app else ""
        head = f"[{self.n}] ({self.type}{', ' + when if when else ''}{where})"
        return f"{head} {self.text}"

    def citation(self) -> Citation:
        label = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        return Citation(self.n, self.kind, self.id, self.type, label, iso(self.time), self.app)


def _memory_text(memory: Memory) -> str:
    # Vault entries are cited by caption; the secret itself never goes to the model.
    if memory.type == "knowledge_vault":
        return f"{memory.fields.get('caption')}: {mask(memory.fields.get('secret_value'))}"
    return memory.text


class Assistant:
    """The chat side of the engine; reached through ``engine.ask`` and ``engine.quick_recall``."""

    def __init__(self, engine):
        self.engine = engine
        self._conversation = f"assistant-{int(time.time())}"
        self._quick_ready = False

    # -- retrieval -------------------------------------------------------------------

    def gather(self, question: str, *, limit: int = 12) -> list[ContextItem]:
        """The context for ``question``: core memory, then the best evidence, numbered.

        Retrieval is ``engine.recall`` (query understanding, time and speaker
        boosts, neighbouring turns); a hit counts as evidence only when one of
        the question's content words matched it or its meaning is close
        (cosine >= ``MIN_EVIDENCE_COSINE``), so an unrelated question abstains.
        """
        engine = self.engine
        items: list[ContextItem] = []
        result = engine.recall.retrieve(question, limit=limit, with_neighbours=True)
        for memory in result.core:
            items.append(ContextItem(0, "memory", memory.id, "core", mask_text(_memory_text(memory)).text, None, None, 1.0))
        vault = {m.id: m for m in engine.memories.get_many([h.id for h in result.hits if h.source == "memory" and h.kind == "knowledge_vault"]).values()}
        for hit in result.hits:
            if hit.kind == "core" or not (hit.lexical > 0 or hit.semantic >= MIN_EVIDENCE_COSINE):
                continue
            text = _memory_text(vault[hit.id]) if hit.id in vault else hit.text
            if hit.neighbours:
                context = " / ".join(f"{n['role'] + ': ' if n.get('role') else ''}{n['text'][:200]}" for n in hit.neighbours)
                text = f"{text[:600]} (around it: {context})"
            # Stored text is masked on the way in; masking again covers what was stored before that.
            items.append(ContextItem(0, hit.source, hit.id, hit.kind, mask_text(text[:900]).text, hit.ts, hit.app, hit.score))
        budget = CONTEXT_CHAR_BUDGET
        kept: list[ContextItem] = []
        for item in items:
            if budget - len(item.text) < 0 and kept:
                break
            budget -= len(item.text)
            item.n = len(kept) + 1
            kept.append(item)
        return kept

    # -- answering -------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        on_token: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
        record: bool = True,
        max_tokens: int = 256,
    ) -> Answer:
        started = time.perf_counter()
        spoken = check_text((question or "").replace("\x00", "").strip(), "The question")
        # A secret typed into the question reaches neither retrieval's logs nor the model: only its mask does.
        question = mask_text(spoken).text
        items = self.gather(question) if question else []
        retrieval_ms = (time.perf_counter() - started) * 1000
        evidence = [i for i in items if i.type != "core"]
        if not evidence:
            answer = Answer(question, NO_MEMORY, [], True, retrieval_ms)
            if on_token:
                on_token(NO_MEMORY)
            return self._finish(answer, record, spoken)
        try:
            model = self.engine.chat_model()
        except ModelUnavailableError as exc:
            text = "No chat model is available (" + exc.message + "), so here is what I found:\n" + "\n".join(
                i.line() for i in evidence[:5]
            )
            if on_token:
                on_token(text)
            answer = Answer(question, text, [i.citation() for i in evidence[:5]], False, retrieval_ms)
            return self._finish(answer, record, spoken)
        messages = [
            {"role": "system", "content": read_text("prompts", "answer_system.md")},
            {"role": "user", "content": "Memories:\n" + "\n".join(i.line() for i in items) + f"\n\nQuestion: {question}"},
        ]
        pieces: list[str] = []
        try:
            for piece in model.stream_chat(messages, max_tokens=max_tokens):
                pieces.append(piece)
                if on_token:
                    on_token(piece)
                if stop is not None and stop.is_set():
                    break
        except ModelError:
            raise
        text = mask_text("".join(pieces).strip()).text or NO_MEMORY
        abstained = text.lower().startswith(NO_MEMORY.lower().rstrip("."))
        cited_numbers = {int(n) for n in _CITE.findall(text)}
        by_number = {i.n: i for i in items}
        citations = [by_number[n].citation() for n in sorted(cited_numbers) if n in by_number]
        if not citations and not abstained:
            # Small models often forget the brackets: name the evidence the answer was built from.
            citations = [i.citation() for i in evidence[:3]]
        answer = Answer(question, text, [] if abstained else citations, abstained, retrieval_ms, model.name)
        return self._finish(answer, record, spoken)

    def _finish(self, answer: Answer, record: bool, spoken: str) -> Answer:
        used = [c.id for c in answer.citations if c.kind == "memory"]
        if used:
            self.engine.memories.touch(used)
        if record and answer.question:
            now = self.engine.clock()
            answer.observation_ids = self.engine.observations.add_many(
                [
                    # The user's question is their own words: a secret in it goes to the vault, masked here.
                    shield_observation(
                        dict(kind="chat", text=spoken, ts=now, role="user", conversation=self._conversation),
                        keep_values=True,
                    ),
                    shield_observation(
                        dict(
                            kind="chat",
                            text=answer.text,
                            ts=now + 0.001,
                            role="assistant",
                            conversation=self._conversation,
                            meta={"citations": [c.to_dict() for c in answer.citations], "abstained": answer.abstained},
                        ),
                        keep_values=False,
                    ),
                ]
            )
        return answer

    # -- quick recall ----------------------------------------------------------------

    def _typed_search(self, text: str, spec, match: str | None, limit: int, where: str, deadline: float) -> list[tuple[int, float]]:
        """Best matches before ``deadline``; past it, the newest matches, then the words typed before the last."""
        if not match:
            return []
        db = self.engine.db

        def left() -> float:
            return (deadline - time.perf_counter()) * 1000

        attempts = [
            lambda: recent_best_matches(db, spec, match, limit=limit, where=where, budget_ms=left() * 0.6),
            lambda: newest_matches(db, spec, match, limit=limit, where=where, budget_ms=max(1.0, left())),
        ]
        if len(text.split()) > 1:
            settled = typed_match(text.rsplit(None, 1)[0] + " ", db, spec)
            if settled:
                attempts.append(lambda: newest_matches(db, spec, settled, limit=limit, where=where, budget_ms=max(1.0, left())))
        tried = False
        for attempt in attempts:
            if left() <= 1.0:
                break
            tried = True
            try:
                return attempt()
            except QueryTimeout:
                continue
        if not tried:  # a busy machine still gets the cheapest answer
            try:
                return newest_matches(db, spec, match, limit=limit, where=where, budget_ms=MIN_ATTEMPT_MS)
            except QueryTimeout:
                pass
        log.info("quick recall ran out of time for %r", text)
        return []

    def quick_recall(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Search-as-you-type over every memory type and observations; no model involved.

        One time budget covers the whole keystroke: memories first, observations get what is left.
        """
        db = self.engine.db
        if not self._quick_ready:
            # One-time set-up (the stemmer, the vocabulary tables) is not a keystroke's cost.
            for spec in (MEMORY_INDEX, OBSERVATION_INDEX):
                typed_match("warm up", db, spec)
            self._quick_ready = True
        started = time.perf_counter()
        memory_match = typed_match(text, db, MEMORY_INDEX)
        observation_match = typed_match(text, db, OBSERVATION_INDEX)
        memory_rows = self._typed_search(
            text, MEMORY_INDEX, memory_match, limit * 2, "AND b.archived = 0", started + QUICK_BUDGET_MS * 0.55 / 1000
        )
        observation_rows = self._typed_search(text, OBSERVATION_INDEX, observation_match, limit, "", started + QUICK_BUDGET_MS / 1000)
        if not memory_rows and not observation_rows:
            return []
        memories = self.engine.memories.get_many([r[0] for r in memory_rows])
        observations = self.engine.observations.get_many([r[0] for r in observation_rows])
        top_m = max((r[1] for r in memory_rows), default=1.0) or 1.0
        top_o = max((r[1] for r in observation_rows), default=1.0) or 1.0
        out: list[dict[str, Any]] = []
        for row_id, score in memory_rows:
            m = memories.get(row_id)
            if m is None:
                continue
            # The row already shows the time; an episode's indexed text starts with it.
            snippet = " | ".join(p for p in (m.fields.get("summary"), m.fields.get("details")) if p) if m.type == "episodic" else _memory_text(m)
            out.append(
                {
                    "kind": "memory", "id": m.id, "type": m.type, "title": m.title if m.type != "knowledge_vault" else m.fields.get("caption"),
                    "snippet": snippet[:160], "time": iso(m.time), "app": None, "score": round(score / top_m, 4),
                }
            )
        for row_id, score in observation_rows:
            o = observations.get(row_id)
            if o is None:
                continue
            out.append(
                {
                    "kind": "observation", "id": o.id, "type": "observation",
                    "title": o.window_title or (f"{o.role} message" if o.role else o.kind),
                    "snippet": " ".join(o.text.split())[:160], "time": iso(o.ts), "app": o.app,
                    # Raw observations rank below memories of equal match quality.
                    "score": round(0.8 * score / top_o, 4),
                }
            )
        out.sort(key=lambda item: -item["score"])
        shown = out[:limit]
        for item in shown:  # stored text is masked on the way in; this covers what was stored before that
            item["snippet"] = mask_text(item["snippet"]).text
        return shown
