"""Resident memory of the app left idle with capture on, beside the loaded model.

Starts ``engram app`` on a private Xvfb display with a fresh ENGRAM_HOME,
capture enabled and first run done (models load when its background jobs
need them), waits, then samples the process's RSS for a while.  The model files are memory-mapped by llama.cpp, so their
resident pages are subtracted to give the app's own share: the budget is
< 300 MB for the app beside the model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def smaps_split(pid: int, model_dir: Path) -> tuple[float, float]:
    """(total RSS MB, RSS MB of mapped model files) from /proc/PID/smaps."""
    total = models = 0
    current_is_model = False
    with open(f"/proc/{pid}/smaps") as handle:
        for line in handle:
            parts = line.split()
            if parts and "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
                path = parts[5] if len(parts) > 5 else ""
                current_is_model = path.endswith(".gguf")
            elif parts and parts[0] == "Rss:":
                kb = int(parts[1])
                total += kb
                if current_is_model:
                    models += kb
    return total / 1024, models / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=90, help="idle time sampled (the embedding job runs every 60 s)")
    args = parser.parse_args()
    try:
        from xvfb import XvfbServer  # tests/xvfb.py
    except ImportError:
        print("bench_idle: tests/xvfb.py is missing; skipped")
        return 0
    if not shutil.which("Xvfb"):
        print("bench_idle: Xvfb not installed; skipped")
        return 0
    home = Path(tempfile.mkdtemp(prefix="engram-idle-"))
    (home / "config.json").write_text(json.dumps({"capture.enabled": True, "app.first_run_done": True}))
    os.chmod(home, 0o700)
    display = XvfbServer(width=1920, height=1080)
    try:
        env = dict(os.environ, ENGRAM_HOME=str(home), DISPLAY=display.name, ENGRAM_KEYRING="file", QT_QPA_PLATFORM="xcb")
        env.setdefault("ENGRAM_SEED_MODELS", str(ROOT / ".models"))
        proc = subprocess.Popen([sys.executable, "-m", "engram", "app"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            time.sleep(15)  # start-up, first capture frames, models loaded
            samples = []
            end = time.time() + args.seconds
            while time.time() < end and proc.poll() is None:
                samples.append(smaps_split(proc.pid, ROOT / ".models"))
                time.sleep(2)
            if proc.poll() is not None:
                print("bench_idle: the app exited early:", proc.stderr.read().decode()[-2000:])
                return 1
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    finally:
        display.stop()
    shutil.rmtree(home, ignore_errors=True)
    totals = [s[0] for s in samples]
    model = [s[1] for s in samples]
    app_only = [t - m for t, m in samples]
    print()
    print("App idle with capture on (Xvfb 1920x1080)")
    print("-----------------------------------------")
    print(f"RSS total: max {max(totals):.0f} MB; model file pages resident: {max(model):.0f} MB")
    ok = max(app_only) < 300
    print(f"RSS beside the model: max {max(app_only):.0f} MB, last {app_only[-1]:.0f} MB (budget < 300 MB): "
          f"{'meets target' if ok else 'MISSES target'}")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "idle.json").write_text(json.dumps({"rss_total_mb": max(totals), "model_mb": max(model), "app_mb": max(app_only)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
