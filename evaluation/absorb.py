"""The absorb evaluation on LoCoMo conversations.

Each conversation is imported as chat observations (each session's date is
its messages' time, each turn's ``dia_id`` its observation's ``source_ref``),
absorbed with the configured model, and then scored:

- memories by type, candidates rejected (by stage), model calls and seconds per batch;
- memory-level evidence recall@10: for each question (categories 1-4) the ten
  best memories are retrieved, each counts for the dia_ids of its source
  observations, and recall is the share of the question's evidence dia_ids
  found.  Questions whose evidence was not absorbed (with ``max_batches``) are
  scored separately, so a bounded run reports on the part it absorbed;
- the same recall for plain observation search, as a reference point;
- a re-run of the grounding check over every stored memory against its own
  source observations: the number that fail must be 0.

The evaluation runs in a fresh, temporary Engram home, never in the user's.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from core.absorb import grounding
from core.absorb.ingest import ChatMessage, import_messages
from core.errors import InvalidInputError
from core.secrets import mask

DIA_ID = re.compile(r"D\d+:\d+")
SCORED_CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


def _session_time(text: str) -> float:
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%I:%M %p on %B %d, %Y"):
        try:
            return datetime.strptime(" ".join(text.split()), fmt).timestamp()
        except ValueError:
            continue
    raise InvalidInputError(f"The LoCoMo session date {text!r} is not in the expected form.",
                            fix="Dates look like '1:56 pm on 8 May, 2023'.")


def load_locomo(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"There is no file {path}.", fix="Give the path to locomo-dev.json.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInputError(f"{path.name} is not valid JSON: {exc}.", fix="Give the LoCoMo JSON file.") from None
    if not isinstance(data, list) or not all(isinstance(c, dict) and "conversation" in c for c in data):
        raise InvalidInputError(f"{path.name} is not a list of LoCoMo conversations.", fix="Give the LoCoMo JSON file.")
    return data


def conversation_messages(sample: dict) -> list[ChatMessage]:
    conv = sample["conversation"]
    sample_id = str(sample.get("sample_id") or "conversation")
    sessions = sorted(
        (int(m.group(1)), key) for key in conv if (m := re.fullmatch(r"session_(\d+)", key)) and conv[key]
    )
    messages: list[ChatMessage] = []
    for number, key in sessions:
        base = _session_time(conv[f"{key}_date_time"])
        for index, turn in enumerate(conv[key]):
            text = str(turn.get("text") or "")
            if turn.get("blip_caption"):
                text += f" [shares a photo: {turn['blip_caption']}]"
            messages.append(
                ChatMessage(role="user", content=text, ts=base + index, conversation=f"locomo:{sample_id}",
                            speaker=str(turn.get("speaker") or "someone"), source_ref=str(turn.get("dia_id")))
            )
    return messages


def _recall(evidence: set[str], found: set[str]) -> float:
    return len(evidence & found) / len(evidence) if evidence else 0.0


def evaluate(
    data_path: str | Path,
    *,
    limit_conversations: int | None = None,
    max_batches: int | None = None,
    use_llm: bool = True,
    k: int = 10,
    engine_factory: Callable[[Path], Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the evaluation; returns the report as a JSON-able dict (see the module docstring)."""
    from core.engine import Engine
    from core.paths import Paths

    samples = load_locomo(data_path)[: limit_conversations or None]
    home = Path(tempfile.mkdtemp(prefix="engram-eval-absorb-"))
    engine = engine_factory(home) if engine_factory else Engine(Paths.at(home))
    say = progress or (lambda _text: None)
    try:
        batches: list[dict] = []
        per_conversation = []
        recall_all: list[float] = []
        recall_absorbed: list[float] = []
        recall_obs_absorbed: list[float] = []
        by_category: dict[int, list[float]] = {}
        cited: list[int] = []  # dia_ids the top k memories cite: coarse memories cite many, which flatters recall
        remaining = max_batches
        started = time.perf_counter()
        for sample in samples:
            messages = conversation_messages(sample)
            import_messages(engine.store, messages)
            absorber = engine.make_absorber(use_llm=use_llm)
            report = absorber.absorb_backlog(
                max_batches=remaining,
                progress=lambda b: say(f"batch {b.batch_id}: {b.observations} messages, model {b.llm_state}, "
                                       f"{b.llm_calls} calls, {b.seconds:.1f}s"),
            ).to_dict()
            batches.extend(report["per_batch"])
            if remaining is not None:
                remaining -= report["batches"]
            engine.indexer.index_pending()
            absorbed_refs = set(engine.observations.source_refs(conversation=f"locomo:{sample.get('sample_id')}",
                                                                absorbed=True).values())
            scored = 0
            for qa in sample.get("qa", []):
                if qa.get("category") not in SCORED_CATEGORIES:
                    continue
                evidence = set(DIA_ID.findall(" ".join(map(str, qa.get("evidence") or []))))
                if not evidence:
                    continue
                scored += 1
                found = _memory_dia_ids(engine, str(qa["question"]), k)
                cited.append(len(found))
                value = _recall(evidence, found)
                recall_all.append(value)
                if evidence <= absorbed_refs:
                    recall_absorbed.append(value)
                    by_category.setdefault(qa["category"], []).append(value)
                    hits = engine.observations.search(str(qa["question"]), limit=k)
                    recall_obs_absorbed.append(_recall(evidence, {h.observation.source_ref for h in hits}))
            per_conversation.append({"sample_id": sample.get("sample_id"), "messages": len(messages),
                                     "absorbed": len(absorbed_refs), "questions": scored})
            if remaining is not None and remaining <= 0:
                break
        seconds = time.perf_counter() - started
        rejections = Counter(engine.store.absorb_log.rejection_counts())
        calls = [b["llm_calls"] for b in batches]
        mean = lambda xs: round(sum(xs) / len(xs), 4) if xs else None  # noqa: E731
        return {
            "data": str(data_path),
            "conversations": per_conversation,
            "use_llm": use_llm,
            "chat_model": _model_name(engine) if use_llm else None,
            "batches": len(batches),
            "memories_by_type": engine.memories.counts(),
            "rejected": dict(rejections),
            "llm_calls": sum(calls),
            "llm_calls_per_batch_max": max(calls, default=0),
            "llm_calls_per_batch_mean": mean(calls),
            "seconds_per_batch_mean": mean([b["seconds"] for b in batches]),
            "seconds_per_batch_max": max((b["seconds"] for b in batches), default=None),
            "llm_states": dict(Counter(b["llm_state"] for b in batches)),
            f"memory_recall@{k}_absorbed": mean(recall_absorbed),
            f"memory_recall@{k}_by_category": {CATEGORY_NAMES[c]: mean(v) for c, v in sorted(by_category.items())},
            f"memory_recall@{k}_all_questions": mean(recall_all),
            f"dia_ids_cited_by_top{k}_mean": mean(cited),
            f"observation_recall@{k}_absorbed": mean(recall_obs_absorbed),
            "questions_absorbed": len(recall_absorbed),
            "questions_all": len(recall_all),
            "grounding_failures_in_store": len(regrounding_failures(engine)),
            **store_hygiene(engine),
            "seconds": round(seconds, 2),
        }
    finally:
        engine.close()
        shutil.rmtree(home, ignore_errors=True)


def store_hygiene(engine) -> dict[str, Any]:
    """Duplicates and junk among the active memories (the definitions of ``engram eval memory``), and the mean
    number of source observations a memory cites."""
    from evaluation.memory_score import MemoryView, duplicate_ids, junk_ids

    views, cited = [], []
    offset = 0
    while True:
        chunk = engine.memories.list(limit=500, offset=offset)
        if not chunk:
            break
        offset += len(chunk)
        views += [MemoryView(m.id, m.type, dict(m.fields), True) for m in chunk]
        cited += [len(m.sources) for m in chunk]
    return {"duplicates": len(duplicate_ids(views)), "junk": len(junk_ids(views)),
            "sources_per_memory_mean": round(sum(cited) / len(cited), 2) if cited else None}


def _model_name(engine) -> str | None:
    try:
        return engine.chat_model().name
    except Exception:  # the report names the model when there is one
        return None


def _memory_dia_ids(engine, question: str, k: int) -> set[str]:
    results = engine.memories.search(question, limit=k)
    source_ids = sorted({s for r in results for s in r.memory.sources})
    found = engine.observations.get_many(source_ids)
    return {o.source_ref for o in found.values() if o.source_ref}


def _masked_in(value: str | None, observations) -> bool:
    masked = mask(value)
    return bool(masked) and any(masked in (o.text or "") or masked in (o.window_title or "") for o in observations)


def regrounding_failures(engine) -> list[tuple[int, str]]:
    """Every stored memory checked again against its own source observations: (id, reason) of each failure."""
    failures: list[tuple[int, str]] = []
    offset = 0
    while True:
        memories = engine.memories.list(limit=500, offset=offset, include_archived=True)
        if not memories:
            return failures
        offset += len(memories)
        for memory in memories:
            observations = list(engine.observations.get_many(memory.sources).values())
            if not observations:
                failures.append((memory.id, "no source observations"))
                continue
            extra = []
            # A merged UPDATE may keep words of the memory it merged into; the history holds that text.
            for row in engine.memories.history(memory.id):
                if row["action"] in ("ADD", "UPDATE") and row["old_value"]:
                    extra.append(json.dumps(row["old_value"], ensure_ascii=False))
            source = grounding.SourceText.from_observations(observations, extra=extra)
            fields = dict(memory.fields)
            if memory.type == "knowledge_vault":
                fields["secret_value"] = memory.fields.get("secret_value")
            result = grounding.check(memory.type, fields, source)
            if not result.ok and memory.type == "knowledge_vault" and _masked_in(fields.get("secret_value"), observations):
                continue  # the source now holds the value's mask: the clear value went to the vault only
            if not result.ok:
                failures.append((memory.id, result.reason))
