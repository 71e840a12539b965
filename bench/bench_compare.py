"""A benchmark run against an earlier commit in the same session, alternating, for before/after ratios.

    python bench/bench_compare.py BASE_REV search desktop [--rounds 2]

Each named bench (``search`` runs bench_search.py at 100k memories + 200k
observations; ``desktop`` runs bench_desktop.py) runs ``--rounds`` times in a
temporary git worktree of ``BASE_REV`` and in this checkout, alternately, so
a noisy shared machine slows both alike.  The medians of the headline numbers
and their ratios (this checkout / base) are printed and written to
bench/out/compare.json.  The base's own code runs there, with its own bench
scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from common import OUT, headline  # noqa: E402

# What each bench is run with and which numbers of its JSON report are compared.
BENCHES = {
    "search": (["bench_search.py", "--sizes", "100000", "--observations", "200000"], "search", [
        ("hybrid p95 ms at 100k", ("100000", "hybrid", "p95_ms")),
        ("quick recall p95 ms", ("100000", "quick_recall", "p95_ms")),
        ("ask retrieval p95 ms", ("100000", "ask_retrieval", "p95_ms")),
    ]),
    "desktop": (["bench_desktop.py"], "desktop", [
        ("launch to window s", ("launch_median_s",)),
        ("keystroke to paint p95 ms", ("keystroke_specific", "p95_ms")),
        ("keystroke, frequent words, p95 ms", ("keystroke_frequent", "p95_ms")),
    ]),
}


def dig(data, path):
    for key in path:
        data = data[key]
    return float(data)


def run_bench(checkout: Path, name: str) -> dict:
    command, report_name, _ = BENCHES[name]
    env = dict(os.environ, PYTHONPATH=str(checkout))
    subprocess.run([sys.executable, *command], cwd=checkout / "bench", env=env, check=True)
    return json.loads((checkout / "bench" / "out" / f"{report_name}.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the commit to compare against (e.g. the last release)")
    parser.add_argument("benches", nargs="+", choices=sorted(BENCHES))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base_dir = Path(tempfile.mkdtemp(prefix="engram-base-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(base_dir), args.base], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    results: dict = {}
    try:
        for name in args.benches:
            samples: dict[str, dict[str, list[float]]] = {"base": {}, "head": {}}
            for _ in range(args.rounds):
                for side, checkout in (("base", base_dir), ("head", ROOT)):
                    data = run_bench(checkout, name)
                    for label, path in BENCHES[name][2]:
                        try:
                            samples[side].setdefault(label, []).append(dig(data, path))
                        except (KeyError, TypeError, ValueError):
                            continue
            headline(f"{name}: {args.base} against this checkout, {args.rounds} alternating rounds (medians)")
            rows = {}
            for label, _path in BENCHES[name][2]:
                base, head = samples["base"].get(label), samples["head"].get(label)
                if not base or not head:
                    continue
                b, h = statistics.median(base), statistics.median(head)
                rows[label] = {"base": b, "head": h, "ratio": round(h / b, 3) if b else None}
                print(f"{label:<28} base {b:9.2f}   head {h:9.2f}   head/base {h / b if b else float('nan'):6.3f}")
            results[name] = rows
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_dir)], cwd=ROOT, check=False)
        shutil.rmtree(base_dir, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "compare.json").write_text(json.dumps({"base": args.base, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
