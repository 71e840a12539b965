"""Resident memory of the app in real use: after a search, a quick recall, a chat answer and an absorb, then idle.

``bench_idle`` measures the app as it starts; a user's app has searched,
recalled, answered and absorbed.  This bench starts the real app on a private
Xvfb display (capture on, the seed models, a database with a week of screen
moments and some memories), drives it as a user would, then leaves it idle and
samples its RSS.  It runs the same scenario twice in the same run, so the
numbers compare on the same machine at the same time:

* ``kept``: nothing is released while idle (``app.idle_release_seconds`` 0);
* ``released``: the app releases what it does not need after a short idle
  period (the chat model and its context, decoded thumbnails, SQLite's page
  cache, freed heap).

and a third time under ``tracemalloc`` to list what holds the Python heap.
It reports RSS with and without the chat model loaded against the budget
(300 MB beside the model: RSS less the model file's resident pages), what
takes the memory (Qt and the pages, the models, the numpy vector index,
SQLite, the Python heap), and the quick-recall latency after the release
against the warm one (the release must not cost a keystroke its budget).
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

BUDGET_MB = 300
EXTRA_OBSERVATIONS = 1500  # a few busy days on top of the sample week
FRESH_OBSERVATIONS = 40  # new since the last absorb: what the scenario's absorb turns into memories
IDLE_SECONDS = 60
RELEASE_AFTER_SECONDS = 20  # the bench's idle period before the release (the app's default is longer)


# -- measuring inside the app ------------------------------------------------------------


def smaps() -> dict[str, float]:
    """This process's resident memory in MB: total, model files, Qt/PySide libraries, anonymous."""
    out = {"rss": 0, "gguf": 0, "qt_libs": 0, "anon": 0}
    kind = "anon"
    with open("/proc/self/smaps") as handle:
        for line in handle:
            parts = line.split()
            if not parts:
                continue
            if "-" in parts[0] and not parts[0].endswith(":"):
                path = parts[5] if len(parts) > 5 else ""
                if path.endswith(".gguf"):
                    kind = "gguf"
                elif "Qt6" in path or "PySide6" in path or "shiboken" in path:
                    kind = "qt_libs"
                elif not path or path.startswith("["):
                    kind = "anon"
                else:
                    kind = "other"
            elif parts[0] == "Rss:":
                kb = int(parts[1])
                out["rss"] += kb
                if kind in out:
                    out[kind] += kb
    return {k: round(v / 1024, 1) for k, v in out.items()}


def sqlite_heap_mb(engine=None) -> float | None:
    """SQLite's own heap (page cache, statements) in this process, when an engine is open here."""
    if engine is None:
        return None
    used = engine.store.sqlite_memory_used()
    return None if used is None else round(used / 1024**2, 1)


def vector_index_mb(engine) -> float:
    """The numpy arrays of the in-RAM vector indexes (sign codes, ids, times, categories)."""
    import numpy as np

    from core.store import vectorindex

    total = 0
    for index in vectorindex.loaded_ram_indexes():
        total += sum(v.nbytes for v in vars(index).values() if isinstance(v, np.ndarray))
    return round(total / 1024**2, 2)


def child(mode: str, out_path: str) -> int:
    tracing = mode == "trace"
    if tracing:
        import tracemalloc

        tracemalloc.start(12)
    stages: list[dict] = []
    opened: list = []  # the engine, once there is one: SQLite's heap is asked through its store

    def stage(name: str, **extra) -> dict:
        import gc

        gc.collect()
        row = {"stage": name, "t": round(time.monotonic() - started, 1), **smaps(), "sqlite": sqlite_heap_mb(opened[0] if opened else None), **extra}
        stages.append(row)
        print(f"  [{mode}] {name:<34} rss {row['rss']:6.0f} MB  model files {row['gguf']:5.0f} MB", flush=True)
        return row

    started = time.monotonic()
    stage("python")
    from PySide6.QtWidgets import QApplication

    from core.engine import Engine
    from desktop.app import EngramApp, make_qt_app

    stage("imports")
    qt = make_qt_app()
    engine = Engine()
    opened.append(engine)
    stage("engine open")

    def pump(seconds: float = 0.0, until=None, timeout: float = 120.0) -> bool:
        end = time.monotonic() + (timeout if until is not None else seconds)
        while time.monotonic() < end:
            QApplication.processEvents()
            if until is not None and until():
                return True
            time.sleep(0.01)
        return until is None

    app = EngramApp(engine)
    app.window.resize(1280, 800)
    app.start(first_run=False)
    pump(until=lambda: app.runner.pending == 0)
    stage("window shown, engine started")
    pump(20)
    stage("capture running 20 s")

    window = app.window
    # a search on the Memories page (search by meaning loads the embedder)
    window.show_page("memories")
    pump(until=lambda: app.runner.pending == 0)
    window.memories.search.setText("budget review")
    window.memories.reload()
    pump(until=lambda: app.runner.pending == 0)
    window.show_page("timeline")
    pump(2, until=None)
    pump(until=lambda: app.runner.pending == 0)
    stage("search, memories and timeline shown")

    # quick recall, typed
    def recall(text: str) -> float:
        box = app.recall
        box.input.clear()
        started_at = time.perf_counter()
        box.input.setText(text)
        pump(until=lambda: box.searched_text == text and not box._in_flight, timeout=30)  # noqa: SLF001
        return (time.perf_counter() - started_at) * 1000

    app.show_quick_recall()
    warm = [recall(word) for word in ("porto", "atlas budget", "npm publish", "porto trip", "invoice")]
    app.recall.hide()
    stage("quick recall", recall_ms=warm)

    # a chat question, answered by the seed model
    window.show_page("chat")
    window.chat.send("What did Priya say about the budget review?")
    pump(until=lambda: window.chat._stop is None, timeout=300)  # noqa: SLF001
    stage("chat answered (chat model loaded)")

    # an absorb of the backlog, as the scheduled job runs it (bounded for the bench)
    import threading

    from core.absorb.absorber import Absorber

    stop = threading.Event()
    done = threading.Event()
    from desktop.ops import EngineOp

    EngineOp(window, lambda eng: Absorber(eng).absorb_backlog(stop=stop)).success(lambda _r: done.set()).failure(
        lambda _e: done.set()).run_in_background()
    pump(until=done.is_set, timeout=90)
    stop.set()
    pump(until=lambda: app.runner.pending == 0, timeout=60)
    stage("absorb ran")

    # idle, capture still on
    samples = []
    idle_started = time.monotonic()
    while time.monotonic() - idle_started < IDLE_SECONDS:
        pump(2)
        samples.append({"t": round(time.monotonic() - idle_started, 1), **smaps()})
    loaded = engine.models.status()["chat"]["loaded"] if engine.models else None
    stage("idle", chat_loaded=loaded, idle_samples=samples)

    # the first keystrokes after the idle period (the release must not cost a keystroke its budget)
    app.show_quick_recall()
    cold = [recall(word) for word in ("priya", "atlas budget", "npm publish", "porto trip", "invoice")]
    app.recall.hide()
    stage("quick recall after idle", recall_ms=cold)

    # the same app without the chat model, for the 'without' figure
    if engine.models is not None:
        engine.models.unload("chat")
    from desktop.idle import trim_heap

    trim_heap()
    pump(3)
    stage("chat model unloaded", chat_loaded=False)
    result = {"mode": mode, "stages": stages, "vector_index_mb": vector_index_mb(engine)}
    if tracing:
        import tracemalloc

        snapshot = tracemalloc.take_snapshot()
        by_trace = snapshot.statistics("traceback")
        result["python_tracebacks"] = [
            {"mb": round(s.size / 1024**2, 2), "where": [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in s.traceback[-6:]]}
            for s in by_trace[:6]
        ]
        by_file = snapshot.statistics("filename")
        result["python_heap_mb"] = round(sum(s.size for s in by_file) / 1024**2, 1)
        result["python_top"] = [
            {"file": str(s.traceback[0].filename).replace(str(ROOT) + "/", "").split("site-packages/")[-1],
             "mb": round(s.size / 1024**2, 2), "blocks": s.count}
            for s in by_file[:12]
        ]
    Path(out_path).write_text(json.dumps(result, indent=1))
    app.quit()
    app.close()
    engine.close()
    qt.processEvents()
    sys.stdout.flush()
    # Leave without the interpreter's final garbage collection: with llama.cpp and Qt both loaded it can abort
    # in a C extension's deallocator (seen on exit after a chat answer); the measurements are written already.
    os._exit(0)


# -- the parent: data, displays, runs, report ---------------------------------------------


def prepare_home(seed_models: str) -> Path:
    """A week of sample moments and memories plus EXTRA_OBSERVATIONS, embedded, mostly absorbed."""
    home = Path(tempfile.mkdtemp(prefix="engram-real-use-"))
    os.chmod(home, 0o700)
    env = dict(os.environ, ENGRAM_HOME=str(home), ENGRAM_KEYRING="file", ENGRAM_SEED_MODELS=seed_models,
               QT_QPA_PLATFORM="offscreen")
    script = (
        "import random, time\n"
        "from core.engine import Engine\n"
        "from desktop.app import make_qt_app\n"
        "from desktop.sample_data import add_sample_data, APPS\n"
        "make_qt_app()\n"
        "engine = Engine()\n"
        "add_sample_data(engine)\n"
        "rng = random.Random(3)\n"
        "words = 'invoice budget review Priya Contoso Porto trip design tokens release npm build report hiring plan'.split()\n"
        f"now = time.time(); items = []\n"
        f"for i in range({EXTRA_OBSERVATIONS}):\n"
        "    app, title, lines = rng.choice(APPS)\n"
        "    text = '\\n'.join(lines + [' '.join(rng.choices(words, k=12)) for _ in range(6)])\n"
        "    items.append(dict(kind='screen', text=text, ts=now - 86400 * 3 + i * 97, app=app, window_title=title))\n"
        "engine.observations.add_many(items)\n"
        "while engine.indexer.index_pending(max_rows=500): pass\n"
        # Every background job has just run (rules only, fast), as in an app that has been running a while:
        # nothing catches up during the bench, so what it measures is the scenario, not a job that happens to start.
        "from core.scheduling import Scheduler\n"
        "engine.settings.set('absorb.use_llm', False); engine.settings.set('consolidation.use_model', False)\n"
        "scheduler = Scheduler(engine)\n"
        "for name in list(scheduler.specs): scheduler.run(name)\n"
        "engine.settings.set('absorb.use_llm', True); engine.settings.set('consolidation.use_model', True)\n"
        "engine.settings.set('absorb.interval_minutes', 60)\n"
        f"fresh = [dict(kind='screen', text=items[i]['text'] + ' (today)', ts=time.time() - 3600 + i * 30, app=items[i]['app'],"
        " window_title=items[i]['window_title']) for i in range(FRESH)]\n"
        "engine.observations.add_many(fresh)\n"
        "while engine.indexer.index_pending(max_rows=500): pass\n"
        "engine.close()\n"
    ).replace("FRESH", str(FRESH_OBSERVATIONS))
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True)
    return home


def run_child(mode: str, template: Path, display: str, seed_models: str) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"engram-real-use-{mode}-"))
    shutil.rmtree(home)
    shutil.copytree(template, home)
    config = json.loads((home / "config.json").read_text()) if (home / "config.json").exists() else {}
    config.update({"capture.enabled": True, "app.first_run_done": True,
                   "app.idle_release_seconds": 0 if mode == "kept" else RELEASE_AFTER_SECONDS})
    (home / "config.json").write_text(json.dumps(config))
    out = home / "result.json"
    env = dict(os.environ, ENGRAM_HOME=str(home), ENGRAM_KEYRING="file", DISPLAY=display, QT_QPA_PLATFORM="xcb",
               ENGRAM_SEED_MODELS=seed_models)
    try:
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", mode, str(out)], env=env, cwd=ROOT,
                       check=True, timeout=1200)
        return json.loads(out.read_text())
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _stage(result: dict, name: str) -> dict:
    return next(s for s in result["stages"] if s["stage"] == name)


def _median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


def report(kept: dict, released: dict, traced: dict | None) -> dict:
    from common import headline, report as save, verdict

    def figures(result: dict) -> dict:
        idle = _stage(result, "idle")
        tail = idle["idle_samples"][-5:]
        with_model = _stage(result, "chat answered (chat model loaded)")
        without = _stage(result, "chat model unloaded")
        return {
            "after_chat_rss": with_model["rss"],
            "after_chat_beside_model": round(with_model["rss"] - with_model["gguf"], 1),
            "idle_rss": round(_median([s["rss"] for s in tail]), 1),
            "idle_beside_model": round(_median([s["rss"] - s["gguf"] for s in tail]), 1),
            "idle_chat_loaded": idle.get("chat_loaded"),
            "without_chat_rss": without["rss"],
            "without_chat_beside_model": round(without["rss"] - without["gguf"], 1),
            "recall_warm_ms": _median(_stage(result, "quick recall")["recall_ms"]),
            "recall_after_idle_ms": _median(_stage(result, "quick recall after idle")["recall_ms"]),
        }

    a, b = figures(kept), figures(released)
    headline("App in real use: search, quick recall, chat, absorb, then idle with capture on (Xvfb 1280x800)")
    print(f"{'':44}{'kept':>10}{'released':>10}{'ratio':>8}")
    rows = [
        ("RSS right after the chat answer", "after_chat_rss"),
        ("  beside the model files", "after_chat_beside_model"),
        ("RSS idle (last 10 s of %d s)" % IDLE_SECONDS, "idle_rss"),
        ("  beside the model files", "idle_beside_model"),
        ("RSS without the chat model", "without_chat_rss"),
        ("  beside the model files", "without_chat_beside_model"),
        ("quick recall p50, warm (ms)", "recall_warm_ms"),
        ("quick recall p50, first after idle (ms)", "recall_after_idle_ms"),
    ]
    for label, key in rows:
        ratio = b[key] / a[key] if a[key] else float("nan")
        print(f"{label:<44}{a[key]:>10.1f}{b[key]:>10.1f}{ratio:>8.2f}")
    print(f"chat model still loaded when idle: kept {a['idle_chat_loaded']}, released {b['idle_chat_loaded']}")
    print(f"Budget: {BUDGET_MB} MB beside the model. Idle with release: {b['idle_beside_model']:.0f} MB "
          f"({verdict(b['idle_beside_model'] < BUDGET_MB)}); without the chat model: {b['without_chat_beside_model']:.0f} MB "
          f"({verdict(b['without_chat_beside_model'] < BUDGET_MB)})")

    headline("What takes the memory (the 'released' run, by stage; MB of RSS)")
    previous = None
    for row in released["stages"]:
        delta = f"{row['rss'] - previous:+7.0f}" if previous is not None else " " * 7
        print(f"{row['stage']:<38} rss {row['rss']:6.0f} {delta}   model files {row['gguf']:5.0f}   "
              f"Qt libs {row['qt_libs']:4.0f}   anon {row['anon']:5.0f}   SQLite heap {row['sqlite'] or 0:5.1f}")
        previous = row["rss"]
    print(f"numpy vector index: {released['vector_index_mb']:.1f} MB")
    if traced:
        print(f"Python heap (tracemalloc, separate run): {traced['python_heap_mb']:.0f} MB; largest by file:")
        for item in traced["python_top"]:
            print(f"  {item['mb']:7.2f} MB  {item['blocks']:>8} blocks  {item['file']}")
        print("Largest single allocation sites (innermost last):")
        for item in traced.get("python_tracebacks", []):
            print(f"  {item['mb']:7.2f} MB  " + " < ".join(reversed(item["where"][-3:])))
    data = {"kept": a, "released": b, "budget_mb": BUDGET_MB, "stages_released": released["stages"],
            "stages_kept": kept["stages"], "vector_index_mb": released["vector_index_mb"],
            "python_heap": traced and {"mb": traced["python_heap_mb"], "top": traced["python_top"]}}
    save("real_use", data)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("MODE", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run")
    parser.add_argument("--only", choices=("kept", "released", "trace"), help="run one scenario and print its stages")
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    # Appended, not inserted: tests/ holds packages named core/ and desktop/ that must not shadow the real ones.
    sys.path.append(str(ROOT / "tests"))
    try:
        from xvfb import XvfbServer  # tests/xvfb.py
    except ImportError:
        print("bench_real_use: tests/xvfb.py is missing; skipped")
        return 0
    if not shutil.which("Xvfb"):
        print("bench_real_use: Xvfb not installed; skipped")
        return 0
    seed_models = os.environ.get("ENGRAM_SEED_MODELS") or str(ROOT / ".models")
    if not Path(seed_models, "SmolLM2-135M-Instruct.Q4_1.gguf").exists():
        print(f"bench_real_use: the seed models are not in {seed_models} (make setup); skipped")
        return 0
    template = prepare_home(seed_models)
    display = XvfbServer(width=1280, height=800)
    if args.only:
        try:
            print(json.dumps(run_child(args.only, template, display.name, seed_models), indent=1)[-6000:])
        finally:
            display.stop()
            shutil.rmtree(template, ignore_errors=True)
        return 0
    try:
        kept = run_child("kept", template, display.name, seed_models)
        released = run_child("released", template, display.name, seed_models)
        traced = None if args.no_trace else run_child("trace", template, display.name, seed_models)
    finally:
        display.stop()
        shutil.rmtree(template, ignore_errors=True)
    report(kept, released, traced)
    return 0


if __name__ == "__main__":
    sys.exit(main())
