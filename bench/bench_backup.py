"""Backup, restore and export at 100k memories + 200k observations.

Baselines measured in the same run: a plain copy of the database file,
flushed to disk (what a backup must at least cost: every byte read and
written once) and a
``SELECT`` of every memory row (what an export must at least read).  A
backup writes the file twice (the checked snapshot, then the backup file)
and reads it twice (the checks), so about 4-6x the plain copy is expected.
Also: Argon2id with the recovery code's settings, the change check that
lets an unchanged store skip its scheduled backup, and import speed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

from common import OUT, bench_home, headline, report  # noqa: E402
from synthetic import BagEmbedder, fill_memories, fill_observations, vocabulary  # noqa: E402

from core.backup.exporting import export_memories  # noqa: E402
from core.backup.importing import import_memories  # noqa: E402
from core.backup.recovery import KdfParams, RecoveryCode, derive_kek  # noqa: E402
from core.backup.restore import restore_backup  # noqa: E402
from core.engine import Engine  # noqa: E402
from core.paths import Paths  # noqa: E402
from core.settings import Settings  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def staged(fn):
    """Run ``fn(progress)`` and return (result, seconds, seconds per stage)."""
    marks: list[tuple[str, float]] = []

    def progress(stage: str, _fraction: float) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter()))

    start = time.perf_counter()
    result = fn(progress)
    end = time.perf_counter()
    stages = {}
    for (stage, at), nxt in zip(marks, [m[1] for m in marks[1:]] + [end]):
        stages[stage] = round(stages.get(stage, 0) + nxt - at, 2)
    return result, end - start, stages


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(memories: int, observations: int, import_sample: int) -> dict:
    words = vocabulary()
    embedder = BagEmbedder(words)
    home = bench_home("backup")
    shutil.rmtree(home)
    engine = Engine(Paths.from_env(), embedder=embedder)
    fill_seconds = fill_memories(engine, memories, embedder, words) + fill_observations(engine, observations, words)
    engine.store.checkpoint()
    db_bytes = engine.paths.db_path.stat().st_size
    out: dict = {"memories": memories, "observations": observations, "fill_seconds": round(fill_seconds, 1),
                 "database_bytes": db_bytes}

    def plain_copy(target: Path) -> None:
        shutil.copyfile(engine.paths.db_path, target)
        with open(target, "rb+") as handle:
            os.fsync(handle.fileno())

    copies = []
    for _ in range(2):
        target = OUT / "plain-copy.db"
        _, seconds = timed(lambda: plain_copy(target))
        copies.append(seconds)
        target.unlink()
    out["plain_copy_seconds"] = round(min(copies), 2)

    code = RecoveryCode.generate()
    kdf_times = [timed(lambda: derive_kek(code, KdfParams.new()))[1] for _ in range(3)]
    out["argon2id_seconds"] = round(statistics.median(kdf_times), 3)

    folder = OUT / "homes" / "backup-files"
    shutil.rmtree(folder, ignore_errors=True)
    info, seconds, stages = staged(lambda p: engine.backups.create("manual", folder=folder, progress=p))
    out["backup_database_key"] = {"seconds": round(seconds, 2), "stages": stages, "bytes": info.bytes}
    _, fingerprint_seconds = timed(lambda: engine.backups._fingerprint())
    out["change_check_seconds"] = round(fingerprint_seconds, 3)

    engine.backups.set_up_recovery(code)
    info, seconds, stages = staged(lambda p: engine.backups.create("manual", folder=folder, progress=p))
    out["backup_recovery_code"] = {"seconds": round(seconds, 2), "stages": stages, "bytes": info.bytes}

    # Baseline for export: read every memory once, through the store.
    _, select_seconds = timed(lambda: engine.memories.list(limit=10**9))
    out["select_all_memories_seconds"] = round(select_seconds, 2)
    exports = {}
    for fmt, name in (("json", "export.json"), ("markdown", "export-md"), ("csv", "export-csv")):
        path = OUT / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        _, seconds = timed(lambda: export_memories(engine, fmt, path))
        exports[fmt] = {"seconds": round(seconds, 2), "bytes": size_of(path)}
    out["export"] = exports

    sample = OUT / "export-sample.json"
    sample.unlink(missing_ok=True)
    until = engine.memories.list(limit=1, offset=import_sample - 1, newest_first=False)[0].time
    export_memories(engine, "json", sample, until=until)
    engine.close()

    # Restore on 'a new computer': empty data directory, no key, the recovery code.
    new_home = OUT / "homes" / "backup-restored"
    shutil.rmtree(new_home, ignore_errors=True)
    paths = Paths.at(new_home)
    report_, seconds, stages = staged(lambda p: restore_backup(paths, Settings(paths), info.path, code=code, progress=p))
    out["restore_new_computer"] = {"seconds": round(seconds, 2), "stages": stages,
                                   "bytes": paths.db_path.stat().st_size, "memories": report_["memories"]}
    with Engine(paths, embedder=embedder) as restored:
        _, search_seconds = timed(lambda: restored.memories.search(words[700], limit=10))
        out["first_search_after_restore_seconds"] = round(search_seconds, 2)
        out["restored_memories"] = restored.memories.count()

    import_home = OUT / "homes" / "backup-import"
    shutil.rmtree(import_home, ignore_errors=True)
    with Engine(Paths.at(import_home), embedder=embedder) as target:
        result, seconds = timed(lambda: import_memories(target, sample))
        out["import"] = {"memories": result["added"], "seconds": round(seconds, 2),
                         "per_second": round(result["added"] / seconds, 1)}
        _, again = timed(lambda: import_memories(target, sample))
        out["import_again_seconds"] = round(again, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--import-sample", type=int, default=10_000)
    args = parser.parse_args()
    r = run(args.memories, args.observations, args.import_sample)
    report("backup", r)
    mb = 1e6
    copy = r["plain_copy_seconds"]
    headline(f"Backup, restore and export at {r['memories']:,} memories + {r['observations']:,} observations")
    print(f"database: {r['database_bytes'] / mb:.0f} MB; plain file copy (baseline): {copy:.2f} s")
    print(f"Argon2id (recovery code, 128 MiB, t=2, p=4): {r['argon2id_seconds']:.2f} s")
    for key, label in (("backup_database_key", "backup, database key"), ("backup_recovery_code", "backup, recovery code")):
        row = r[key]
        print(f"{label:<24} {row['seconds']:7.2f} s = {row['seconds'] / copy:5.1f}x copy, {row['bytes'] / mb:.0f} MB; stages {row['stages']}")
    row = r["restore_new_computer"]
    print(f"{'restore, new computer':<24} {row['seconds']:7.2f} s = {row['seconds'] / copy:5.1f}x copy, {row['bytes'] / mb:.0f} MB; stages {row['stages']}")
    print(f"first search after restore: {r['first_search_after_restore_seconds']:.2f} s; memories restored: {r['restored_memories']:,}")
    print(f"change check (skip an unchanged scheduled backup): {r['change_check_seconds'] * 1000:.0f} ms")
    base = r["select_all_memories_seconds"]
    for fmt, row in r["export"].items():
        print(f"export {fmt:<9} {row['seconds']:7.2f} s = {row['seconds'] / base:5.1f}x reading every memory row, {row['bytes'] / mb:.0f} MB")
    imp = r["import"]
    print(f"import {imp['memories']:,} memories: {imp['seconds']:.1f} s ({imp['per_second']:.0f}/s); again (adds nothing): {r['import_again_seconds']:.1f} s")


if __name__ == "__main__":
    main()
