"""No model work under the write lock: reads stay fast while absorb and merge wait on a slow embedder."""

from __future__ import annotations

import threading
import time

from core.consolidate.merge import merge_duplicates
from core.engine import Engine
from core.models.base import FakeEmbedder
from core.store.search import MEMORY_INDEX

SLOW_SECONDS = 0.4
READ_BUDGET_MS = 50.0


class SlowWriterEmbedder(FakeEmbedder):
    """Slow for the writer thread (as a real model on a busy laptop), instant for readers."""

    def __init__(self):
        super().__init__(64)
        self.busy = threading.Event()
        self.slow_calls = 0

    def embed(self, texts):
        if threading.current_thread().name == "writer":
            self.busy.set()
            self.slow_calls += 1
            time.sleep(SLOW_SECONDS)
            self.busy.clear()
        return super().embed(texts)


def test_reads_never_wait_for_the_embedder_of_an_absorb_or_a_merge(paths):
    embedder = SlowWriterEmbedder()
    engine = Engine(paths, embedder=embedder, chat_model=None)
    try:
        source = engine.observations.add("chat", "seed", role="user", conversation="seed")
        for day in range(1, 7):  # overlapping episodes: each merge widens a span, so the survivor is embedded again
            for start_hour, end in (("10:00", "10:30"), ("10:20", "10:50")):
                engine.memories.add("episodic", {
                    "occurred_at": f"2026-05-0{day}T{start_hour}", "occurred_until": f"2026-05-0{day}T{end}",
                    "event_type": "activity", "summary": "Rehearsed the cello part for the Porto orchestra"}, sources=[source], actor="absorb")
        start = engine.clock() - 7200
        for i in range(24):
            engine.observations.add("chat", f"My sister Ada lives in Porto and her flat number is {i}. I prefer tea.",
                                    ts=start + i, role="user", conversation=f"c{i % 3}")

        def write() -> None:
            engine.make_absorber(use_llm=False).absorb_backlog()
            merge_duplicates(engine.memories, threshold=0.3, types=("episodic",))

        reads = (lambda: engine.quick_recall("porto"), lambda: engine.memories.search("cello orchestra", limit=5))
        for read in reads:  # one-time set-up (vocabulary tables, the RAM vector index) is not what is measured
            read()
        writer = threading.Thread(target=write, name="writer")
        writer.start()
        timings: list[float] = []
        while writer.is_alive():
            for read in reads:
                was_busy = embedder.busy.is_set()
                began = time.perf_counter()
                read()
                took = (time.perf_counter() - began) * 1000
                if was_busy:  # started while the writer was inside a model call
                    timings.append(took)
            time.sleep(0.005)
        writer.join()
        assert embedder.slow_calls >= 3  # absorb and merge did embed, slowly
        assert len(timings) >= 10  # and the reads ran while they did
        timings.sort()
        # A read that waited for the embedder would take SLOW_SECONDS; a busy CI machine may slow one read a
        # little, so the typical read must be within the budget and none may come near a model call's time.
        assert timings[len(timings) // 2] < READ_BUDGET_MS, timings
        assert timings[-1] < SLOW_SECONDS * 1000 / 2, f"a read waited {timings[-1]:.0f} ms for the embedder"
        assert len([m for m in engine.memories.list("episodic") if "cello" in m.text]) == 6  # the merges happened
        assert engine.indexer.pending(MEMORY_INDEX) == 0  # every memory was embedded after its commit
    finally:
        engine.close()
