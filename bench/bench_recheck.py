"""What the secrets re-check costs per 10k observations, against the detector alone on the same texts.

A store of ``--observations`` screen observations written in clear (1 in 100
holds a card number, as an older Engram would have stored it) is copied once
per round; each round times the whole re-check on its copy (chunks, vault,
index rewrite, WAL) and, alternated with it, ``mask_text`` over the same
texts with no store at all.  The ratio is the store's share of the work.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time

from common import bench_home, headline, report  # noqa: E402
from synthetic import BagEmbedder, fill_observations, vocabulary  # noqa: E402

from core.absorb.recheck import keeps_values  # noqa: E402
from core.engine import Engine  # noqa: E402
from core.paths import Paths  # noqa: E402
from core.secrets import mask_text  # noqa: E402
from core.store import bulk  # noqa: E402
from core.store.remask import CHECKED_KEY  # noqa: E402

CARD = "4539578123649920"


def build(count: int, words, embedder) -> tuple[str, list[str]]:
    home = bench_home("recheck-source")
    shutil.rmtree(home)
    with Engine(Paths.from_env(), embedder=embedder) as engine:
        fill_observations(engine, count - count // 100, words)
        cards = [{"kind": "screen", "ts": 1.8e9 + i, "app": "Firefox", "window_title": "Checkout",
                  "text": f"Pay with card {CARD} before 09/29"} for i in range(count // 100)]
        bulk.load_observations(engine.store, cards, absorbed_at=1.8e9, embedded_with="skip")
        engine.store.meta.set(CHECKED_KEY, "0")  # written as an older Engram would have: never checked
        texts = [o.text for o in engine.observations.list_between(0, 4e9, limit=count + 1)]
    return str(home), texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    words = vocabulary()
    embedder = BagEmbedder(words)
    source, texts = build(args.observations, words, embedder)
    recheck_s, detector_s, masked = [], [], 0
    for round_number in range(args.rounds):
        started = time.perf_counter()
        for text in texts:
            mask_text(text)
        detector_s.append(time.perf_counter() - started)
        home = bench_home(f"recheck-round{round_number}")
        shutil.rmtree(home)
        shutil.copytree(source, home)
        with Engine(Paths.at(home), embedder=embedder) as engine:
            started = time.perf_counter()
            result = engine.store.secrets_recheck.run(keeps_values(engine.settings))
            recheck_s.append(time.perf_counter() - started)
            masked = result.rows_masked
        shutil.rmtree(home)
    per_10k = statistics.median(recheck_s) * 10_000 / args.observations
    alone = statistics.median(detector_s) * 10_000 / args.observations
    out = {"observations": args.observations, "rows_masked": masked, "recheck_seconds_per_10k": round(per_10k, 2),
           "detector_alone_seconds_per_10k": round(alone, 2), "ratio": round(per_10k / alone, 2)}
    report("recheck", out)
    headline(f"Secrets re-check of {args.observations:,} observations ({masked} holding a card), median of {args.rounds}")
    print(f"re-check {per_10k:.2f} s per 10k observations; the detector alone on the same texts {alone:.2f} s "
          f"(x{out['ratio']})")


if __name__ == "__main__":
    main()
