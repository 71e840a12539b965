"""Helpers shared by the benchmarks: timing, percentiles, resident memory, report lines."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_calls(fn, inputs, *, warmup: int = 3) -> dict:
    for item in inputs[:warmup]:
        fn(item)
    samples = []
    for item in inputs:
        start = time.perf_counter()
        fn(item)
        samples.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95), "mean_ms": statistics.fmean(samples), "n": len(samples)}


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def report(name: str, data: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))


def headline(text: str) -> None:
    print()
    print(text)
    print("-" * len(text))


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def bench_home(name: str) -> Path:
    home = OUT / "homes" / name
    home.mkdir(parents=True, exist_ok=True)
    os.environ["ENGRAM_HOME"] = str(home)
    os.environ.setdefault("ENGRAM_KEYRING", "file")
    return home
