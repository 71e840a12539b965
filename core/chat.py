"""Answering from memory: ``engine.ask``.

``ask`` retrieves, builds a compact numbered context (core memory first, then
the best memories of each type with their dates, then raw observations), lets
the chat model answer with streaming, and returns the answer with the
citations it used.  Where retrieval finds nothing relevant it says plainly "I
have no memory of that" without asking the model to guess.  What the user says is
stored as a chat observation (their own words, absorbed like any chat, never
cited as evidence for an answer); Engram's answers go to the store's chat log,
only to be shown again: they are not evidence.
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
from core.models.base import ChatModel
from core.secrets import mask_text, shield_observation
from core.store.memories import Memory
from core.store.types import check_text, iso
from core.resources import read_text
from core.recall.quick import memory_snippet

log = logging.getLogger(__name__)

NO_MEMORY = "I have no memory of that."
ENGRAM_CHAT = "engram-chat:"  # conversation name prefix of what the user says to Engram
MIN_EVIDENCE_COSINE = 0.35  # closeness in meaning that counts as evidence without a shared word
CONTEXT_CHAR_BUDGET = 6000
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
    chat_id: int | None = None

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
        return memory_snippet(memory)
    return memory.text


class Assistant:
    """The chat side of the engine; reached through ``engine.ask``."""

    def __init__(self, store, recall, chat_model: Callable[[], ChatModel], *, clock: Callable[[], float] = time.time):
        self.store = store
        self.recall = recall
        self.chat_model = chat_model
        self.clock = clock
        self._conversation = f"{ENGRAM_CHAT}{int(time.time())}"

    # -- retrieval -------------------------------------------------------------------

    def gather(self, question: str, *, limit: int = 12) -> list[ContextItem]:
        """The context for ``question``: core memory, then the best evidence, numbered.

        Retrieval is ``engine.recall`` (query understanding, time and speaker
        boosts, neighbouring turns); a hit counts as evidence only when one of
        the question's content words matched it or its meaning is close
        (cosine >= ``MIN_EVIDENCE_COSINE``), so an unrelated question abstains.
        """
        items: list[ContextItem] = []
        result = self.recall.retrieve(question, limit=limit, with_neighbours=True)
        for memory in result.core:
            items.append(ContextItem(0, "memory", memory.id, "core", mask_text(_memory_text(memory)).text, None, None, 1.0))
        vault = {m.id: m for m in self.store.memories.get_many([h.id for h in result.hits if h.source == "memory" and h.kind == "knowledge_vault"]).values()}
        for hit in result.hits:
            if hit.kind == "core" or not (hit.lexical > 0 or hit.semantic >= MIN_EVIDENCE_COSINE):
                continue
            if (hit.conversation or "").startswith(ENGRAM_CHAT):
                continue  # a question once asked of Engram answers nothing
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
            model = self.chat_model()
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
        if self.store.read_only:
            return answer  # nothing can be saved: the exchange is not recorded and no memory is reinforced
        used = [c.id for c in answer.citations if c.kind == "memory"]
        if used:
            self.store.memories.touch(used)
        if record and answer.question:
            now = self.clock()
            # What the user says to Engram is their own words, absorbed like any chat (a secret in it goes
            # to the vault, masked here) but never taken as evidence by a later answer.
            self.store.observations.add_many([shield_observation(
                dict(kind="chat", text=spoken, ts=now, role="user", conversation=self._conversation, meta={"asked_engram": True}),
                keep_values=True,
            )])
            # Engram's answers are kept apart, only to show the conversation again: never absorbed, searched
            # or cited, so a wrong answer cannot become evidence for the next.
            answer.chat_id = self.store.chat_log.record(
                self._conversation, self.clock(), answer.question, answer.text,
                citations=[c.to_dict() for c in answer.citations], abstained=answer.abstained, model=answer.model,
            )
        return answer