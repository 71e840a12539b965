"""``engram eval memory``: memory-quality cases run through the real pipeline, then scored.

Each case runs in a fresh, empty Engram home in a temporary directory (key in
a key file, never the keyring), on a clock that starts one hour after the
case's last message or screen and runs on from there:

1. its messages are written to a JSONL file and imported by ``engram ingest
   chat``'s code (``core.absorb.ingest.import_chat_file``), in order;
2. its screens are stored as capture stores a frame (``screen_observation``: title,
   URL and text masked the same way; a window the privacy exclusions match is
   not stored, as capture never grabs it);
3. the background jobs run once each, through the scheduler, as the app runs
   them: ``embed``, ``absorb``, ``embed``, the deep consolidation pass,
   ``embed``;
4. every memory is scored against the case's points (``evaluation.memory_score``);
5. each question is asked with ``engine.ask``, as ``engram ask`` asks it, except
   that the exchange is not recorded as a chat, so one question never sees
   another's answer;
6. when the case names secrets (``forbid_visible``), everything Engram shows
   without a reveal is scanned for them: ``engram search`` and ``engram
   recall`` (text and JSON) for each question and for the words written just
   before each secret, the answers and their citations, and ``engram get ID
   --history`` (text and JSON) for every memory.

With ``use_llm=False`` (``--no-llm``) the case's settings turn the model off
for absorbing and consolidation, and the engine has no chat model at all, so
questions get what ``engram ask`` gives without one.  The chat model and the
embedder are loaded once and shared by all cases.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

from core.errors import EngramError, ModelUnavailableError
from core.store.types import MEMORY_TYPES
from evaluation.memory_cases import Case, CaseFile
from evaluation.memory_score import (
    MemoryView,
    Tally,
    answer_correct,
    count_appearances,
    duplicate_ids,
    forbidden_ids,
    junk_ids,
    point_met,
    ratio,
    shown_strings,
    unsupported_numbers,
)

SCORE_KEYS = (
    "point_recall", "forbidden", "visible_leaks", "duplicates", "junk", "qa_accuracy", "abstain_answered",
    "unsupported_numbers",
)
NOW_AFTER_LAST_SECONDS = 3600.0
SEARCH_LIMIT = 10
RECALL_LIMIT = 20
LEAK_QUERY_WORDS = 2
LEAK_QUERY_SKIP = frozenset(
    "is was are were my your our the a an its it's to of for and at in on with as be new now here this that".split()
)


class CaseClock:
    """A clock that starts at ``start`` and moves with real time."""

    def __init__(self, start: float):
        self.start = start
        self._t0 = time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self._t0)


def rules_only_engine_class():
    from core.engine import Engine

    class RulesOnlyEngine(Engine):
        """An engine with no chat model, as on a machine where none is installed."""

        def chat_model(self):
            raise ModelUnavailableError("no chat model is used (--no-llm)", fix="Run without --no-llm to use one.")

    return RulesOnlyEngine


@contextlib.contextmanager
def key_file_only() -> Iterator[None]:
    """Temporary stores keep their key in a file: hundreds of cases must not fill the user's keyring."""
    before = os.environ.get("ENGRAM_KEYRING")
    os.environ["ENGRAM_KEYRING"] = "file"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ENGRAM_KEYRING", None)
        else:
            os.environ["ENGRAM_KEYRING"] = before


# -- what a command shows --------------------------------------------------------------------


class ShownOutput:
    """A stand-in for the CLI context that keeps what a command prints, for scanning."""

    def __init__(self, engine):
        self.engine = engine
        self.texts: list[str] = []

    def say(self, text: str = "") -> None:
        self.texts.append(str(text))

    warn = say

    def print_json(self, value: Any) -> None:
        self.texts.extend(shown_strings(value))

    def take(self) -> list[str]:
        texts, self.texts = self.texts, []
        return texts


def leak_queries(case: Case) -> list[str]:
    """What a user would type to find each secret: the words written just before it, as searches."""
    texts = [str(m.get("content") or "") for m in case.messages] + [s.text for s in case.screens]
    queries: list[str] = []
    for secret in case.forbid_visible:
        for text in texts:
            for match in re.finditer(re.escape(secret), text, re.IGNORECASE):
                words = re.findall(r"[^\W\d_]+", text[max(0, match.start() - 80) : match.start()])
                while words and words[-1].lower() in LEAK_QUERY_SKIP:
                    words.pop()
                phrase = " ".join(words[-LEAK_QUERY_WORDS:])
                if phrase and phrase.lower() not in (q.lower() for q in queries):
                    queries.append(phrase)
    return queries


def visible_leaks(engine, case: Case, answers: list[dict]) -> tuple[int, list[dict]]:
    """Appearances of the case's secrets in what Engram shows without a reveal, and where they were."""
    from core.cli_memory import cmd_get, cmd_recall, cmd_search

    shown = ShownOutput(engine)
    places: list[tuple[str, list[str]]] = []
    queries = [q["q"] for q in case.questions] + leak_queries(case)
    for query in dict.fromkeys(queries):
        for as_json in (False, True):
            mode = " --json" if as_json else ""
            # With every repeat listed: a leak in a memory the default list leaves out is a leak all the same.
            cmd_search(argparse.Namespace(query=query, types=None, since=None, until=None, limit=SEARCH_LIMIT,
                                          all=False, repeats=True, json=as_json), shown)
            places.append((f"search {query!r}{mode}", shown.take()))
            cmd_recall(argparse.Namespace(text=query, limit=RECALL_LIMIT, json=as_json), shown)
            places.append((f"recall {query!r}{mode}", shown.take()))
    for answer in answers:
        places.append((f"ask {answer['q']!r}", list(shown_strings({"answer": answer["answer"], "citations": answer["citations"]}))))
    for memory in engine.memories.list(limit=100_000, include_archived=True):
        for as_json in (False, True):
            cmd_get(argparse.Namespace(id=memory.id, json=as_json, reveal=False, history=True), shown)
            places.append((f"get {memory.id} --history" + (" --json" if as_json else ""), shown.take()))
    total = 0
    where: list[dict] = []
    for place, texts in places:
        count = count_appearances(texts, case.forbid_visible)
        if count:
            total += count
            where.append({"where": place, "count": count})
    return total, where


# -- one case --------------------------------------------------------------------------------


def ingest_case(engine, case: Case, folder: Path) -> dict:
    """Store the case's messages (through 'engram ingest chat') and screens (as capture stores frames)."""
    from core.absorb.ingest import import_chat_file
    from core.capture.privacy import ExclusionRules
    from core.capture.screen import WindowContext
    from core.capture.service import screen_observation

    counts = {"messages": 0, "screens": 0, "screens_excluded": 0, "screens_without_text": 0}
    if case.messages:
        path = folder / (re.sub(r"[^\w.-]+", "_", case.id)[:100] + ".jsonl")
        with open(path, "w", encoding="utf-8") as handle:
            for record in case.messages:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        counts["messages"] = import_chat_file(engine.store, path, fmt="jsonl").added
    rules = ExclusionRules(engine.settings.get("privacy.exclude_apps"), engine.settings.get("privacy.exclude_titles"))
    for screen in case.screens:
        context = WindowContext(app=screen.app or None, title=screen.title or None, url=screen.url)
        if rules.match(context) is not None:
            counts["screens_excluded"] += 1  # capture grabs nothing of an excluded window
            continue
        item = screen_observation(screen.text, context, keep_values=bool(engine.settings.get("privacy.vault_from_screen")),
                                  meta={"words": len(screen.text.split())})
        if not item["text"].strip():
            counts["screens_without_text"] += 1  # capture keeps no frame without text
            continue
        engine.observations.add(
            "screen", item["text"], ts=screen.ts, app=screen.app or None, window_title=item["window_title"],
            url=item["url"] or None, monitor=0, meta=dict(item["meta"], sensitive=item["meta"].get("sensitive", [])),
        )
        counts["screens"] += 1
    return counts


def run_jobs(engine, case_id: str, timings: dict[str, float]) -> list[dict]:
    """The background jobs, once each, as the scheduler runs them; returns the absorbed batches.

    Each job's seconds are added to ``timings`` under its name.
    """
    from core.consolidate.jobs import DEEP_JOB

    batches: list[dict] = []
    unsubscribe = engine.events.subscribe("absorb_did_finish", lambda report: batches.extend(report.get("per_batch", [])))
    try:
        scheduler = engine.scheduler
        for job in ("embed", "absorb", "embed", DEEP_JOB, "embed"):
            started = time.perf_counter()
            record = scheduler.run(job)
            timings[job] = round(timings.get(job, 0.0) + time.perf_counter() - started, 3)
            if record["status"] != "ok":
                raise EngramError(f"Case {case_id!r}: the {job} job {record['status']}: {record.get('error') or 'no error recorded'}.",
                                  fix="Run 'engram -v eval memory' for the log; this is a bug in Engram or in the case.")
    finally:
        unsubscribe()
    return batches


def score_case(engine, case: Case, timings: dict[str, float]) -> dict:
    """Memories, points, hygiene, answers and leaks of one absorbed case (seconds of asking and of the leak scan
    go to ``timings``)."""
    memories = engine.memories.list(limit=100_000, include_archived=True)
    views = [MemoryView(m.id, m.type, dict(m.fields), not m.archived) for m in memories]
    points = []
    for point in case.expect:
        met, ids = point_met(point, views)
        points.append({"point": point, "met": met, "matches": ids})
    all_forbid = case.forbid + case.forbid_active
    forbidden = [
        {"memory": memory_id, "points": [all_forbid[i] for i in indexes]}
        for memory_id, indexes in sorted(forbidden_ids(case.forbid, case.forbid_active, views).items())
    ]
    sources = case.source_texts()
    started = time.perf_counter()
    answers = []
    for question in case.questions:
        try:
            answer = engine.ask(question["q"], record=False)
        except EngramError as exc:
            # One failed answer is reported and scored wrong; it does not throw away the other cases.
            answers.append({"q": question["q"], "expected": {k: v for k, v in question.items() if k != "q" and v},
                            "answer": "", "abstained": False, "citations": [], "correct": False,
                            "unsupported_numbers": [], "error": exc.message})
            continue
        shown = answer.to_dict()
        answers.append({
            "q": question["q"],
            "expected": {k: v for k, v in question.items() if k != "q" and v},
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": shown["citations"],
            "correct": answer_correct(question, answer.text, answer.abstained),
            "unsupported_numbers": unsupported_numbers(answer.text, sources, question["q"]),
        })
    timings["ask"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    leaks, leak_places = visible_leaks(engine, case, answers) if case.forbid_visible else (0, [])
    timings["leak_scan"] = round(time.perf_counter() - started, 3)
    return {
        "memories": [
            {"id": m.id, "type": m.type, "active": not m.archived, "title": m.title if m.type != "knowledge_vault"
             else m.fields.get("caption"), "text": m.text}
            for m in memories
        ],
        "points": points,
        "forbidden": forbidden,
        "duplicates": duplicate_ids(views),
        "junk": junk_ids(views),
        "answers": answers,
        "visible_leaks": leaks,
        "leaks": leak_places,
    }


def run_case(case: Case, folder: Path, engine_factory: Callable[[Any, Callable[[], float]], Any], *, use_llm: bool) -> dict:
    from core.paths import Paths

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    engine = engine_factory(Paths.at(folder / "home"), CaseClock(case.last_ts + NOW_AFTER_LAST_SECONDS))
    try:
        if not use_llm:
            engine.settings.set("absorb.use_llm", False)
            engine.settings.set("consolidation.use_model", False)
        timings: dict[str, float] = {"open": round(time.perf_counter() - started, 3)}
        stored = ingest_case(engine, case, folder)
        timings["ingest"] = round(time.perf_counter() - started - timings["open"], 3)
        batches = run_jobs(engine, case.id, timings)
        result = {"id": case.id, "stored": stored, "unabsorbed": engine.observations.count(unabsorbed=True)}
        result.update(score_case(engine, case, timings))
    finally:
        engine.close()
    result["batches"] = [{k: b[k] for k in ("observations", "kinds", "llm_calls", "llm_state", "seconds")} for b in batches]
    result["timings"] = timings
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


# -- the run ---------------------------------------------------------------------------------


def evaluate_memory(
    cases: CaseFile,
    *,
    use_llm: bool,
    chat_model=None,
    embedder=None,
    engine_factory: Callable[[Any, Callable[[], float]], Any] | None = None,
    workdir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run every case and return the report (keys: ``SCORE_KEYS``, ``by_type``, ``memories``, ``cases`` and more).

    ``engine_factory(paths, clock)`` makes each case's engine; by default an
    ``Engine`` with the shared ``chat_model`` and ``embedder`` (no chat model
    at all without ``use_llm``).
    """
    if engine_factory is None:
        from core.engine import Engine

        if use_llm:
            def engine_factory(paths, clock):
                return Engine(paths, embedder=embedder, chat_model=chat_model, clock=clock)
        else:
            rules_only = rules_only_engine_class()

            def engine_factory(paths, clock):
                return rules_only(paths, embedder=embedder, clock=clock)

    say = progress or (lambda _line: None)
    started = time.perf_counter()
    results = []
    root = Path(tempfile.mkdtemp(prefix="engram-eval-memory-", dir=workdir))
    try:
        with key_file_only():
            for index, case in enumerate(cases.cases, 1):
                folder = root / f"case-{index:04d}"
                result = run_case(case, folder, engine_factory, use_llm=use_llm)
                shutil.rmtree(folder, ignore_errors=True)
                results.append(result)
                say(progress_line(index, len(cases.cases), result))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report = summarise(results, cases.cases)
    report.update(
        data=cases.path,
        use_llm=use_llm,
        chat_model=getattr(chat_model, "name", None) if use_llm else None,
        embedder=getattr(embedder, "name", None),
        seconds=round(time.perf_counter() - started, 2),
        seconds_per_case_mean=round(sum(r["seconds"] for r in results) / len(results), 2) if results else None,
        warnings=list(cases.warnings),
        cases=results,
    )
    return report


def progress_line(index: int, total: int, result: dict) -> str:
    met = sum(p["met"] for p in result["points"])
    right = sum(a["correct"] for a in result["answers"])
    active = sum(m["active"] for m in result["memories"])
    return (f"[{index}/{total}] {result['id']}: {active} memories, points {met}/{len(result['points'])}, "
            f"answers {right}/{len(result['answers'])}, {len(result['batches'])} batches, {result['seconds']:.1f} s")


def summarise(results: list[dict], cases: list[Case]) -> dict:
    """The totals over ``results`` (one per case, in the order of ``cases``)."""
    tally = Tally()
    by_memory_type: Counter = Counter()
    questions = correct = abstain_questions = abstain_answered = unsupported = ask_errors = 0
    forbidden = leaks = duplicates = junk = 0
    batches: list[dict] = []
    steps: Counter = Counter()
    for result, case in zip(results, cases):
        steps.update(result.get("timings", {}))
        for row in result["points"]:
            tally.add_point(row["point"]["type"], row["met"])
        for answer, question in zip(result["answers"], case.questions):
            questions += 1
            correct += int(answer["correct"])
            if question.get("abstain"):
                abstain_questions += 1
                abstain_answered += int(not answer["abstained"])
            unsupported += int(bool(answer["unsupported_numbers"]))
            ask_errors += int("error" in answer)
        forbidden += len(result["forbidden"])
        leaks += result["visible_leaks"]
        duplicates += len(result["duplicates"])
        junk += len(result["junk"])
        by_memory_type.update(m["type"] for m in result["memories"] if m["active"])
        batches += result["batches"]
    calls = [b["llm_calls"] for b in batches]
    seconds = [b["seconds"] for b in batches]
    return {
        "point_recall": ratio(tally.points_met, tally.points_total),
        "by_type": {t: {"met": met, "total": total, "recall": ratio(met, total)} for t, (met, total) in sorted(tally.by_type.items())},
        "points": {"met": tally.points_met, "total": tally.points_total},
        "forbidden": forbidden,
        "visible_leaks": leaks,
        "duplicates": duplicates,
        "junk": junk,
        "qa_accuracy": ratio(correct, questions),
        "questions": {"correct": correct, "total": questions, "abstain": abstain_questions, "errors": ask_errors},
        "abstain_answered": abstain_answered,
        "unsupported_numbers": unsupported,
        "memories": {"total": sum(by_memory_type.values()), "by_type": {t: by_memory_type.get(t, 0) for t in MEMORY_TYPES}},
        "absorb": {
            "batches": len(batches),
            "llm_calls": sum(calls),
            "llm_calls_per_batch_max": max(calls, default=0),
            "llm_calls_per_batch_mean": round(sum(calls) / len(calls), 3) if calls else None,
            "seconds_per_batch_mean": round(sum(seconds) / len(seconds), 3) if seconds else None,
            "seconds_per_batch_max": round(max(seconds), 3) if seconds else None,
        },
        "seconds_by_step": {step: round(value, 2) for step, value in steps.items()},
        "cases_run": len(results),
    }


# -- the table -------------------------------------------------------------------------------


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_report(report: dict) -> str:
    """A compact table: one line per case, then the totals."""
    head = f"{'case':<36}{'mem':>5}{'points':>8}{'forb':>6}{'leak':>6}{'dup':>5}{'junk':>6}{'qa':>7}{'num':>5}{'sec':>7}"
    lines = [head, "-" * len(head)]
    for case in report["cases"]:
        met = sum(p["met"] for p in case["points"])
        right = sum(a["correct"] for a in case["answers"])
        numbers = sum(bool(a["unsupported_numbers"]) for a in case["answers"])
        active = sum(m["active"] for m in case["memories"])
        points = f"{met}/{len(case['points'])}"
        answers = f"{right}/{len(case['answers'])}"
        lines.append(
            f"{case['id'][:35]:<36}{active:>5}{points:>8}{len(case['forbidden']):>6}"
            f"{case['visible_leaks']:>6}{len(case['duplicates']):>5}{len(case['junk']):>6}"
            f"{answers:>7}{numbers:>5}{case['seconds']:>7.1f}"
        )
    lines.append("-" * len(head))
    points, questions, absorb = report["points"], report["questions"], report["absorb"]
    model = (report["chat_model"] or "none") if report["use_llm"] else "none (--no-llm)"
    lines += [
        f"{report['cases_run']} cases, chat model {model}, {report['seconds']:.0f} s "
        f"({_cell(report['seconds_per_case_mean'])} s a case)",
        f"point_recall        {_cell(report['point_recall'])}  ({points['met']}/{points['total']})  by type: "
        + ", ".join(f"{t} {v['met']}/{v['total']}" for t, v in report["by_type"].items()),
        f"qa_accuracy         {_cell(report['qa_accuracy'])}  ({questions['correct']}/{questions['total']})"
        + (f"; {questions['errors']} answer(s) failed with an error, see --json" if questions["errors"] else ""),
        f"forbidden {report['forbidden']}, visible_leaks {report['visible_leaks']}, duplicates {report['duplicates']}, "
        f"junk {report['junk']}, abstain_answered {report['abstain_answered']}/{questions['abstain']}, "
        f"unsupported_numbers {report['unsupported_numbers']}",
        "memories            " + f"{report['memories']['total']} active: "
        + ", ".join(f"{n} {t}" for t, n in report["memories"]["by_type"].items() if n),
        f"absorb              {absorb['batches']} batches, {_cell(absorb['seconds_per_batch_mean'])} s a batch "
        f"(max {_cell(absorb['seconds_per_batch_max'])}), model calls a batch max {absorb['llm_calls_per_batch_max']}",
    ]
    return "\n".join(lines)
