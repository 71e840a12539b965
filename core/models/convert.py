"""Engram's own converter: a BERT sentence-embedding checkpoint (safetensors) to GGUF.

Only numpy, ``safetensors`` and the ``gguf`` package are used -- no torch.  The
output is what llama.cpp's BERT architecture expects: its tensor names, the
WordPiece vocabulary in llama.cpp's "phantom space" form (word starts carry
U+2581, ``##`` continuations lose their marker), non-causal attention and the
pooling declared by the sentence-transformers ``1_Pooling/config.json``.

The conversion is deterministic: the same inputs and the same ``gguf``
package give a byte-identical file, so its sha256 can be pinned.  Matrices are
stored as f16 (``dtype="f16"``) or f32; biases and norms always stay f32, as
llama.cpp's own converter does.

Run ``python -m core.models.convert SRC_DIR OUT.gguf`` to convert by hand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from core.errors import ModelError

# Hugging Face BERT parameter name (after the optional "bert." prefix) -> llama.cpp name.
_GLOBAL_TENSORS = {
    "embeddings.word_embeddings.weight": "token_embd.weight",
    "embeddings.position_embeddings.weight": "position_embd.weight",
    "embeddings.token_type_embeddings.weight": "token_types.weight",
    "embeddings.LayerNorm.weight": "token_embd_norm.weight",
    "embeddings.LayerNorm.bias": "token_embd_norm.bias",
}
_LAYER_TENSORS = {
    "attention.self.query": "attn_q",
    "attention.self.key": "attn_k",
    "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output",
    "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up",
    "output.dense": "ffn_down",
    "output.LayerNorm": "layer_output_norm",
}
# Parts of a BERT checkpoint that an embedding model does not use.
_SKIPPED_PREFIXES = ("pooler.", "cls.", "embeddings.position_ids")

# Tensors llama.cpp reads with get_rows in f32 regardless of file type.
_KEEP_F32 = {"token_types.weight"}

# GGUF token types (gguf.TokenType) without importing gguf at module import.
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED = 1, 2, 3, 4, 5

_POOLING = {"mean": 1, "cls": 2, "last": 3}

# Roles llama.cpp knows for a WordPiece vocabulary; BERT's [CLS] plays the part of BOS.
_SPECIALS = {"bos": "[CLS]", "sep": "[SEP]", "unk": "[UNK]", "pad": "[PAD]", "mask": "[MASK]"}


def gguf_tensor_name(hf_name: str) -> str | None:
    """The llama.cpp name of a Hugging Face BERT parameter, or None to drop it."""
    if hf_name.startswith("bert."):
        hf_name = hf_name[len("bert.") :]
    if hf_name.endswith(".gamma"):
        hf_name = hf_name[: -len(".gamma")] + ".weight"
    elif hf_name.endswith(".beta"):
        hf_name = hf_name[: -len(".beta")] + ".bias"
    if hf_name.startswith(_SKIPPED_PREFIXES):
        return None
    if hf_name in _GLOBAL_TENSORS:
        return _GLOBAL_TENSORS[hf_name]
    parts = hf_name.split(".")
    # encoder.layer.{i}.<module path>.{weight|bias}
    if len(parts) >= 5 and parts[0] == "encoder" and parts[1] == "layer" and parts[2].isdigit():
        module = ".".join(parts[3:-1])
        target = _LAYER_TENSORS.get(module)
        if target is not None:
            return f"blk.{int(parts[2])}.{target}.{parts[-1]}"
    raise ModelError(
        f"The BERT checkpoint has a tensor Engram does not know how to convert: {hf_name}.",
        fix="Only plain BERT sentence-embedding models (such as all-MiniLM-L6-v2) can be converted.",
    )


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"The model folder is missing {path.name} ({path}).",
            fix="Prepare the seed models again with 'python -m core.models.seed prepare'.",
        ) from None
    except ValueError as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}.", fix="Prepare the seed models again.") from exc


def wordpiece_vocab(tokenizer_json: dict) -> tuple[list[str], list[int]]:
    """Tokens in llama.cpp phantom-space form and their GGUF token types, by id."""
    model = tokenizer_json.get("model") or {}
    if model.get("type") != "WordPiece":
        raise ModelError(
            f"The tokenizer is {model.get('type')!r}, not WordPiece.",
            fix="Only BERT models with a WordPiece tokenizer can be converted.",
        )
    vocab: dict[str, int] = model["vocab"]
    size = max(vocab.values()) + 1
    added = {entry["id"]: entry for entry in tokenizer_json.get("added_tokens", [])}
    size = max(size, max(added, default=-1) + 1)
    tokens: list[str] = [f"[PAD{i}]" for i in range(size)]
    types: list[int] = [_UNUSED] * size
    for text, token_id in vocab.items():
        tokens[token_id] = text
        types[token_id] = _NORMAL
    for token_id, entry in added.items():
        tokens[token_id] = entry["content"]
        types[token_id] = _CONTROL if entry.get("special") else _USER_DEFINED
    unk = model.get("unk_token")
    prefix = model.get("continuing_subword_prefix", "##")
    for token_id, text in enumerate(tokens):
        if types[token_id] == _CONTROL:
            if text == unk:
                types[token_id] = _UNKNOWN
            continue
        if types[token_id] == _UNUSED:
            continue
        tokens[token_id] = text[len(prefix) :] if text.startswith(prefix) else "\u2581" + text
    return tokens, types


def _special_ids(tokenizer_json: dict) -> dict[str, int]:
    by_text = {entry["content"]: entry["id"] for entry in tokenizer_json.get("added_tokens", [])}
    by_text.update({k: v for k, v in (tokenizer_json.get("model") or {}).get("vocab", {}).items() if k in _SPECIALS.values()})
    return {role: by_text[text] for role, text in _SPECIALS.items() if text in by_text}



def _pooling_type(src: Path) -> int:
    pooling_file = src / "1_Pooling" / "config.json"
    if not pooling_file.exists():
        return _POOLING["mean"]
    config = _read_json(pooling_file)
    if config.get("pooling_mode_mean_tokens"):
        return _POOLING["mean"]
    if config.get("pooling_mode_cls_token"):
        return _POOLING["cls"]
    if config.get("pooling_mode_lasttoken"):
        return _POOLING["last"]
    raise ModelError(
        f"The pooling in {pooling_file} is not supported by llama.cpp.",
        fix="Convert a model that uses mean or CLS pooling.",
    )


def _iter_tensors(safetensors_path: Path) -> Iterator[tuple[str, np.ndarray]]:
    from safetensors import safe_open

    with safe_open(str(safetensors_path), framework="numpy") as handle:
        for key in sorted(handle.keys()):
            yield key, handle.get_tensor(key)


def convert_bert(src: str | os.PathLike, out: str | os.PathLike, *, dtype: str = "f16", name: str | None = None) -> Path:
    """Write ``out`` (GGUF) from the BERT checkpoint in folder ``src``; returns ``out``.

    ``src`` holds ``config.json``, ``model.safetensors``, ``tokenizer.json``
    and optionally ``1_Pooling/config.json``.  The file is written beside
    ``out`` under a temporary name and renamed when complete.
    """
    import gguf

    if dtype not in ("f16", "f32"):
        raise ValueError(f"dtype must be 'f16' or 'f32', not {dtype!r}")
    src = Path(src)
    out = Path(out)
    config = _read_json(src / "config.json")
    if config.get("model_type") != "bert" and "BertModel" not in config.get("architectures", []):
        raise ModelError(
            f"{src} holds a {config.get('model_type')!r} model, not BERT.",
            fix="Only BERT sentence-embedding models can be converted.",
        )
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ModelError("Only absolute position embeddings are supported.", fix="Convert a plain BERT model.")
    tokenizer_json = _read_json(src / "tokenizer.json")
    tokens, token_types = wordpiece_vocab(tokenizer_json)
    specials = _special_ids(tokenizer_json)
    normalizer = tokenizer_json.get("normalizer") or {}
    lowercase = bool(normalizer.get("lowercase", True))
    strip_accents = normalizer.get("strip_accents")
    strip_accents = lowercase if strip_accents is None else bool(strip_accents)

    tmp = out.with_name(out.name + ".part")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(tmp), "bert")
    try:
        writer.add_name(name or src.name)
        writer.add_context_length(int(config["max_position_embeddings"]))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_feed_forward_length(int(config["intermediate_size"]))
        writer.add_block_count(int(config["num_hidden_layers"]))
        writer.add_head_count(int(config["num_attention_heads"]))
        writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
        writer.add_causal_attention(False)
        writer.add_pooling_type(gguf.PoolingType(_pooling_type(src)))
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32)

        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_types(token_types)
        writer.add_token_type_count(int(config.get("type_vocab_size", 2)))
        writer.add_bool("tokenizer.ggml.normalizer.lowercase", lowercase)
        writer.add_bool("tokenizer.ggml.normalizer.strip_accents", strip_accents)
        if "bos" in specials:
            writer.add_bos_token_id(specials["bos"])
        for role in ("sep", "unk", "pad", "mask"):
            if role in specials:
                getattr(writer, f"add_{role}_token_id")(specials[role])
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(False)
        writer.add_add_sep_token(True)

        n_layers = int(config["num_hidden_layers"])
        seen: set[str] = set()
        for hf_name, array in _iter_tensors(src / "model.safetensors"):
            target = gguf_tensor_name(hf_name)
            if target is None:
                continue
            if target.startswith("blk.") and int(target.split(".")[1]) >= n_layers:
                raise ModelError(f"Tensor {hf_name} is beyond the {n_layers} declared layers.", fix="Check config.json.")
            array = np.ascontiguousarray(array.astype(np.float32))
            if dtype == "f16" and array.ndim == 2 and target not in _KEEP_F32:
                array = array.astype(np.float16)
            writer.add_tensor(target, array)
            seen.add(target)
        missing = {"token_embd.weight", "position_embd.weight", "token_embd_norm.weight"} - seen
        if missing:
            raise ModelError(
                f"The checkpoint lacks tensors llama.cpp needs: {', '.join(sorted(missing))}.",
                fix="Use a complete BERT checkpoint.",
            )
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m core.models.convert", description=__doc__.splitlines()[0])
    parser.add_argument("src", help="folder with config.json, model.safetensors and tokenizer.json")
    parser.add_argument("out", help="the GGUF file to write")
    parser.add_argument("--dtype", choices=("f16", "f32"), default="f16")
    args = parser.parse_args(argv)
    path = convert_bert(args.src, args.out, dtype=args.dtype)
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
