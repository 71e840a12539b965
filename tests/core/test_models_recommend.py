"""The recommended models fit this machine: memory first, then speed (measured here, else the number of cores)."""

from __future__ import annotations

import pytest

from core.models.catalog import recommend, shipped_entries

GIB = 1024**3


@pytest.mark.parametrize(
    "cores, ram_gib, expected",
    [
        (2, 24, "qwen2.5-0.5b-instruct-q4_k_m"),  # plenty of memory, but two cores would crawl through a big model
        (3, 24, "qwen2.5-1.5b-instruct-q4_k_m"),
        (4, 24, "llama-3.2-3b-instruct-q4_k_m"),
        (8, 24, "llama-3.2-3b-instruct-q4_k_m"),
        (16, 32, "llama-3.1-8b-instruct-q4_k_m"),
        (16, 1.5, "smollm2-135m-instruct-q4_1"),  # many cores, little memory: memory still decides
        (1, 8, "qwen2.5-0.5b-instruct-q4_k_m"),
    ],
)
def test_the_chat_recommendation_fits_cores_and_memory(cores, ram_gib, expected):
    assert recommend(shipped_entries(), "chat", ram_gib * GIB, cores).name == expected


def test_a_measured_speed_outranks_the_core_count():
    entries = shipped_entries()
    seed_size = next(e.size for e in entries if e.seed and e.role == "chat")
    # A fast 2-core machine: the seed decodes at 120 tokens/s, so a 1.5B model would still do about 10.
    assert recommend(entries, "chat", 24 * GIB, 2, (120.0, seed_size)).name == "qwen2.5-1.5b-instruct-q4_k_m"
    # A slow 16-core machine: 40 tokens/s for the seed means an 8B model would do under one.
    assert recommend(entries, "chat", 32 * GIB, 16, (40.0, seed_size)).name == "qwen2.5-0.5b-instruct-q4_k_m"


def test_an_answer_long_enough_keeps_the_speed_sample_and_the_listing_uses_it(paths, tmp_path, monkeypatch):
    from core.events import EventBus
    from core.models.base import FakeChatModel, FakeEmbedder
    from core.models.manager import ModelManager
    from core.settings import Settings

    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"x" * 1000)
    (seed / "all-MiniLM-L6-v2-f16.gguf").write_bytes(b"x" * 1000)

    def chat_factory(path, entry, options):
        model = FakeChatModel(["a long enough answer to time"] * 2, name=entry.name)
        model.last_stats = {"prompt_tokens": 200.0, "prefill_seconds": 0.5, "completion_tokens": 50.0,
                            "total_seconds": 1.5}
        return model

    events = EventBus()
    manager = ModelManager(paths, Settings(paths, events), events, seed_dirs=[seed], chat_factory=chat_factory,
                           embedder_factory=lambda p, e, o: FakeEmbedder(384))
    monkeypatch.setattr("core.models.manager.usable_cores", lambda: 16)
    try:
        assert manager.list()["speed"] is None
        manager.chat_model().chat([{"role": "user", "content": "hi"}])
        listing = manager.list()
        assert listing["speed"]["decode_tokens_per_second"] == 50.0
        assert listing["speed"]["prefill_tokens_per_second"] == 400.0
        assert listing["speed"]["model_bytes"] == 1000
        # 50 tokens/s for a 1000-byte file predicts a crawl for every real download: only the seed fits.
        assert listing["recommended"]["chat"] == "smollm2-135m-instruct-q4_1"
        # A second answer soon after does not rewrite the sample.
        (paths.models_dir / "speed.json").unlink()
        manager.chat_model().chat([{"role": "user", "content": "hi again"}])
        assert not (paths.models_dir / "speed.json").exists()
    finally:
        manager.close()


def test_unload_idle_takes_a_period_and_roles_and_spares_a_model_in_use(paths, tmp_path):
    from core.events import EventBus
    from core.models.base import FakeChatModel, FakeEmbedder
    from core.models.manager import ModelManager
    from core.settings import Settings

    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"x")
    (seed / "all-MiniLM-L6-v2-f16.gguf").write_bytes(b"x")
    now = [1000.0]
    events = EventBus()
    manager = ModelManager(paths, Settings(paths, events), events, seed_dirs=[seed], clock=lambda: now[0],
                           chat_factory=lambda p, e, o: FakeChatModel(lambda m, s: "hi"),
                           embedder_factory=lambda p, e, o: FakeEmbedder(384))
    try:
        manager.chat_model().chat([{"role": "user", "content": "hi"}])
        manager.embedder().embed(["x"])
        now[0] += 30
        assert manager.unload_idle(60, roles=("chat",)) == []
        now[0] += 40
        with manager.using("chat"):  # an absorb's call in progress
            assert manager.unload_idle(60, roles=("chat",)) == []
        now[0] += 61
        assert manager.unload_idle(60, roles=("chat",)) == ["chat"]
        assert not manager.loaded("chat") and manager.loaded("embedding")
    finally:
        manager.close()
