"""Benchmark of Engram's retrieval on LoCoMo: evidence recall@10 against BM25 and dense, and latency.

Runs the LoCoMo harness (``evaluation.locomo``) on
../shared/data/locomo-dev.json with the real all-MiniLM-L6-v2 embedder (the
GGUF prepared by ``make setup``) and prints engram vs bm25 vs dense recall@10,
overall, per category and per half of the file (conversations 0-2, on which the
weights were tuned, and 3-4, which were only checked), plus retrieval latency.

Turn embeddings are cached under bench/out/ keyed by model and text, so only
the first run pays for embedding every turn (minutes on a 2-core CPU).

Usage::

    python bench/bench_recall.py [--data FILE] [--k 10] [--seed-dir .models] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RECALL = 0.75
TARGET_MARGIN = 0.10
HALVES = {"tuned (0-2)": (0, 1, 2), "held out (3-4)": (3, 4)}


def find_embedder_gguf(seed_dir: Path) -> Path | None:
    for pattern in ("all-MiniLM-L6-v2*.gguf", "all-minilm-l6-v2*.gguf", "*MiniLM*.gguf", "*minilm*.gguf"):
        found = sorted(seed_dir.glob(pattern))
        if found:
            return found[0]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "locomo-dev.json"))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed-dir", default=os.environ.get("ENGRAM_SEED_MODELS") or str(ROOT / ".models"))
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)

    data = Path(args.data)
    if not data.is_file():
        print(f"bench_recall: skipped, no LoCoMo data at {data}")
        return 0
    gguf = find_embedder_gguf(Path(args.seed_dir))
    if gguf is None:
        print(f"bench_recall: skipped, no MiniLM GGUF in {args.seed_dir} (run 'make setup')")
        return 0

    os.environ.setdefault("ENGRAM_KEYRING", "file")
    from core.models.llama import LlamaEmbedder
    from evaluation import locomo as eval_locomo
    from evaluation.embed_cache import CachingEmbedder

    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    inner = LlamaEmbedder(gguf)
    embedder = CachingEmbedder(inner, out_dir / f"recall-embeddings-{inner.name}.npz")
    conversations = eval_locomo.load_locomo(data)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="engram-bench-recall-") as work:
        os.environ["ENGRAM_HOME"] = str(Path(work) / "home")
        report = eval_locomo.evaluate_locomo(
            conversations, embedder, k=args.k, workdir=work, progress=lambda line: print("  " + line, flush=True)
        )
    embedder.save()
    elapsed = time.perf_counter() - started

    # Query-embedding cost, uncached, on a sample of questions (retrieval latency above used cached vectors).
    sample = [q.text for c in conversations for q in c.questions[:8]]
    embed_ms = []
    for text in sample:
        t0 = time.perf_counter()
        inner.embed([text])
        embed_ms.append((time.perf_counter() - t0) * 1000)
    embed_ms.sort()
    report["query_embedding_ms"] = {"p50": round(embed_ms[len(embed_ms) // 2], 2), "p95": round(embed_ms[int(0.95 * (len(embed_ms) - 1))], 2)}

    ids = [c.sample_id for c in conversations]
    n_by_conv = {}
    for conv in conversations:
        n_by_conv[conv.sample_id] = sum(1 for q in conv.questions if q.category in eval_locomo.CATEGORIES and q.evidence)
    halves = {}
    for half, indexes in HALVES.items():
        chosen = [ids[i] for i in indexes if i < len(ids)]
        total = sum(n_by_conv[c] for c in chosen)
        halves[half] = {
            name: round(sum(report[name]["by_conversation"][c] * n_by_conv[c] for c in chosen) / total, 4) if total else None
            for name in ("engram", "bm25", "dense")
        }
    report["halves"] = halves

    print(eval_locomo.format_report(report))
    for half, values in halves.items():
        print(f"{half:<16} engram {values['engram']:.3f}  bm25 {values['bm25']:.3f}  dense {values['dense']:.3f}")
    print(f"query embedding (uncached): p50 {report['query_embedding_ms']['p50']} ms, p95 {report['query_embedding_ms']['p95']} ms")
    margin = report["engram"]["recall"] - report["bm25"]["recall"]
    ok = report["engram"]["recall"] >= TARGET_RECALL and margin >= TARGET_MARGIN
    print(
        f"target recall@{args.k} >= {TARGET_RECALL} and >= bm25 + {TARGET_MARGIN}: "
        f"{report['engram']['recall']:.3f} (bm25 {report['bm25']['recall']:.3f}, margin {margin:+.3f}) -> "
        f"{'meets target' if ok else 'MISSES target'}  [{elapsed:.0f} s]"
    )
    report["meets_target"] = ok
    (out_dir / "recall.json").write_text(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
