"""The real seed models through llama.cpp: structured output, embeddings, the converter check, KV reuse."""

from __future__ import annotations

import jsonschema
import numpy as np
import pytest

from tests.conftest import seed_models_dir

pytestmark = pytest.mark.integration

SEED = seed_models_dir()
CHAT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBED_FILE = "all-MiniLM-L6-v2-f16.gguf"
SOURCE = "sources/all-MiniLM-L6-v2"


def _need(*relative: str):
    if SEED is None:
        pytest.skip("seed models missing: run 'make setup' (python -m core.models.seed prepare --dest .models)")
    for rel in relative:
        if not (SEED / rel).exists():
            pytest.skip(f"seed file {rel} missing in {SEED}: run 'python -m core.models.seed prepare'")


@pytest.fixture(scope="module")
def chat_model():
    _need(CHAT_FILE)
    from core.models.llama import LlamaChatModel

    model = LlamaChatModel(SEED / CHAT_FILE, name="smollm2", context_length=2048)
    yield model
    model.close()


@pytest.fixture(scope="module")
def embedder():
    _need(EMBED_FILE)
    from core.models.llama import LlamaEmbedder

    model = LlamaEmbedder(SEED / EMBED_FILE)
    yield model
    model.close()


SENTENCES = [
    "The cat sits on the mat.",
    "Quarterly tax filings are due in April.",
    "Héllo wörld, naïve café!",
    "def square(x): return x ** 2  # squares a number",
    "I met Dr. O'Neil at 3:45pm on 2024-01-05 in São Paulo.",
    "Remember to buy milk, eggs and bread on the way home.",
    "The meeting moved to Thursday because the client was unavailable.",
    "東京は日本の首都です。",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
    "git rebase -i HEAD~3 && git push --force-with-lease origin main",
]


def test_chat_json_returns_schema_valid_json(chat_model):
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "country": {"type": "string"},
            "population_millions": {"type": "number"},
        },
        "required": ["city", "country", "population_millions"],
        "additionalProperties": False,
    }
    messages = [
        {"role": "system", "content": "You extract facts as JSON."},
        {"role": "user", "content": "Paris is the capital of France; about 2.1 million people live there."},
    ]
    value = chat_model.chat_json(messages, schema, max_tokens=96)
    jsonschema.validate(value, schema)
    assert value["city"].strip()


def test_chat_json_with_enum_and_array(chat_model):
    schema = {
        "type": "object",
        "properties": {
            "kind": {"enum": ["task", "event", "fact"]},
            "items": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["kind", "items"],
    }
    messages = [{"role": "user", "content": "Classify: 'Buy milk and eggs tomorrow.' List the items."}]
    value = chat_model.chat_json(messages, schema, max_tokens=96)
    jsonschema.validate(value, schema)


def test_fast_grammar_path_matches_llama_cpp_grammar_sampling(chat_model):
    """Checking the grammar against the greedy token first must not change what is generated."""
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    messages = [{"role": "user", "content": "Alice is 31 years old. Give her name and age as JSON."}]
    grammar = chat_model._grammar_for(schema)
    fast, _ = chat_model._decode_with_grammar(messages, grammar, 48)
    reference = "".join(chat_model._generate(messages, max_tokens=48, temperature=0.0, grammar=grammar, repeat_penalty=1.0))
    assert fast == reference


def test_chat_and_stream_agree(chat_model):
    messages = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a primary colour."}]
    whole = chat_model.chat(messages, max_tokens=16)
    pieces = list(chat_model.stream_chat(messages, max_tokens=16))
    assert whole.strip()
    assert "".join(pieces) == whole
    assert chat_model.count_tokens("hello world") >= 2


def test_restored_system_prompt_state_gives_identical_output(chat_model):
    first_system = {"role": "system", "content": "You are a terse assistant. Reply in at most ten words."}
    other_system = {"role": "system", "content": "You are a poet who answers in rhymes about the sea."}
    question = {"role": "user", "content": "What is a keyboard?"}
    chat_model.clear_prefix_cache()
    fresh = chat_model.chat([first_system, question], max_tokens=24)
    chat_model.chat([other_system, {"role": "user", "content": "Hello"}], max_tokens=8)
    assert len(chat_model._prefix_states) == 2
    restored = chat_model.chat([first_system, question], max_tokens=24)
    assert restored == fresh


def test_long_prompt_is_refused_with_a_fix(chat_model):
    from core.errors import ModelError

    with pytest.raises(ModelError) as info:
        chat_model.chat([{"role": "user", "content": "word " * 3000}])
    assert "too long" in info.value.message


def test_similar_sentences_embed_closer_than_unrelated(embedder):
    a, b, c, d = embedder.embed([
        "The cat is sleeping on the sofa.",
        "A kitten naps on the couch.",
        "The quarterly tax return is due next week.",
        "Stock markets fell sharply after the announcement.",
    ])
    assert embedder.dimension == 384
    assert np.allclose(np.linalg.norm([a, b, c, d], axis=1), 1.0, atol=1e-5)
    assert float(a @ b) > float(a @ c) + 0.2
    assert float(a @ b) > float(a @ d) + 0.2


def test_converter_matches_numpy_reference(tmp_path):
    """Engram's GGUF, run by llama.cpp, agrees with an independent numpy BERT on the original weights."""
    _need(f"{SOURCE}/model.safetensors", f"{SOURCE}/tokenizer.json")
    from core.models.convert import convert_bert
    from core.models.llama import LlamaEmbedder
    from core.models.reference import NumpyBert
    from core.models.seed import EMBED_GGUF_SHA256, sha256_file

    out = convert_bert(SEED / SOURCE, tmp_path / "minilm.gguf", dtype="f16", name="all-MiniLM-L6-v2")
    assert sha256_file(out) == EMBED_GGUF_SHA256, "conversion is no longer byte-for-byte reproducible"
    model = LlamaEmbedder(out)
    try:
        ours = model.embed(SENTENCES)
    finally:
        model.close()
    reference = NumpyBert(SEED / SOURCE).embed(SENTENCES)
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() >= 0.999, cosines


def test_manager_runs_seed_models_end_to_end(paths):
    _need(CHAT_FILE, EMBED_FILE)
    from core.events import EventBus
    from core.models.manager import ModelManager
    from core.settings import Settings

    events = EventBus()
    loaded = []
    events.subscribe("model_did_load", lambda role, name: loaded.append(role))
    manager = ModelManager(paths, Settings(paths, events), events, seed_dirs=[SEED])
    try:
        vectors = manager.embedder().embed(["hello", "world"])
        assert vectors.shape == (2, 384)
        reply = manager.chat_model().chat([{"role": "user", "content": "Say hi."}], max_tokens=8)
        assert reply.strip()
        status = manager.status()
        assert status["chat"]["loaded"] and status["embedding"]["loaded"]
        assert status["chat"]["load_seconds"] > 0
        assert sorted(loaded) == ["chat", "embedding"]
    finally:
        manager.close()
    assert manager.status()["chat"]["loaded"] is False


def test_import_checks_that_the_model_loads(paths, tmp_path):
    _need(EMBED_FILE)
    import shutil

    from core.models.manager import ModelManager
    from core.settings import Settings

    copy = tmp_path / "my-encoder.gguf"
    shutil.copyfile(SEED / EMBED_FILE, copy)
    manager = ModelManager(paths, Settings(paths), seed_dirs=[])
    try:
        entry = manager.import_file(copy)
        assert entry.role == "embedding" and entry.dimension == 384
        manager.use(entry.name)
        assert manager.embedder().embed(["x"]).shape == (1, 384)
    finally:
        manager.close()
