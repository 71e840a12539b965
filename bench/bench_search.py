"""Search latency at 10k and 100k memories: FTS-only, vector-only and hybrid, 384-d vectors.

Also quick recall (prefix search across memories and observations) at 100k
memories with 200k observations.  Target: hybrid p95 <= 50 ms at 100k; quick
recall p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import shutil

import numpy as np

from common import OUT, bench_home, headline, report, time_calls, verdict  # noqa: E402
from synthetic import BagEmbedder, fill_memories, fill_observations, sentences, vocabulary  # noqa: E402

from core.engine import Engine  # noqa: E402
from core.paths import Paths  # noqa: E402


def queries(words, n=120, seed=99):
    rng = np.random.default_rng(seed)
    out = []
    for text in sentences(n, words, seed=seed, length=(2, 6)):
        out.append(text)
    # Mix in some rarer words, as real queries name specific things.
    for i in range(n // 3):
        out[i] = " ".join(rng.choice(words[500:5000], size=3))
    return out


def run(sizes=(10_000, 100_000), observations=200_000) -> dict:
    words = vocabulary()
    embedder = BagEmbedder(words)
    qs = queries(words)
    results = {}
    for size in sizes:
        home = bench_home(f"search-{size}")
        shutil.rmtree(home)
        engine = Engine(Paths.from_env(), embedder=embedder)
        seconds = fill_memories(engine, size, embedder, words)
        modes = {
            "fts": lambda q: engine.memories.search(q, limit=10, semantic=False),
            "vector": lambda q: engine.memories.search(q, limit=10, lexical=False),
            "hybrid": lambda q: engine.memories.search(q, limit=10),
        }
        row = {"fill_seconds": round(seconds, 1)}
        for mode, fn in modes.items():
            row[mode] = time_calls(fn, qs)
        if size == max(sizes) and observations:
            row["observations_fill_seconds"] = round(fill_observations(engine, observations, words), 1)
            prefixes = [q[: max(2, len(q) // 2)] for q in qs]
            row["quick_recall"] = time_calls(lambda q: engine.quick_recall(q, limit=20), prefixes)
            # What `engram ask` does before the model starts: retrieval and the numbered context.
            row["ask_retrieval"] = time_calls(lambda q: engine.assistant.gather(q), qs[:60])
        engine.close()
        results[size] = row
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--observations", type=int, default=200_000)
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    results = run(sizes, args.observations)
    headline("Search latency (384-d vectors, top 10; query embedding included)")
    print(f"{'memories':>10} {'mode':>12} {'p50 ms':>8} {'p95 ms':>8}")
    for size, row in results.items():
        for mode in ("fts", "vector", "hybrid", "quick_recall", "ask_retrieval"):
            if mode in row:
                print(f"{size:>10,} {mode:>12} {row[mode]['p50_ms']:8.1f} {row[mode]['p95_ms']:8.1f}")
    largest = results[max(results)]
    print(f"hybrid p95 at {max(results):,}: {largest['hybrid']['p95_ms']:.1f} ms (target <= 50 ms): {verdict(largest['hybrid']['p95_ms'] <= 50)}")
    if "quick_recall" in largest:
        print(f"quick recall p95 with {max(results):,} memories + observations: {largest['quick_recall']['p95_ms']:.1f} ms (target <= 50 ms): {verdict(largest['quick_recall']['p95_ms'] <= 50)}")
    if "ask_retrieval" in largest:
        print(f"engram ask retrieval before the model starts, p95: {largest['ask_retrieval']['p95_ms']:.1f} ms (target <= 150 ms): {verdict(largest['ask_retrieval']['p95_ms'] <= 150)}")
    report("search", {str(k): v for k, v in results.items()})
    shutil.rmtree(OUT / "homes", ignore_errors=True)


if __name__ == "__main__":
    main()
