"""Benchmark of answers: generated against extractive, per chat model, on the memory cases.

For each chat model of the catalog that is installed here (the seed SmolLM2-135M; Gemma 3 270M
after ``make gemma``) and for rules only, every case of the file runs once through the real
pipeline (``evaluation.memory``: ingest, absorb, consolidate with that model), then each question
is asked twice in the same store, as ``engram ask`` asks it:

- **extractive**: the sentences that answer, quoted with their citations (``models.answers =
  extractive``); the memory eval's scores come from these answers;
- **generated**: the model words the answer and it is shown only if it passes the check against
  its sources (``models.answers = generated``); how often the check replaced it is reported.

Reported per model: QA accuracy, answered unanswerables and answers with unsupported numbers for
both styles, how many generated answers the check replaced, seconds per answer for both styles,
point recall and seconds per absorbed batch (the model's absorb cost), and for the default model
the seconds per answer.  The style the catalog ships for each model (``answers``) is printed beside
the measured winner, so a catalog that disagrees with the measurement shows.

Usage::

    python bench/bench_answers.py [--data FILE] [--models NAME,...] [--rules-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_home, headline, report  # noqa: E402

STYLES = ("extractive", "generated")


def answer_tally() -> dict:
    return {"questions": 0, "correct": 0, "abstain_questions": 0, "abstain_answered": 0, "unsupported_numbers": 0,
            "seconds": [], "replaced": 0}


def score_answer(tally: dict, question: dict, answer, sources: list[str], seconds: float) -> None:
    from evaluation.memory_score import answer_correct, unsupported_numbers

    tally["questions"] += 1
    tally["correct"] += int(answer_correct(question, answer.text, answer.abstained))
    if question.get("abstain"):
        tally["abstain_questions"] += 1
        tally["abstain_answered"] += int(not answer.abstained)
    tally["unsupported_numbers"] += int(bool(unsupported_numbers(answer.text, sources, question["q"])))
    tally["seconds"].append(seconds)
    tally["replaced"] += int(answer.style == "extractive" and "not shown" in (answer.note or ""))


def summary(tally: dict) -> dict:
    seconds = tally["seconds"]
    return {
        "qa_accuracy": round(tally["correct"] / tally["questions"], 4) if tally["questions"] else None,
        "correct": tally["correct"],
        "questions": tally["questions"],
        "abstain_answered": f"{tally['abstain_answered']}/{tally['abstain_questions']}",
        "unsupported_numbers": tally["unsupported_numbers"],
        "replaced_by_quotes": tally["replaced"],
        "seconds_per_answer_mean": round(statistics.fmean(seconds), 3) if seconds else None,
        "seconds_per_answer_p95": round(sorted(seconds)[int(0.95 * (len(seconds) - 1))], 3) if seconds else None,
    }


def run_model(cases, embedder, chat_model, *, use_llm: bool, label: str) -> dict:
    """Every case absorbed once with ``chat_model``; each question answered in both styles."""
    from core.engine import Engine
    from core.paths import Paths
    from evaluation.memory import (
        NOW_AFTER_LAST_SECONDS, CaseClock, ingest_case, key_file_only, rules_only_engine_class, run_jobs, score_case,
        summarise,
    )

    tallies = {style: answer_tally() for style in STYLES}
    results = []
    root = Path(tempfile.mkdtemp(prefix="engram-bench-answers-"))
    started = time.perf_counter()
    try:
        with key_file_only():
            for index, case in enumerate(cases.cases, 1):
                folder = root / f"case-{index:04d}"
                folder.mkdir(parents=True)
                clock = CaseClock(case.last_ts + NOW_AFTER_LAST_SECONDS)
                if use_llm:
                    engine = Engine(Paths.at(folder / "home"), embedder=embedder, chat_model=chat_model, clock=clock)
                else:
                    engine = rules_only_engine_class()(Paths.at(folder / "home"), embedder=embedder, clock=clock)
                    engine.settings.set("absorb.use_llm", False)
                    engine.settings.set("consolidation.use_model", False)
                try:
                    case_started = time.perf_counter()
                    timings: dict[str, float] = {}
                    ingest_case(engine, case, folder)
                    batches = run_jobs(engine, case.id, timings)
                    engine.settings.set("models.answers", "extractive")
                    result = {"id": case.id, **score_case(engine, case, timings)}
                    result["batches"] = [{k: b[k] for k in ("observations", "kinds", "llm_calls", "llm_state", "seconds")}
                                         for b in batches]
                    result["timings"] = timings
                    result["seconds"] = round(time.perf_counter() - case_started, 2)
                    results.append(result)
                    sources = case.source_texts()
                    for style in STYLES:
                        if style == "generated" and not use_llm:
                            continue
                        engine.settings.set("models.answers", style)
                        for question in case.questions:
                            asked = time.perf_counter()
                            answer = engine.ask(question["q"], record=False)
                            score_answer(tallies[style], question, answer, sources, time.perf_counter() - asked)
                finally:
                    engine.close()
                    shutil.rmtree(folder, ignore_errors=True)
                print(f"  [{label} {index}/{len(cases.cases)}] {case.id}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    totals = summarise(results, cases.cases)
    return {
        "model": label,
        "seconds": round(time.perf_counter() - started, 1),
        "point_recall": totals["point_recall"],
        "memory_eval": {k: totals[k] for k in ("point_recall", "qa_accuracy", "forbidden", "visible_leaks", "duplicates",
                                               "junk", "abstain_answered", "unsupported_numbers", "questions")},
        "absorb": totals["absorb"],
        "answers": {style: summary(tallies[style]) for style in STYLES if tallies[style]["questions"]},
    }


def show(result: dict, shipped: str | None) -> None:
    headline(f"Answers with {result['model']}")
    absorb = result["absorb"]
    print(f"point recall:              {result['point_recall']}")
    print(f"absorb:                    {absorb['seconds_per_batch_mean']} s a batch (max {absorb['seconds_per_batch_max']}) "
          f"over {absorb['batches']} batches, model calls a batch max {absorb['llm_calls_per_batch_max']}")
    print(f"{'style':<12}{'qa':>8}{'correct':>10}{'abstain_ans':>13}{'unsup_num':>11}{'replaced':>10}{'s/answer':>10}{'p95':>8}")
    for style, s in result["answers"].items():
        print(f"{style:<12}{s['qa_accuracy']!s:>8}{s['correct']:>6}/{s['questions']:<3}{s['abstain_answered']:>13}"
              f"{s['unsupported_numbers']:>11}{s['replaced_by_quotes']:>10}{s['seconds_per_answer_mean']!s:>10}"
              f"{s['seconds_per_answer_p95']!s:>8}")
    if len(result["answers"]) == 2:
        e, g = result["answers"]["extractive"], result["answers"]["generated"]
        better = "generated" if (g["correct"], -g["unsupported_numbers"]) > (e["correct"], -e["unsupported_numbers"]) else "extractive"
        print(f"measured better: {better}; the catalog ships: {shipped or 'generated (not rated)'}"
              + ("" if better == (shipped or "generated") else "  <- the catalog disagrees with this run"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "evaluation" / "data" / "memory-cases-small.json"))
    parser.add_argument("--models", default="", help="catalog names (default: every installed chat model)")
    parser.add_argument("--rules-only", action="store_true", help="only the run without a chat model")
    args = parser.parse_args()
    os.environ.setdefault("ENGRAM_SEED_MODELS", str(ROOT / ".models"))
    bench_home("answers")
    from core.events import EventBus
    from core.models.manager import ModelManager
    from core.paths import Paths
    from core.settings import Settings
    from evaluation.memory_cases import load_cases

    cases = load_cases(args.data)
    paths = Paths.from_env().ensure()
    events = EventBus()
    settings = Settings(paths, events)
    manager = ModelManager(paths, settings, events)
    results: dict[str, dict] = {}
    try:
        embedder = manager.embedder()
        results["rules_only"] = run_model(cases, embedder, None, use_llm=False, label="rules only")
        show(results["rules_only"], "extractive")
        if not args.rules_only:
            wanted = [n for n in args.models.split(",") if n]
            chat_entries = [e for e in manager.catalog.entries() if e.role == "chat" and manager.locate(e) is not None
                            and (not wanted or e.name in wanted)]
            for entry in chat_entries:
                settings.set("models.chat", entry.name)
                chat = manager.chat_model()
                results[entry.name] = run_model(cases, embedder, chat, use_llm=True, label=entry.name)
                show(results[entry.name], entry.extra.get("answers"))
                manager.unload("chat")
            default = settings.specs["models.chat"].default
            if default in results:
                seconds = results[default]["answers"]["extractive"]["seconds_per_answer_mean"]
                print(f"\nseconds per answer with the default model ({default}, as shipped): {seconds}")
    finally:
        manager.close()
    report("answers", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
