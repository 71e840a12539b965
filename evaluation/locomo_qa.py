"""Question answering for the LoCoMo harness, scored with LoCoMo's token F1.

``answer_pair`` asks the chat model twice per question: once with Engram's
retrieved items as context (each with its date and speaker), once with the
conversation's full transcript truncated to what fits the model's context
window (the most recent turns are kept).  Both answers are scored against the
gold answer with ``locomo_f1``.

Normalisation follows LoCoMo: remove commas, lowercase, strip punctuation,
drop a/an/the/and, collapse spaces, Porter-stem, then multiset precision and
recall.  For category 1 (multi-hop) prediction and gold are split on "," and
the best-matching F1 of each gold part is averaged.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from datetime import datetime
from typing import Any, Sequence

from core.ranking import stem

ANSWER_TOKENS = 48
SYSTEM_PROMPT = (
    "You answer questions about a long conversation between two people, using only the excerpts given. "
    "Answer with a short phrase (a few words, a date, a name), no explanation. "
    "Dates of the excerpts tell when things were said; resolve 'yesterday' or 'last week' against them."
)


_PUNCT = re.compile("[" + re.escape(string.punctuation + "‘’“”") + "]")


def normalise_answer(text: Any) -> list[str]:
    """LoCoMo's normalisation of an answer, as stemmed tokens."""
    text = str(text).replace(",", "").lower()
    text = _PUNCT.sub("", text)
    words = [w for w in text.split() if w not in ("a", "an", "the", "and")]
    return [stem(w) for w in words]


def token_f1(prediction: Any, gold: Any) -> float:
    """Multiset token F1 of two answers after ``normalise_answer``."""
    pred, ref = normalise_answer(prediction), normalise_answer(gold)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def locomo_f1(prediction: Any, gold: Any, category: int) -> float:
    """LoCoMo's F1: for multi-hop questions, each gold part is matched with its best predicted part."""
    if category != 1:
        return token_f1(prediction, gold)
    golds = [g for g in str(gold).split(",") if g.strip()]
    preds = [p for p in str(prediction).split(",") if p.strip()] or [""]
    if not golds:
        return 0.0
    return sum(max(token_f1(p, g) for p in preds) for g in golds) / len(golds)


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%d %B %Y")


def _ask(chat_model, context: str, question: str) -> str:
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Excerpts:\n{context}\n\nQuestion: {question}\nShort answer:"},
    ]
    return chat_model.chat(messages, max_tokens=ANSWER_TOKENS, temperature=0.0).strip()


def _budget(chat_model, question: str) -> int:
    """Tokens left for excerpts; lines are counted one by one, so keep a tenth spare for what joining adds."""
    overhead = chat_model.count_tokens(SYSTEM_PROMPT + question) + ANSWER_TOKENS + 64
    return max(64, int((int(chat_model.context_length) - overhead) * 0.9))


def retrieved_context(result, chat_model, question: str) -> str:
    """Engram's hits as dated lines, best first, cut to the model's budget."""
    budget = _budget(chat_model, question)
    lines, used = [], 0
    for hit in result.hits:
        line = f"[{_date(hit.ts)}] {hit.text}"
        cost = chat_model.count_tokens(line) + 1  # and its newline
        if used + cost > budget:
            break
        lines.append(line)
        used += cost
    return "\n".join(lines)


def full_context(conversation, chat_model, question: str) -> str:
    """The whole transcript with session dates, keeping the most recent turns that fit."""
    budget = _budget(chat_model, question)
    lines: list[str] = []
    used = 0
    for turn in reversed(conversation.turns):
        line = f"[{turn.when.strftime('%d %B %Y')}] {turn.observation_text}"
        cost = chat_model.count_tokens(line) + 1  # and its newline
        if used + cost > budget:
            break
        lines.append(line)
        used += cost
    return "\n".join(reversed(lines))


def answer_pair(chat_model, conversation, question, result) -> dict[str, Any]:
    """Both answers to one question and their F1 against the gold answer."""
    engram_answer = _ask(chat_model, retrieved_context(result, chat_model, question.text), question.text)
    full_answer = _ask(chat_model, full_context(conversation, chat_model, question.text), question.text)
    return {
        "category": question.category,
        "question": question.text,
        "gold": question.answer,
        "engram_answer": engram_answer,
        "full_context_answer": full_answer,
        "engram_f1": locomo_f1(engram_answer, question.answer, question.category),
        "full_context_f1": locomo_f1(full_answer, question.answer, question.category),
    }


def summarise_f1(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean F1 of both answer sources, overall and per category."""

    def mean(values):
        return round(sum(values) / len(values), 4) if values else None

    categories = sorted({r["category"] for r in rows})
    return {
        "n": len(rows),
        "engram_f1": mean([r["engram_f1"] for r in rows]),
        "full_context_f1": mean([r["full_context_f1"] for r in rows]),
        "by_category": {
            str(c): {
                "engram_f1": mean([r["engram_f1"] for r in rows if r["category"] == c]),
                "full_context_f1": mean([r["full_context_f1"] for r in rows if r["category"] == c]),
            }
            for c in categories
        },
    }
