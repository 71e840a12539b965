"""What forgetting costs, against doing without, measured in the same run.

1. ``PRAGMA secure_delete``: the same writes (adds, edits, deletes through the
   memory store, one transaction each) on two identical stores, one with
   secure_delete on (what Engram runs) and one with it off.
2. A user's delete: ``forget_memory`` (tombstone, FTS5 'optimize' of the
   memory index, WAL checkpoint) against a plain ``MemoryStore.delete``, on a
   store of ``--memories`` memories and ``--observations`` observations.
3. Forgetting observations: ``forget_observations`` (derived memories, the
   'optimize' of the observation and recall indexes, the checkpoint) against
   the plain ``ObservationStore.forget``, for a few and for many observations.
4. For reference: VACUUM of the same store, the other way to clear freed pages.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time

from common import bench_home, headline, report  # noqa: E402
from synthetic import BagEmbedder, fill_memories, fill_observations, sentences, vocabulary  # noqa: E402

from core.engine import Engine  # noqa: E402
from core.paths import Paths  # noqa: E402


def _writes(engine, texts: list[str]) -> float:
    """Adds, edits and deletes, one transaction each; returns seconds."""
    started = time.perf_counter()
    ids = [engine.memories.add("semantic", {"name": f"n{i}", "summary": t}).id for i, t in enumerate(texts)]
    for memory_id, text in zip(ids, reversed(texts)):
        engine.memories.update(memory_id, {"summary": text}, actor="absorb")
    for memory_id in ids[::2]:
        engine.memories.delete(memory_id, actor="absorb")
    return time.perf_counter() - started


def secure_delete_cost(words, embedder, base: int, writes: int, rounds: int) -> dict:
    texts = sentences(writes, words, seed=41)
    homes = {}
    for mode in ("on", "off"):
        home = bench_home(f"forget-secure-{mode}")
        shutil.rmtree(home)
        with Engine(Paths.from_env(), embedder=embedder) as engine:
            fill_memories(engine, base, embedder, words)
        homes[mode] = home
    seconds: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(rounds):
        for mode in ("on", "off"):  # alternated, so drift on a shared machine hits both
            with Engine(Paths.at(homes[mode]), embedder=embedder) as engine:
                engine.store.set_secure_delete(mode == "on")
                seconds[mode].append(_writes(engine, texts))
    on, off = statistics.median(seconds["on"]), statistics.median(seconds["off"])
    return {"writes": writes * 2 + writes // 2, "store_memories": base, "seconds_on": round(on, 3),
            "seconds_off": round(off, 3), "ratio": round(on / off, 3)}


def forget_costs(words, embedder, memories: int, observations: int, samples: int) -> dict:
    home = bench_home("forget-store")
    shutil.rmtree(home)
    out: dict = {"memories": memories, "observations": observations}
    with Engine(Paths.from_env(), embedder=embedder) as engine:
        out["fill_seconds"] = round(fill_memories(engine, memories, embedder, words)
                                    + fill_observations(engine, observations, words), 1)
        out["database_mb"] = round(engine.paths.db_path.stat().st_size / 1e6, 1)
        ids = [m.id for m in engine.memories.list(limit=samples * 2)]
        plain, forget = [], []
        for plain_id, forget_id in zip(ids[::2], ids[1::2]):
            started = time.perf_counter()
            engine.memories.delete(plain_id)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.forgetting.forget_memory(forget_id)
            forget.append(time.perf_counter() - started)
        out["delete_memory"] = {"plain_ms": round(statistics.median(plain) * 1000, 1),
                                "forget_ms": round(statistics.median(forget) * 1000, 1),
                                "ratio": round(statistics.median(forget) / statistics.median(plain), 1)}
        start_ts = 1.7e9  # fill_observations writes one observation every 3 s from here
        for label, count in (("few", 5), ("many", 2000)):
            plain_ids = engine.forgetting.observations_between(start_ts, start_ts + count * 3)
            start_ts += count * 3
            forget_ids = engine.forgetting.observations_between(start_ts, start_ts + count * 3)
            start_ts += count * 3
            started = time.perf_counter()
            engine.observations.forget(plain_ids)
            plain_s = time.perf_counter() - started
            started = time.perf_counter()
            engine.forgetting.forget_observations(forget_ids)
            forget_s = time.perf_counter() - started
            out[f"forget_{label}_observations"] = {"count": count, "plain_ms": round(plain_s * 1000, 1),
                                                   "forget_ms": round(forget_s * 1000, 1),
                                                   "ratio": round(forget_s / plain_s, 1)}
        started = time.perf_counter()
        engine.store.vacuum()
        out["vacuum_seconds"] = round(time.perf_counter() - started, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--secure-base", type=int, default=20_000, help="memories in the secure_delete stores")
    parser.add_argument("--writes", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    words = vocabulary()
    embedder = BagEmbedder(words)
    secure = secure_delete_cost(words, embedder, args.secure_base, args.writes, args.rounds)
    costs = forget_costs(words, embedder, args.memories, args.observations, args.samples)
    report("forget", {"secure_delete": secure, **costs})

    headline("secure_delete (zeroing what is deleted), same writes, same run")
    print(f"{secure['writes']} writes on a {secure['store_memories']:,}-memory store: on {secure['seconds_on']:.2f} s, "
          f"off {secure['seconds_off']:.2f} s, ratio {secure['ratio']:.2f}")
    headline(f"Forgetting on {costs['memories']:,} memories + {costs['observations']:,} observations "
             f"({costs['database_mb']} MB)")
    d = costs["delete_memory"]
    print(f"delete one memory: plain {d['plain_ms']:.1f} ms, forgetting {d['forget_ms']:.1f} ms (x{d['ratio']})")
    for label in ("few", "many"):
        f = costs[f"forget_{label}_observations"]
        print(f"forget {f['count']} observations: plain {f['plain_ms']:.1f} ms, forgetting {f['forget_ms']:.1f} ms (x{f['ratio']})")
    print(f"VACUUM of the same store, for reference: {costs['vacuum_seconds']:.2f} s")


if __name__ == "__main__":
    main()
