"""Package bench: the installed app's launch to window, and the sizes of the .deb and the bundle.

* Sizes (needs ``make package``): the .deb, the unpacked bundle, and what
  takes its space (the largest parts of /opt/engram/_internal).
* Launch (needs the package installed: ``apt-get install ./dist/engram_*.deb``):
  from spawning ``/opt/engram/engram app`` to its main window being mapped
  (found with xdotool, polled every 20 ms), median of 3 starts on a data
  directory made by a first start (reported on its own: it creates the key
  and the database), with the checkout's ``python -m core.cli app`` measured
  the same way in the same run, interleaved, as the baseline.  Target: <= 2 s,
  like the app's own launch target.

Each part is skipped, with the reason, when what it needs is not there.
Needs a display for the launch: an Xvfb is started when DISPLAY is unset.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, headline, report, verdict  # noqa: E402

INSTALLED = Path("/opt/engram/engram")
BUNDLE = ROOT / "build" / "package" / "dist" / "engram"
LAUNCH_TARGET_S = 2.0
RUNS = 3
MB = 1024 * 1024


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def sizes() -> dict | None:
    debs = sorted(ROOT.glob("dist/engram_*_amd64.deb"), key=lambda p: p.stat().st_mtime)
    if not debs or not BUNDLE.is_dir():
        print("sizes: skipped, the package is not built (run 'make package')")
        return None
    internal = BUNDLE / "_internal"
    parts = {}
    for child in internal.iterdir():
        size = tree_bytes(child) if child.is_dir() else (child.stat().st_size if not child.is_symlink() else 0)
        parts[child.name] = size
    largest = sorted(parts.items(), key=lambda kv: -kv[1])[:12]
    result = {
        "deb": debs[-1].name,
        "deb_mb": round(debs[-1].stat().st_size / MB, 1),
        "bundle_mb": round(tree_bytes(BUNDLE) / MB, 1),
        "largest_parts_mb": {name: round(size / MB, 1) for name, size in largest},
    }
    headline("Package sizes")
    print(f"{result['deb']}: {result['deb_mb']} MB; bundle (/opt/engram) {result['bundle_mb']} MB")
    for name, size in result["largest_parts_mb"].items():
        print(f"  {name:<40} {size:7.1f} MB")
    return result


def start_display() -> tuple[str | None, subprocess.Popen | None, str | None]:
    if os.environ.get("DISPLAY"):
        return os.environ["DISPLAY"], None, None
    if shutil.which("Xvfb") is None:
        return None, None, "no DISPLAY and no Xvfb (apt install xvfb)"
    for number in range(150, 250):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    process = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            return f":{number}", process, None
        time.sleep(0.1)
    process.kill()
    return None, None, f"Xvfb :{number} did not start"


def launch_once(command: list[str], env: dict, display: str, home: Path) -> float:
    """Seconds from spawning ``COMMAND app`` on ``home`` to its main window being mapped; then it quits."""
    run_env = dict(env, ENGRAM_HOME=str(home), ENGRAM_KEYRING="file", DISPLAY=display, QT_QPA_PLATFORM="xcb")
    started = time.perf_counter()
    process = subprocess.Popen([*command, "app"], env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} app exited with {process.returncode} before its window showed")
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(process.pid), "--name", "^Engram$"],
                                   capture_output=True, text=True, env={"DISPLAY": display})
            if found.stdout.strip():
                seconds = time.perf_counter() - started
                break
            if time.perf_counter() - started > 60:
                raise RuntimeError("no window within 60 s")
            time.sleep(0.02)
        subprocess.run([*command, "app", "--quit"], env=run_env, timeout=60, stdout=subprocess.DEVNULL)
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return seconds


def new_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="engram-bench-launch-"))
    (home / "config.json").write_text(json.dumps({"app.first_run_done": True}))
    return home


def launch() -> dict | None:
    if not INSTALLED.exists():
        print("launch: skipped, the package is not installed (apt-get install ./dist/engram_*.deb)")
        return None
    if shutil.which("xdotool") is None:
        print("launch: skipped, xdotool is not installed (apt install xdotool)")
        return None
    display, xvfb, problem = start_display()
    if display is None:
        print(f"launch: skipped, {problem}")
        return None
    system_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    checkout_env = dict(os.environ, PYTHONPATH=str(ROOT))
    variants = {"installed": [str(INSTALLED)], "checkout": [sys.executable, "-m", "core.cli"]}
    envs = {"installed": system_env, "checkout": checkout_env}
    homes = {name: new_home() for name in variants}
    first: dict[str, float] = {}
    runs: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for name, command in variants.items():  # the first start creates the key and the database
            first[name] = launch_once(command, envs[name], display, homes[name])
        for _ in range(RUNS):  # then interleaved, so both see the same machine load
            for name, command in variants.items():
                runs[name].append(launch_once(command, envs[name], display, homes[name]))
    finally:
        for home in homes.values():
            shutil.rmtree(home, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    installed, checkout = runs["installed"], runs["checkout"]
    result = {
        "first_start_s": {name: round(value, 3) for name, value in first.items()},
        "installed_s": [round(s, 3) for s in installed],
        "checkout_s": [round(s, 3) for s in checkout],
        "installed_median_s": round(statistics.median(installed), 3),
        "checkout_median_s": round(statistics.median(checkout), 3),
    }
    result["ratio_installed_to_checkout"] = round(result["installed_median_s"] / result["checkout_median_s"], 2)
    headline("Installed app: launch to main window")
    print(f"first start (creates the key and the database): installed {first['installed']:.2f} s, "
          f"checkout {first['checkout']:.2f} s")
    print(f"installed /opt/engram: median {result['installed_median_s']:.2f} s "
          f"({verdict(result['installed_median_s'] <= LAUNCH_TARGET_S)} <= {LAUNCH_TARGET_S:.0f} s)")
    print(f"checkout (baseline, same run): median {result['checkout_median_s']:.2f} s; "
          f"installed / checkout = {result['ratio_installed_to_checkout']:.2f}")
    return result


def main() -> int:
    result = {"sizes": sizes(), "launch": launch()}
    report("package", result)
    launch_result = result["launch"]
    return 0 if launch_result is None or launch_result["installed_median_s"] <= LAUNCH_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
