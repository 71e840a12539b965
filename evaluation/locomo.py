"""LoCoMo evidence-recall evaluation of Engram's retrieval, with BM25 and dense baselines.

For every conversation of a LoCoMo file the harness creates a fresh engine (a
conversation is one person's memory), ingests every turn as a chat
observation -- text ``"Speaker: text"`` plus the shared photo's caption,
``ts`` the session's date (plus the turn's index in seconds, to keep order),
``role`` the speaker, ``conversation`` the session, ``source_ref`` the dia_id
-- and embeds it with the given embedder.  No LLM is involved.

Then each question of categories 1-4 that has evidence is asked at the date of
the conversation's last session ("now"), and the top ``k`` items of three
retrievers on the same index are scored:

- ``engram``: ``core.recall.retrieve.Recall.retrieve``;
- ``bm25``: plain BM25 over the store's ``observation_fts`` (one document per turn);
- ``dense``: cosine nearest neighbours over the store's ``observation_vec``.

Evidence recall of a question = the fraction of its evidence dia_ids (found
with ``D\\d+:\\d+``, duplicates counted once) cited by the top-k items.
Results are averaged over questions, overall, per category and per
conversation.  With ``qa`` the chat model also answers each question from
Engram's top-k and from a truncated full transcript; see ``evaluation.locomo_qa``.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

from core.errors import InvalidInputError
from core.models.base import ChatModel, Embedder
from core.ranking import DEFAULT_WEIGHTS, RecallWeights

log = logging.getLogger(__name__)

CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
DIA_ID = re.compile(r"D\d+:\d+")
SESSION_KEY = re.compile(r"session_(\d+)")
INGEST_BATCH = 64


@dataclass
class Turn:
    dia_id: str
    speaker: str
    text: str
    when: datetime
    session: int
    caption: str | None = None

    @property
    def observation_text(self) -> str:
        line = f"{self.speaker}: {self.text}"
        return f"{line} [shares a photo of {self.caption}]" if self.caption else line


@dataclass
class Question:
    text: str
    answer: str
    evidence: list[str]
    category: int


@dataclass
class Conversation:
    sample_id: str
    speakers: tuple[str, str]
    turns: list[Turn]
    questions: list[Question]

    @property
    def now(self) -> datetime:
        """The reference date of the questions: the last session's date."""
        return max(t.when for t in self.turns)


def parse_session_date(text: str) -> datetime:
    """LoCoMo's session date, e.g. ``"1:56 pm on 8 May, 2023"``."""
    cleaned = re.sub(r"\s+", " ", text.strip())
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%I:%M %p on %B %d, %Y"):
        try:
            return datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
    raise InvalidInputError(f"Cannot read the LoCoMo session date {text!r}.", fix="Check the data file.")


def evidence_ids(evidence: Sequence[Any]) -> list[str]:
    """The distinct dia_ids in an evidence list, tolerating malformed entries like ``"D8:6; D9:17"``."""
    seen: dict[str, None] = {}
    for item in evidence or []:
        for dia in DIA_ID.findall(str(item)):
            seen.setdefault(dia, None)
    return list(seen)


def load_locomo(path: str | Path) -> list[Conversation]:
    """Conversations of a LoCoMo JSON file (the layout of ``locomo10.json``)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInputError(f"There is no LoCoMo file at {path}.", fix="Pass --data with the path to locomo10.json or a subset.") from exc
    except ValueError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}.", fix="Pass a LoCoMo JSON file.") from exc
    if not isinstance(raw, list):
        raise InvalidInputError(f"{path} is not a list of LoCoMo conversations.", fix="Pass a LoCoMo JSON file.")
    out = []
    for index, item in enumerate(raw):
        conv = item["conversation"]
        sessions = sorted(
            (int(m.group(1)), key) for key in conv if (m := SESSION_KEY.fullmatch(key)) and isinstance(conv[key], list) and conv[key]
        )
        turns = []
        for number, key in sessions:
            when = parse_session_date(conv[f"{key}_date_time"])
            for turn in conv[key]:
                turns.append(Turn(turn["dia_id"], turn["speaker"], turn.get("text", ""), when, number, turn.get("blip_caption")))
        questions = [
            Question(q["question"], str(q.get("answer", q.get("adversarial_answer", ""))), evidence_ids(q.get("evidence")), int(q["category"]))
            for q in item.get("qa", [])
        ]
        out.append(Conversation(str(item.get("sample_id", f"conv-{index}")), (conv["speaker_a"], conv["speaker_b"]), turns, questions))
    return out


def ingest(engine, conversation: Conversation) -> int:
    """Add every turn as an embedded chat observation; returns how many were added."""
    items = []
    per_session: dict[int, int] = {}
    for turn in conversation.turns:
        position = per_session.get(turn.session, 0)
        per_session[turn.session] = position + 1
        items.append(
            dict(
                kind="chat",
                text=turn.observation_text,
                ts=(turn.when + timedelta(seconds=position)).timestamp(),
                role=turn.speaker,
                conversation=f"{conversation.sample_id}/session_{turn.session}",
                source_ref=turn.dia_id,
                meta={"dataset": "locomo", "sample_id": conversation.sample_id},
            )
        )
    for start in range(0, len(items), INGEST_BATCH):
        engine.observations.add_many(items[start : start + INGEST_BATCH])
    # The store's background path: embeds every pending row in batches.
    engine.indexer.index_pending()
    return len(items)


def evidence_recall(cited: Sequence[Sequence[str]], evidence: Sequence[str]) -> float:
    """Fraction of ``evidence`` dia_ids cited by any of the retrieved items (each a list of dia_ids)."""
    wanted = set(evidence)
    if not wanted:
        raise ValueError("a question without evidence has no recall")
    got = {dia for refs in cited for dia in refs}
    return len(wanted & got) / len(wanted)


@dataclass
class _Tally:
    scores: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)  # retriever -> (category, conv, recall)

    def add(self, retriever: str, category: int, conversation: str, recall: float) -> None:
        self.scores.setdefault(retriever, []).append((category, conversation, recall))

    def summary(self, retriever: str) -> dict[str, Any]:
        rows = self.scores.get(retriever, [])

        def mean(values: list[float]) -> float | None:
            return round(sum(values) / len(values), 4) if values else None

        by_category = {str(c): mean([r for cat, _, r in rows if cat == c]) for c in CATEGORIES if any(cat == c for cat, _, _ in rows)}
        conversations = list(dict.fromkeys(conv for _, conv, _ in rows))
        by_conversation = {conv: mean([r for _, cc, r in rows if cc == conv]) for conv in conversations}
        return {"recall": mean([r for _, _, r in rows]), "n": len(rows), "by_category": by_category, "by_conversation": by_conversation}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return round(ordered[index], 2)


def evaluate_locomo(
    conversations: Sequence[Conversation],
    embedder: Embedder,
    *,
    k: int = 10,
    workdir: str | Path | None = None,
    weights: RecallWeights = DEFAULT_WEIGHTS,
    chat_model: ChatModel | None = None,
    progress: Callable[[str], None] | None = None,
    qa_limit: int | None = None,
) -> dict[str, Any]:
    """Run the evaluation; returns the JSON-able report described in the module docstring.

    With ``chat_model``, questions are also answered (``qa_limit`` per conversation
    at most: a small model on a laptop needs seconds per answer).
    """
    from core.engine import Engine
    from core.paths import Paths

    tally = _Tally()
    latencies: list[float] = []
    qa_rows: list[dict] = []
    owned = None
    if workdir is None:
        owned = tempfile.TemporaryDirectory(prefix="engram-locomo-")
        workdir = owned.name
    try:
        for conversation in conversations:
            started = time.perf_counter()
            engine = Engine(Paths.at(Path(workdir) / conversation.sample_id), embedder=embedder, chat_model=chat_model)
            try:
                ingest(engine, conversation)
                recall = engine.make_recall(weights)
                recall.sync()
                refs_of = {obs_id: DIA_ID.findall(ref or "") for obs_id, ref in engine.observations.source_refs().items()}
                if progress:
                    progress(f"{conversation.sample_id}: {len(conversation.turns)} turns indexed in {time.perf_counter() - started:.0f} s")
                now = conversation.now
                answered = 0
                for question in conversation.questions:
                    if question.category not in CATEGORIES or not question.evidence:
                        continue
                    vector = engine.indexer.embed_query(question.text)
                    t0 = time.perf_counter()
                    result = recall.retrieve(question.text, now=now, limit=k)
                    latencies.append((time.perf_counter() - t0) * 1000)
                    engram_refs = [hit.refs() for hit in result.hits]
                    bm25_refs = [refs_of.get(i, []) for i in recall.bm25_only(question.text, k)]
                    dense_refs = [refs_of.get(i, []) for i in recall.dense_only(question.text, k, vector=vector)]
                    for name, cited in (("engram", engram_refs), ("bm25", bm25_refs), ("dense", dense_refs)):
                        tally.add(name, question.category, conversation.sample_id, evidence_recall(cited, question.evidence))
                    if chat_model is not None and (qa_limit is None or answered < qa_limit):
                        from evaluation.locomo_qa import answer_pair

                        qa_rows.append(answer_pair(chat_model, conversation, question, result))
                        answered += 1
            finally:
                engine.close()
            save = getattr(embedder, "save", None)
            if callable(save):
                save()
    finally:
        if owned is not None:
            owned.cleanup()
    report: dict[str, Any] = {"k": k, "n": len(tally.scores.get("engram", []))}
    for name in ("engram", "bm25", "dense"):
        report[name] = tally.summary(name)
    report["latency_ms"] = {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95), "max": _percentile(latencies, 100)}
    if qa_rows:
        from evaluation.locomo_qa import summarise_f1

        report["qa"] = summarise_f1(qa_rows)
    return report


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of a report from ``evaluate_locomo``."""
    lines = [f"LoCoMo evidence recall@{report['k']} over {report['n']} questions (categories 1-4)"]
    header = f"{'retriever':<10}{'all':>8}" + "".join(f"{CATEGORY_NAMES[c]:>13}" for c in CATEGORIES)
    lines.append(header)
    for name in ("engram", "bm25", "dense"):
        part = report[name]
        cells = "".join(f"{(part['by_category'].get(str(c)) or 0):>13.3f}" for c in CATEGORIES)
        lines.append(f"{name:<10}{part['recall']:>8.3f}{cells}")
    convs = list(report["engram"]["by_conversation"])
    if convs:
        lines.append("per conversation: " + ", ".join(
            f"{c} {report['engram']['by_conversation'][c]:.3f}/{report['bm25']['by_conversation'][c]:.3f}/{report['dense']['by_conversation'][c]:.3f}"
            for c in convs
        ) + "  (engram/bm25/dense)")
    lat = report.get("latency_ms") or {}
    lines.append(f"engram retrieval latency: p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms (including the embedder call for the query, which a cache may answer)")
    if "qa" in report:
        qa = report["qa"]
        lines.append(f"QA token F1: engram {qa['engram_f1']:.3f} vs full context {qa['full_context_f1']:.3f} ({qa['n']} questions)")
    return "\n".join(lines)
