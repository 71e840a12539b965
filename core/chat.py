"""Answering from memory: ``engine.ask``.

``ask`` retrieves (``engine.recall``: core memory, the best memories of each type, the
observations with the turns around them), cuts what it found into sentences and decides, without
a model, whether they answer the question (``core.answer``).  When they do not, the answer is "I
have no memory of that."  When they do, the answer is written one of two ways:

- **extractive**: the sentences that answer, quoted, with who said them, when, and their
  citations.  This is the answer without a chat model, and the default for models too small to
  be trusted with wording (the catalog says which; ``models.answers`` overrides);
- **generated**: the chat model answers from the numbered evidence, and the answer is shown only
  if every number, date, name and key term in it is in what it cites (``core.answer.check``);
  otherwise the extractive answer is shown instead.

Nothing is shown before it is checked, so ``on_token`` receives the final text.  What the user
says is stored as a chat observation (their own words, absorbed like any chat, never cited as
evidence for an answer); Engram's answers go to the store's chat log, only to be shown again:
they are not evidence.  Vault values stay masked in every answer and citation.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from core.answer.check import check_answer
from core.answer.evidence import Source, Unit, units_of
from core.answer.extractive import compose, format_day, without_values
from core.answer.question import analyse
from core.answer.support import Support, asks_for_secret, find_support
from core.answer.words import person_names_as_written, words
from core.errors import ModelError, ModelUnavailableError
from core.models.base import ChatModel
from core.recall.quick import memory_snippet
from core.resources import read_text
from core.secrets import MASK_CHAR, SHORT_MASK, mask_text, shield_observation
from core.store.memories import Memory
from core.store.types import check_text, iso

log = logging.getLogger(__name__)

NO_MEMORY = "I have no memory of that."
ENGRAM_CHAT = "engram-chat:"  # conversation name prefix of what the user says to Engram
RETRIEVE_LIMIT = 12
CONTEXT_SPAN = 4  # turns before and after a retrieved turn whose words its sentences may borrow
CONTEXT_CHAR_BUDGET = 6000
MESSAGES_PER_SUMMARY = 12  # messages of a retrieved conversation summary given as evidence instead of it


def is_conversation_summary(memory: Memory) -> bool:
    """The one-line episodic summary absorb writes for a conversation (topics, not statements)."""
    return memory.type == "episodic" and memory.fields.get("event_type") == "conversation"
PROMPT_UNITS = 12
ANSWER_STYLES = ("extractive", "generated")
CONTACT_KINDS = frozenset({"email"})  # shown in clear; phone numbers and addresses are vault values like the rest
VAULT_KIND_NAMES = {"phone": "phone number", "address": "address", "email": "e-mail address"}
_CITE = re.compile(r"\[(\d{1,3})\]")
_MASK_TAIL = re.compile(f"({MASK_CHAR}{{8}})[0-9A-Za-z]{{1,2}}\\b")


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
    style: str = "extractive"  # extractive | generated | abstained
    note: str = ""  # why the answer is extractive or an abstention
    fallback: bool = False  # quotes instead of the model's words: no model, a failed model, or an answer that failed the check

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "abstained": self.abstained,
            "retrieval_ms": round(self.retrieval_ms, 2),
            "model": self.model,
            "style": self.style,
            "note": self.note,
            "fallback": self.fallback,
        }


@dataclass
class ContextItem:
    """One retrieved item with its number in the answer's context."""

    n: int
    kind: str  # "memory" or "observation"
    id: int
    type: str
    text: str
    time: float | None
    app: str | None
    score: float
    source: Source | None = None
    label: str | None = None  # how a citation names it, when that differs from its context text

    def citation(self, label: str | None = None) -> Citation:
        label = label if label is not None else (self.label or self.text)
        label = label if len(label) <= 80 else label[:77] + "..."
        return Citation(self.n, self.kind, self.id, self.type, label, iso(self.time), self.app)


def _memory_text(memory: Memory) -> str:
    # Vault entries are cited by caption; the secret itself never goes to the model.
    if memory.type == "knowledge_vault":
        return memory_snippet(memory)
    return memory.text


# Who did it and what kind of thing it is: the memories page shows them apart; a citation reads better without.
_LABEL_SKIPPED = {"actor", "event_type", "entry_type", "resource_type", "sensitivity", "source", "location"}


def _memory_label(memory: Memory) -> str:
    """A citation's name for a memory: its title and what it says, without its time (shown beside it) or kinds.

    The context text (``memory.text``) starts an episodic memory with an ISO time, actor and event type, which a
    source list showed as "2026-05-02 10:00 · me · call · Called Ada..."."""
    if memory.type == "knowledge_vault":
        return memory_snippet(memory)
    parts: list[str] = []
    for spec_field in memory.spec.fields:
        if spec_field.kind in ("time", "int", "choice") or not spec_field.indexed or spec_field.name in _LABEL_SKIPPED:
            continue
        value = memory.fields.get(spec_field.name)
        text = "; ".join(str(v) for v in value) if isinstance(value, list) else " ".join(str(value or "").split())
        if text and text not in parts:
            parts.append(text)
    return " · ".join(parts) or memory.text


def _masked_fields(memory: Memory, hide: Callable[[str], str]) -> dict[str, Any]:
    fields = dict(memory.fields)
    if memory.type == "knowledge_vault":
        fields["secret_value"] = vault_mask(str(fields.get("secret_value") or ""), fields.get("entry_type"))
    for key, value in list(fields.items()):
        if isinstance(value, str):
            fields[key] = hide(value)
        elif isinstance(value, list):
            fields[key] = [hide(str(v)) for v in value]
    return fields


_POSTCODE_OR_NUMBER = re.compile(r"\S*\d\S*")


def locality(address: str) -> str:
    """The town of a postal address, without its street, number or postcode: "14 rue des Tanneurs, 67000
    Strasbourg" -> "Strasbourg"; "" when the address names none ("221B Baker Street")."""
    parts = re.split(r",|\s+in\s+", address or "", maxsplit=1)
    if len(parts) < 2:
        return ""
    town = " ".join(_POSTCODE_OR_NUMBER.sub(" ", parts[1]).split()).strip(" ,.;")
    return town if re.search(r"[^\W\d_]{2,}", town) else ""


def vault_mask(value: str, entry_type: str | None) -> str:
    """How a vault value is shown: its mask without the last characters; a postal address keeps its town (where
    the user lives is no secret, the street and number are), so "where do I live?" is answered without them."""
    if not value:
        return ""
    if entry_type == "address" and locality(value):
        return f"{SHORT_MASK}, {locality(value)}"
    return SHORT_MASK


class Assistant:
    """The chat side of the engine; reached through ``engine.ask``."""

    def __init__(
        self,
        store,
        recall,
        chat_model: Callable[[], ChatModel],
        *,
        clock: Callable[[], float] = time.time,
        answer_style: Callable[[ChatModel], str] | None = None,
    ):
        self.store = store
        self.recall = recall
        self.chat_model = chat_model
        self.clock = clock
        self.answer_style = answer_style or (lambda model: "generated")
        self._conversation = f"{ENGRAM_CHAT}{int(time.time())}"
        self._said_before: str | None = None  # the user's last message here: "my new PIN?" labels a bare "4411" after it

    # -- retrieval -------------------------------------------------------------------

    def gather(self, question: str, *, limit: int = RETRIEVE_LIMIT) -> list[ContextItem]:
        """The context for ``question``: core memory, then the retrieved memories and observations, numbered.

        Each item carries its ``Source`` (masked text, who said it, when, the turns around it) for the
        answer's evidence.  Questions once asked of Engram are left out: they answer nothing.
        """
        result = self.recall.retrieve(question, limit=limit)
        vault = self._vault_values()

        def hide(text: str) -> str:
            # Stored text is masked on the way in; masking again covers what was stored before that, and a vault
            # value the detector missed is hidden too, so no answer is built on a value it cannot show.
            return _mask_values(mask_text(text).text, vault)

        items: list[ContextItem] = []
        memory_ids = [m.id for m in result.core] + [h.id for h in result.hits if h.source == "memory"]
        memories = self.store.memories.get_many(memory_ids) if memory_ids else {}
        observation_ids = {h.id for h in result.hits if h.source == "observation"}
        around: dict[int, list[dict]] = {}
        for hit in result.hits:
            if hit.source == "observation" and hit.conversation is not None:
                around[hit.id] = self.recall.neighbours(hit.id, hit.conversation, hit.ts, span=CONTEXT_SPAN)
                observation_ids |= {n["id"] for n in around[hit.id]}
        for memory in memories.values():
            observation_ids.update(memory.sources[:20])
        observations = self.store.observations.get_many(sorted(observation_ids)) if observation_ids else {}

        def memory_item(memory: Memory, score: float) -> ContextItem:
            source_times = [observations[i].ts for i in memory.sources[:20] if i in observations]
            text = hide(_memory_text(memory))
            grounds = "\n".join(hide(observations[i].text[:600]) for i in memory.sources[:5] if i in observations)
            source = Source(0, "memory", memory.id, memory.type, text, ts=max(source_times) if source_times else memory.updated_at,
                            fields=_masked_fields(memory, hide), score=score, grounds=grounds)
            return ContextItem(0, "memory", memory.id, memory.type, text, memory.time if memory.type == "episodic" else None,
                               None, score, source, label=hide(_memory_label(memory)))

        def observation_item(obs, score: float, neighbours: list[Source], shown_text: str | None = None) -> ContextItem:
            source = Source(0, "observation", obs.id, obs.kind, hide(obs.text[:2000]), ts=obs.ts, role=obs.role,
                            app=obs.app, title=hide(obs.window_title or "") or None,
                            url=hide(obs.url or "") or None, neighbours=neighbours,
                            conversation=obs.conversation, score=score,
                            masked=tuple((obs.meta or {}).get("sensitive") or ()),
                            speaker=(obs.meta or {}).get("speaker"))
            return ContextItem(0, "observation", obs.id, obs.kind, hide((shown_text or obs.text)[:900]), obs.ts,
                               obs.app, score, source)

        def neighbour(obs) -> Source:
            return Source(0, "observation", obs.id, obs.kind, hide(obs.text[:600]), ts=obs.ts, role=obs.role,
                          conversation=obs.conversation, speaker=(obs.meta or {}).get("speaker"))

        shown: set[int] = set()
        for memory in result.core:
            items.append(memory_item(memories.get(memory.id, memory), 1.0))
        for hit in result.hits:
            if hit.kind == "core":
                continue
            if (hit.conversation or "").startswith(ENGRAM_CHAT):
                continue  # a question once asked of Engram answers nothing
            if hit.source == "memory":
                memory = memories.get(hit.id)
                if memory is None:
                    continue
                if is_conversation_summary(memory):
                    # A summary lists topics and states nothing: the messages it cites say what was said, each with
                    # the turns around it, so a short reply ("Membership is 45 pounds a month.") keeps its subject.
                    cited = sorted((observations[i] for i in memory.sources[:MESSAGES_PER_SUMMARY] if i in observations),
                                   key=lambda o: (o.ts, o.id))
                    for index, obs in enumerate(cited):
                        if obs.id in shown:
                            continue
                        shown.add(obs.id)
                        around_it = cited[max(0, index - CONTEXT_SPAN): index] + cited[index + 1: index + 1 + CONTEXT_SPAN]
                        items.append(observation_item(obs, hit.score, [neighbour(o) for o in around_it
                                                                       if o.conversation == obs.conversation]))
                    continue
                items.append(memory_item(memory, hit.score))
                continue
            obs = observations.get(hit.id)
            if obs is None or obs.id in shown:
                continue
            shown.add(obs.id)
            neighbours = []
            for n in around.get(hit.id, []):
                other = observations.get(n["id"])
                if other is not None and not (other.conversation or "").startswith(ENGRAM_CHAT):
                    neighbours.append(neighbour(other))
            items.append(observation_item(obs, hit.score, neighbours, hit.text))
        budget = CONTEXT_CHAR_BUDGET
        kept: list[ContextItem] = []
        top = max((i.score for i in items), default=1.0) or 1.0
        for item in items:
            if budget - len(item.text) < 0 and kept:
                break
            budget -= len(item.text)
            item.n = len(kept) + 1
            if item.source is not None:
                item.source.n = item.n
                item.source.score = item.score / top
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
        max_tokens: int = 160,
    ) -> Answer:
        started = time.perf_counter()
        spoken = check_text((question or "").replace("\x00", "").strip(), "The question")
        # A secret typed into the question reaches neither retrieval's logs nor the model: only its mask does.
        question = mask_text(spoken, self._said_before).text
        items = self.gather(question) if question else []
        units = units_of(i.source for i in items if i.source is not None)
        plan = analyse(question)
        support = find_support(plan, units) if question else Support(plan, reason="no question")
        retrieval_ms = (time.perf_counter() - started) * 1000
        if not support.answered:
            answer = Answer(question, NO_MEMORY, [], True, retrieval_ms, style="abstained", note=support.reason)
            return self._finish(self._show(answer, on_token), record, spoken)
        try:
            model: ChatModel | None = self.chat_model()
        except ModelUnavailableError as exc:
            model, note = None, f"No chat model is available ({exc.message}), so the answer quotes what answers it."
        style = self.answer_style(model) if model is not None else "extractive"
        if model is None:
            answer = self._extractive(question, items, support, retrieval_ms, note)
            answer.fallback = True
        elif style == "extractive":
            answer = self._extractive(question, items, support, retrieval_ms, f"{model.name} answers by quoting.")
            answer.model = model.name
        else:
            answer = self._generated(question, items, units, support, model, retrieval_ms, stop, max_tokens)
        entry, label = self._vault_entry(support)
        if entry is not None:
            # The entry is cited (its id is in the citation), so the answer holds no number its sources do not.
            n = max((c.n for c in answer.citations), default=0) + 1
            answer.citations.append(Citation(n, "memory", entry.id, entry.type, memory_snippet(entry), iso(entry.updated_at)))
            shown = vault_mask(str(entry.fields.get("secret_value") or ""), entry.fields.get("entry_type"))
            answer.text = (f"{answer.text}\nIn your vault: {label}, {shown} [{n}]. To see it, press Reveal on it in the "
                           f"Memories page, or run `engram get ID --reveal` with the id of memory [{n}].")
        return self._finish(self._show(answer, on_token), record, spoken)

    def _vault_entry(self, support: Support) -> tuple[Memory | None, str]:
        """The vault entry holding the value an answer hides, and how to name it ("phone number of Bruno Costa"):
        ``(None, "")`` when nothing is hidden or the question does not ask for the value."""
        main, question = support.main, support.question
        if main is None or question.asks_saved or not asks_for_secret(question) or MASK_CHAR not in main.quote:
            return None, ""
        try:
            vault = self.store.memories.list("knowledge_vault", limit=5000)
        except Exception:  # the answer stands without its pointer; the value is masked either way
            log.exception("listing the vault to point at an entry failed")
            return None, ""
        if main.vault:
            entries = [m for m in vault if m.id == main.ref]
        else:
            said = {main.ref} if main.source == "observation" else set()
            if main.source == "memory":
                said |= set(next((m.sources for m in self.store.memories.get_many([main.ref]).values()), []))
            entries = [m for m in vault if said & set(m.sources)]
        asked = set(question.terms)
        fitting = [m for m in entries if asked & set(words(f"{m.fields.get('entry_type') or ''} {m.fields.get('caption') or ''}"))]
        if len(fitting or entries) != 1:
            return None, ""
        entry = (fitting or entries)[0]
        kind = entry.fields.get("entry_type")
        people = set(person_names_as_written(main.text))
        if kind in VAULT_KIND_NAMES and len(people) == 1:
            return entry, f"{VAULT_KIND_NAMES[kind]} of {people.pop()}"
        return entry, str(entry.fields.get("caption") or VAULT_KIND_NAMES.get(kind, "an entry"))

    def _numbering(self, items: list[ContextItem]) -> tuple[Callable[[Unit], int], dict[tuple[str, int], Citation]]:
        """A citation number for each quoted unit: its item's, or a new one for a neighbouring turn."""
        by_n = {i.n: i for i in items}
        citations: dict[tuple[str, int], Citation] = {}
        next_n = [max(by_n, default=0) + 1]

        def cite(unit: Unit) -> int:
            key = (unit.source, unit.ref)
            if key in citations:
                return citations[key].n
            item = by_n.get(unit.n)
            if item is not None and (item.kind, item.id) == key:
                citation = item.citation()
            else:
                citation = Citation(next_n[0], unit.source, unit.ref, unit.kind, unit.text[:77] + ("..." if len(unit.text) > 77 else ""),
                                    iso(unit.said_at), unit.app)
                next_n[0] += 1
            citations[key] = citation
            return citation.n

        return cite, citations

    def _extractive(self, question: str, items: list[ContextItem], support: Support, retrieval_ms: float, note: str) -> Answer:
        cite, cited = self._numbering(items)
        text = compose(support, cite)
        citations = sorted(cited.values(), key=lambda c: c.n)
        if support.question.asks_saved:
            for citation in citations:  # asked whether it is saved, not what it is: the labels show no value either
                citation.label = without_values(citation.label)
        return Answer(question, text, citations, False, retrieval_ms, None, style="extractive", note=note)

    def _prompt_lines(self, items: list[ContextItem], units: list[Unit], support: Support) -> tuple[str, dict[int, list[Unit]]]:
        """The numbered evidence the model sees: stating sentences of the best items, with who and when."""
        wanted = {u.n for u in support.chosen}
        ranked_units = [s.unit for s in support.ranked]
        shown: dict[int, list[Unit]] = {}
        for unit in [u for u in ranked_units if u.n in wanted] + ranked_units:
            if len(sum(shown.values(), [])) >= PROMPT_UNITS:
                break
            if unit in shown.get(unit.n, []):
                continue
            shown.setdefault(unit.n, []).append(unit)
        lines = []
        for n in sorted(shown):
            pieces = []
            for unit in sorted(shown[n], key=lambda u: (u.said_at or 0.0, u.order)):
                when = ""
                if unit.event_at is not None:
                    when = format_day(float(unit.event_at))
                elif unit.said_at is not None and unit.source == "observation":
                    when = format_day(unit.said_at)
                who = {"own": "you wrote", "person": f"{unit.speaker} wrote", "screen": "on screen", "memory": "memory"}
                head = who.get(unit.standing, unit.standing) + (f", {when}" if when else "")
                pieces.append(f"({head}) {unit.text}")
            lines.append(f"[{n}] " + " ".join(pieces))
        return "\n".join(lines), shown

    def _generated(self, question, items, units, support, model, retrieval_ms, stop, max_tokens) -> Answer:
        evidence, shown = self._prompt_lines(items, units, support)
        messages = [
            {"role": "system", "content": read_text("prompts", "answer_system.md")},
            {"role": "user", "content": f"Evidence:\n{evidence}\n\nQuestion: {question}"},
        ]
        pieces: list[str] = []
        try:
            for piece in model.stream_chat(messages, max_tokens=max_tokens):
                pieces.append(piece)
                if stop is not None and stop.is_set():
                    break
        except ModelError as exc:
            log.warning("the chat model failed while answering (%s); answering by quoting", exc.message)
            answer = self._extractive(question, items, support, retrieval_ms, f"The chat model failed ({exc.message}).")
            answer.model, answer.fallback = model.name, True
            return answer
        text = mask_text("".join(pieces).strip()).text
        numbers = [int(n) for n in _CITE.findall(text)]
        cited = [u for n in numbers for u in shown.get(n, [])] or [u for us in shown.values() for u in us]
        verdict = check_answer(text, support.question, list(dict.fromkeys(cited)), support.chosen, support.superseded)
        if stop is not None and stop.is_set():
            verdict.ok, verdict.reason = False, "stopped before the answer was complete"
        if not verdict.ok:
            log.info("answer from %s replaced by quotes: %s (%r)", model.name, verdict.reason, text[:200])
            answer = self._extractive(question, items, support, retrieval_ms,
                                      f"The model's answer was not shown: {verdict.reason}.")
            answer.model, answer.fallback = model.name, True
            return answer
        by_n = {i.n: i for i in items}
        used_n = sorted({u.n for u in verdict.used})
        text = _CITE.sub(lambda m: m.group(0) if int(m.group(1)) in used_n else "", text).strip()
        if not _CITE.search(text):
            text += " " + "".join(f"[{n}]" for n in used_n)
        citations = [by_n[n].citation() for n in used_n if n in by_n]
        # Tidy the gaps a dropped marker leaves, but keep the model's paragraphs and list lines: the app renders
        # them as Markdown, and a list folded into one line reads as "... [1]. - You called ...".
        # (Indentation at the start of a line is kept: it nests a list or a code block.)
        text = re.sub(r"(?<=\S)[ \t]+([.,;:!?])", r"\1", re.sub(r"(?<=\S)[ \t]{2,}", " ", text))
        text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text))
        return Answer(question, text, citations, False, retrieval_ms, model.name, style="generated")

    def _show(self, answer: Answer, on_token: Callable[[str], None] | None) -> Answer:
        """Mask every vault value in the answer and its citations, then hand the text to ``on_token``."""
        # A mask's last two characters help tell entries apart in the vault; an answer shows no part of a secret.
        answer.text = _MASK_TAIL.sub(lambda m: m.group(1), answer.text)
        values = self._vault_values()
        if values:
            answer.text = _mask_values(answer.text, values)
            for citation in answer.citations:
                citation.label = _mask_values(citation.label, values)
        if on_token:
            on_token(answer.text)
        return answer

    def _vault_values(self) -> list[tuple[str, str]]:
        try:
            vault = self.store.memories.list("knowledge_vault", limit=5000)
        except Exception:  # the answer must not fail because the vault could not be listed; it is masked anyway
            log.exception("listing the vault to mask an answer failed")
            return []
        # E-mail addresses are shown in clear everywhere else; every other value is not.
        values = [(str(m.fields.get("secret_value") or ""), m.fields.get("entry_type")) for m in vault
                  if len(str(m.fields.get("secret_value") or "")) >= 4 and m.fields.get("entry_type") not in CONTACT_KINDS]
        return [(value, vault_mask(value, kind)) for value, kind in values]

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
                keep_values=True, previous=self._said_before,
            )])
            self._said_before = spoken
            # Engram's answers are kept apart, only to show the conversation again: never absorbed, searched
            # or cited, so a wrong answer cannot become evidence for the next.
            answer.chat_id = self.store.chat_log.record(
                self._conversation, self.clock(), answer.question, answer.text,
                citations=[c.to_dict() for c in answer.citations], abstained=answer.abstained, model=answer.model,
            )
        return answer


def _mask_values(text: str, values: list[tuple[str, str]]) -> str:
    """``text`` with every vault value in it replaced by its mask (spaces inside a value may vary)."""
    for value, shown in values:
        if MASK_CHAR in value or not text:
            continue
        pattern = r"\s*".join(re.escape(ch) for ch in value if not ch.isspace())
        text = re.sub(pattern, lambda m: shown, text, flags=re.IGNORECASE)
    return text
