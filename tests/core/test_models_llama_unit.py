"""The llama.cpp wrappers' logic that needs no model: JSON validation and repair, loop guard, RAM refusal, fakes."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from core.errors import ModelError
from core.models.base import FakeChatModel, FakeEmbedder
from core.models.llama import LlamaChatModel, _RepetitionGuard, check_fits_in_memory, default_threads

SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["title", "tags"],
    "additionalProperties": False,
}
ASK = [{"role": "system", "content": "Extract."}, {"role": "user", "content": "Buy milk tomorrow"}]


def scripted_chat_model(replies: list[tuple[str, dict]]):
    """A LlamaChatModel whose generation is scripted, so chat_json's own logic runs without llama.cpp."""
    model = LlamaChatModel.__new__(LlamaChatModel)
    model.name = "scripted"
    model._grammars = {}
    model.calls = []

    def generate_text(messages, **kwargs):
        model.calls.append({"messages": list(messages), **kwargs})
        return replies.pop(0)

    model._generate_text = generate_text
    model._grammar_for = lambda schema: "grammar"
    return model


def test_chat_json_returns_valid_value_first_time():
    model = scripted_chat_model([('{"title": "Buy milk", "tags": ["errand"]}', {})])
    assert model.chat_json(ASK, SCHEMA) == {"title": "Buy milk", "tags": ["errand"]}
    assert len(model.calls) == 1
    assert model.calls[0]["grammar"] == "grammar"
    assert model.calls[0]["temperature"] == 0.0


def test_chat_json_repairs_once_with_the_problem_in_the_prompt():
    model = scripted_chat_model([('{"title": "Buy milk"}', {}), ('{"title": "Buy milk", "tags": []}', {})])
    assert model.chat_json(ASK, SCHEMA) == {"title": "Buy milk", "tags": []}
    repair = model.calls[1]["messages"]
    assert repair[:2] == ASK
    assert repair[2] == {"role": "assistant", "content": '{"title": "Buy milk"}'}
    assert "'tags' is a required property" in repair[3]["content"]


def test_chat_json_raises_clear_error_after_failed_repair():
    model = scripted_chat_model([('{"title": "x", "tags": [', {"finish_length": 1.0}), ("", {})])
    with pytest.raises(ModelError) as info:
        model.chat_json(ASK, SCHEMA)
    assert "could not produce JSON" in info.value.message
    assert "empty" in info.value.message
    assert "engram models use" in info.value.fix
    assert len(model.calls) == 2


def test_chat_json_reports_loops_and_truncation():
    model = scripted_chat_model([('{"title": "a a a a', {"repetition_stopped": 1.0}),
                                 ('{"title": "b", "tags": ["', {"finish_length": 1.0})])
    with pytest.raises(ModelError) as info:
        model.chat_json(ASK, SCHEMA)
    assert "cut off at the token limit" in info.value.message


def test_invalid_schema_is_refused_before_generating():
    model = scripted_chat_model([])
    with pytest.raises(ModelError) as info:
        model.chat_json(ASK, {"type": "no-such-type"})
    assert "schema" in info.value.message
    assert model.calls == []


def test_repetition_guard_stops_loops_but_not_varied_text():
    guard = _RepetitionGuard(prompt_len=10, min_span=24, every=1)
    varied = np.arange(10 + 200)
    assert not any(guard(varied[: n + 1], None) for n in range(10, len(varied)))
    looping = np.concatenate([np.arange(10), np.tile([5, 6, 7], 40)])
    assert any(guard(looping[: n + 1], None) for n in range(10, len(looping)))
    assert guard.triggered


def test_model_too_large_for_free_memory_is_refused(tmp_path):
    path = tmp_path / "big.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 4096)
    with pytest.raises(ModelError) as info:
        check_fits_in_memory(path, 4096, embedding=True, available=1024)
    assert "free" in info.value.message
    assert "smaller model" in info.value.fix
    assert check_fits_in_memory(path, 4096, embedding=True, available=1 << 40) > 4096


def test_default_threads_leave_one_core(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert default_threads(0) == 7
    assert default_threads(3) == 3
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_threads(0) == 1


def test_importing_core_models_does_not_import_llama_cpp():
    import subprocess

    code = "import core.models, core.models.manager, core.models.llama, core.models.cli, sys; print('llama_cpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fake_models_are_deterministic_and_scripted():
    embedder = FakeEmbedder(dimension=32, synonyms={"kitten": "cat"})
    a, b, c = embedder.embed(["the cat sleeps", "a kitten sleeping", "tax filing deadline"])
    assert float(a @ b) > float(a @ c)
    assert np.allclose(embedder.embed(["the cat sleeps"])[0], a)
    chat = FakeChatModel(['{"x": 1}', "not json"])
    assert chat.chat_json(ASK, {"type": "object"}) == {"x": 1}
    with pytest.raises(ModelError):
        chat.chat_json(ASK, {"type": "object"})
