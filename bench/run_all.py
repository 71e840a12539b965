"""``make bench``: every benchmark in turn, each in its own process, then a summary.

Benchmarks report ratios against baselines measured in the same run (the
machines here are shared and noisy).  A benchmark that fails does not stop the
others; the run exits non-zero if any failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BENCHES = [
    ("search", ["bench_search.py"]),
    ("models", ["bench_models.py"]),
    ("recall", ["bench_recall.py"]),
    ("absorb", ["bench_absorb.py"]),
    ("memory", ["bench_memory_eval.py"]),
    ("answers", ["bench_answers.py"]),
    ("consolidation", ["bench_consolidate.py"]),
    ("capture", ["bench_capture.py"]),
    ("desktop", ["bench_desktop.py"]),
    ("idle", ["bench_idle.py"]),
    ("backup", ["bench_backup.py"]),
    ("forget", ["bench_forget.py"]),
    ("recheck", ["bench_recheck.py"]),
    ("package", ["bench_package.py"]),
    ("real-use", ["bench_real_use.py"]),
]


def main() -> int:
    only = set(sys.argv[1:])
    failed = []
    timings = []
    for name, command in BENCHES:
        if only and name not in only:
            continue
        script = ROOT / "bench" / command[0]
        if not script.exists():
            print(f"\n== {name}: {command[0]} is not present; skipped")
            continue
        print(f"\n== {name} ({command[0]})", flush=True)
        started = time.time()
        result = subprocess.run([sys.executable, str(script), *command[1:]], cwd=ROOT / "bench")
        timings.append((name, time.time() - started, result.returncode))
        if result.returncode != 0:
            failed.append(name)
    print("\n== summary")
    for name, seconds, code in timings:
        print(f"{name:<14} {'ok' if code == 0 else 'FAILED (exit %d)' % code:<16} {seconds:7.1f} s")
    print("Reports (JSON) are in bench/out/.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
