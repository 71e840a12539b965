"""No model work under the write lock: reads stay fast while absorb and merge wait on a slow embedder or chat model."""

from __future__ import annotations

import queue
import threading
import time

from core.consolidate.merge import merge_duplicates
from core.engine import Engine
from core.models.base import FakeChatModel, FakeEmbedder
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


class GatedChatModel(FakeChatModel):
    """A chat model that holds every call open until the test lets it return (a slow model, made deterministic)."""

    def __init__(self, reply):
        super().__init__(reply)
        self.inside = queue.Queue()  # one release event per call that is waiting to return

    def _next(self, messages, schema):
        release = threading.Event()
        self.inside.put(release)
        if not release.wait(MODEL_HOLD_SECONDS):
            raise AssertionError("the test never let the model return")
        return super()._next(messages, schema)


MODEL_HOLD_SECONDS = 60.0
READS_GIVE_UP_SECONDS = 20.0


def test_reads_and_the_users_writes_never_wait_for_the_chat_model_of_an_absorb(paths, fake_embedder):
    """While absorb's model call is open, reads (and an ``engram add``) finish: each one completes before the model
    call is allowed to return, so none of them waited for it."""
    model = GatedChatModel(lambda messages, schema: (
        {"memories": [{"type": "semantic", "name": "Ada", "content": "Ada lives in Porto"}]}
        if "memories" in schema["properties"] else {"decisions": [{"fact": 0, "action": "ADD"}]}
    ))
    engine = Engine(paths, embedder=fake_embedder, chat_model=model)
    try:
        engine.memories.add("semantic", {"name": "Orchestra", "summary": "Sam rehearses the cello for the Porto orchestra"})
        for i in range(6):
            engine.observations.add("chat", f"My sister Ada lives in Porto and her flat number is {i}.", ts=engine.clock() - 600 + i,
                                    role="user", conversation="c1")
        reads = {
            "quick recall": lambda: engine.quick_recall("porto"),
            "search": lambda: engine.memories.search("cello orchestra", limit=5),
            "recall": lambda: engine.recall.retrieve("Where does Ada live?", limit=5),  # syncs recall's index: it writes
            "engram add": lambda: engine.memories.add("semantic", {"name": "Tea", "summary": "Sam prefers green tea"}),
        }
        for name in ("quick recall", "search", "recall"):  # one-time set-up is not what is checked
            reads[name]()
        outcome: dict = {}
        writer = threading.Thread(target=lambda: outcome.update(report=engine.make_absorber(use_llm=True).absorb_backlog()),
                                  name="writer")
        writer.start()
        calls = 0
        while True:
            try:
                release = model.inside.get(timeout=READS_GIVE_UP_SECONDS if calls == 0 else 0.5)
            except queue.Empty:
                if writer.is_alive():
                    continue
                break
            calls += 1
            done: list[str] = []

            def run_reads() -> None:
                for name, read in reads.items():
                    if name == "engram add" and calls > 1:
                        continue
                    read()
                    done.append(name)

            reader = threading.Thread(target=run_reads, name="reader")
            reader.start()
            reader.join(READS_GIVE_UP_SECONDS)  # the model call is still open: a read that needs it never returns
            waiting = [name for name in reads if name not in done] if reader.is_alive() else []
            release.set()
            reader.join()
            assert not waiting, f"model call {calls}: {waiting[0]} waited for the chat model"
        writer.join()
        assert calls >= 1 and len(model.calls) == calls  # absorb did ask the model
        assert outcome["report"].to_dict()["llm_states"] == {"done": 1}
        assert engine.memories.find_semantic("Tea") is not None
    finally:
        engine.close()
