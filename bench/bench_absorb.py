"""Benchmark of absorb on LoCoMo with the seed models: model calls and seconds per batch,
memories by type, rejections, memory-level evidence recall@10, and a re-run of the
grounding check over every stored memory.

Two bounded runs on ../shared/data/locomo-dev.json (the subset is printed):

1. rules only (no chat model) over the first conversation, whole;
2. with the seed chat model (SmolLM2-135M) over the first ``--max-batches``
   batches of the first conversation -- the 135M model on 2 cores takes tens of
   seconds per batch, so the whole file would take hours.

Targets (issue 5): at most 2 model calls per batch; no stored memory fails the
grounding check.

Usage::

    python bench/bench_absorb.py [--data FILE] [--conversations 1] [--max-batches 8] [--seed-dir .models]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import headline, report, verdict  # noqa: E402

MAX_CALLS_PER_BATCH = 2


def show(title: str, result: dict) -> bool:
    headline(title)
    subset = ", ".join(f"{c['sample_id']} ({c['absorbed']}/{c['messages']} messages absorbed)" for c in result["conversations"])
    print(f"subset:                    {subset}; {result['batches']} batches")
    print(f"chat model:                {result['chat_model'] or 'none (rules only)'}")
    print(f"memories by type:          {result['memories_by_type']}")
    print(f"rejected candidates:       {result['rejected'] or 'none'}")
    print(f"model states per batch:    {result['llm_states']}")
    calls_ok = result["llm_calls_per_batch_max"] <= MAX_CALLS_PER_BATCH
    print(f"model calls per batch:     max {result['llm_calls_per_batch_max']}, mean {result['llm_calls_per_batch_mean']}"
          f"  ({verdict(calls_ok)}: at most {MAX_CALLS_PER_BATCH})")
    print(f"seconds per batch:         mean {result['seconds_per_batch_mean']}, max {result['seconds_per_batch_max']}")
    print(f"memory recall@10:          {result['memory_recall@10_absorbed']} on {result['questions_absorbed']} questions "
          f"whose evidence was absorbed; {result['memory_recall@10_all_questions']} on all {result['questions_all']}")
    print(f"  by category:             {result['memory_recall@10_by_category']}")
    print(f"  dia_ids cited by top 10: {result['dia_ids_cited_by_top10_mean']} on average (coarse memories cite many)")
    print(f"observation recall@10:     {result['observation_recall@10_absorbed']} (plain observation search, same questions)")
    clean = result["grounding_failures_in_store"] == 0
    print(f"stored memories failing the grounding re-check: {result['grounding_failures_in_store']}  ({verdict(clean)}: 0)")
    print(f"total seconds:             {result['seconds']}")
    return calls_ok and clean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "locomo-dev.json"))
    parser.add_argument("--conversations", type=int, default=1)
    parser.add_argument("--max-batches", type=int, default=8, help="batches absorbed with the chat model")
    parser.add_argument("--seed-dir", default=os.environ.get("ENGRAM_SEED_MODELS", str(ROOT / ".models")))
    args = parser.parse_args()
    if not Path(args.data).is_file():
        print(f"absorb bench skipped: {args.data} is missing")
        return 0
    os.environ["ENGRAM_SEED_MODELS"] = args.seed_dir
    os.environ.setdefault("ENGRAM_KEYRING", "file")
    from evaluation.absorb import evaluate

    results = {}
    ok = True
    results["rules_only"] = evaluate(args.data, limit_conversations=args.conversations, use_llm=False)
    ok &= show(f"Absorb, rules only, first {args.conversations} conversation(s)", results["rules_only"])
    if not (Path(args.seed_dir) / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file():
        print(f"\nabsorb with the seed model skipped: no seed chat model in {args.seed_dir} (run 'make setup')")
    else:
        results["seed_model"] = evaluate(args.data, limit_conversations=1, max_batches=args.max_batches, use_llm=True,
                                         progress=lambda line: print("  " + line, flush=True))
        ok &= show(f"Absorb with the seed chat model, first {args.max_batches} batches of conversation 1",
                   results["seed_model"])
    report("absorb", results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
