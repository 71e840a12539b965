"""Benchmark of memory quality and absorb cost: ``engram eval memory`` on the project's case set.

Two runs over ``evaluation/data/memory-cases.json`` (each case in its own
temporary store, see ``evaluation.memory``):

1. rules only (no chat model for absorbing, consolidating or answering);
2. with the seed chat model (SmolLM2-135M), when ``make setup`` has prepared it.

For each: the scores of the format (point recall and by type, forbidden,
visible leaks, duplicates, junk, QA accuracy, answered unanswerables,
unsupported numbers), seconds per case, seconds per absorbed batch, seconds by
step, and model calls per batch.

Targets, each printed with a verdict, and the run fails if one is missed: at
most 2 model calls per batch, and issue 13's quality targets (point recall
and QA accuracy, and every count of what must never happen at 0).

Usage::

    python bench/bench_memory_eval.py [--data FILE] [--seed-dir .models] [--rules-only]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_home, headline, percentile, report, verdict  # noqa: E402

MAX_CALLS_PER_BATCH = 2
ZERO_KEYS = ("forbidden", "visible_leaks", "duplicates", "junk", "abstain_answered", "unsupported_numbers")
TARGETS = {"rules_only": {"point_recall": 0.75}, "seed_model": {"point_recall": 0.9, "qa_accuracy": 0.85}}


def show(title: str, name: str, result: dict) -> bool:
    headline(title)
    seconds = [case["seconds"] for case in result["cases"]]
    absorb = result["absorb"]
    points, questions = result["points"], result["questions"]
    print(f"cases:                     {result['cases_run']}, chat model {result['chat_model'] or 'none'}")
    quality_ok = True
    for key, goal in TARGETS[name].items():
        value = result[key]
        met = value is not None and value >= goal
        quality_ok &= met
        print(f"{key + ':':<27}{value}  (issue 13 target >= {goal}: {verdict(met)})")
    print(f"points met:                {points['met']}/{points['total']}; by type: "
          + ", ".join(f"{t} {v['met']}/{v['total']}" for t, v in result["by_type"].items()))
    print(f"qa_accuracy:               {result['qa_accuracy']} ({questions['correct']}/{questions['total']})")
    for key in ZERO_KEYS:
        quality_ok &= result[key] == 0
        print(f"{key + ':':<27}{result[key]}  (issue 13 target 0: {verdict(result[key] == 0)})")
    print(f"memories:                  {result['memories']['total']} active {result['memories']['by_type']}")
    print(f"seconds per case:          mean {result['seconds_per_case_mean']}, p95 {percentile(seconds, 95):.2f}, "
          f"total {result['seconds']}")
    print(f"seconds per batch:         mean {absorb['seconds_per_batch_mean']}, max {absorb['seconds_per_batch_max']} "
          f"over {absorb['batches']} batches")
    print(f"seconds by step:           {result['seconds_by_step']}")
    calls_ok = absorb["llm_calls_per_batch_max"] <= MAX_CALLS_PER_BATCH
    print(f"model calls per batch:     max {absorb['llm_calls_per_batch_max']}, mean {absorb['llm_calls_per_batch_mean']}"
          f"  ({verdict(calls_ok)}: at most {MAX_CALLS_PER_BATCH})")
    return calls_ok and quality_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "evaluation" / "data" / "memory-cases.json"))
    parser.add_argument("--seed-dir", default=os.environ.get("ENGRAM_SEED_MODELS", str(ROOT / ".models")))
    parser.add_argument("--rules-only", action="store_true", help="skip the run with the seed chat model")
    args = parser.parse_args()
    os.environ["ENGRAM_SEED_MODELS"] = args.seed_dir
    bench_home("memory-eval")
    from core.events import EventBus
    from core.models.manager import ModelManager
    from core.paths import Paths
    from core.settings import Settings
    from evaluation.memory import evaluate_memory
    from evaluation.memory_cases import load_cases

    cases = load_cases(args.data)
    paths = Paths.from_env().ensure()
    events = EventBus()
    manager = ModelManager(paths, Settings(paths, events), events)
    results = {}
    ok = True
    try:
        embedder = manager.embedder()
        results["rules_only"] = evaluate_memory(cases, use_llm=False, embedder=embedder)
        ok &= show(f"Memory eval, rules only, {len(cases.cases)} cases", "rules_only", results["rules_only"])
        if args.rules_only:
            print("\nmemory eval with the seed model skipped (--rules-only)")
        elif not (Path(args.seed_dir) / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file():
            print(f"\nmemory eval with the seed model skipped: no seed chat model in {args.seed_dir} (run 'make setup')")
        else:
            chat = manager.chat_model()
            results["seed_model"] = evaluate_memory(cases, use_llm=True, chat_model=chat, embedder=embedder,
                                                    progress=lambda line: print("  " + line, flush=True))
            ok &= show(f"Memory eval with the seed chat model, {len(cases.cases)} cases", "seed_model", results["seed_model"])
    finally:
        manager.close()
    report("memory_eval", results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
