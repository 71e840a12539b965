"""An independent pure-numpy forward pass of a BERT sentence-embedding model.

This is the yardstick for ``core.models.convert``: it reads the original
safetensors weights and the Hugging Face ``tokenizer.json`` (through the
``tokenizers`` package) and computes what sentence-transformers would --
embeddings, post-norm encoder layers with exact (erf) GELU, mean pooling over
the attention mask and L2 normalisation -- without llama.cpp or torch.  It
is slow and meant for checks, not for use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7: close enough to
    # torch's exact GELU for a float32 reference.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class NumpyBert:
    """BERT weights from ``src`` (a sentence-transformers folder) and a forward pass over them."""

    def __init__(self, src: str | os.PathLike, max_tokens: int = 256):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        src = Path(src)
        self.config = json.loads((src / "config.json").read_text(encoding="utf-8"))
        raw = load_file(str(src / "model.safetensors"))
        self.weights = {k.removeprefix("bert."): v.astype(np.float64) for k, v in raw.items()}
        self.tokenizer = Tokenizer.from_file(str(src / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self.heads = int(self.config["num_attention_heads"])
        self.eps = float(self.config.get("layer_norm_eps", 1e-12))

    def token_ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def _dense(self, x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ self.weights[f"{prefix}.weight"].T + self.weights[f"{prefix}.bias"]

    def hidden_states(self, ids: Sequence[int]) -> np.ndarray:
        """The last layer's output for one sequence of token ids, shape (tokens, hidden)."""
        w = self.weights
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][list(ids)]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        hidden = x.shape[1]
        head_dim = hidden // self.heads
        for layer in range(int(self.config["num_hidden_layers"])):
            p = f"encoder.layer.{layer}"
            q = self._dense(x, f"{p}.attention.self.query").reshape(n, self.heads, head_dim).transpose(1, 0, 2)
            k = self._dense(x, f"{p}.attention.self.key").reshape(n, self.heads, head_dim).transpose(1, 0, 2)
            v = self._dense(x, f"{p}.attention.self.value").reshape(n, self.heads, head_dim).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(head_dim)
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(1, 0, 2).reshape(n, hidden)
            attn = self._dense(context, f"{p}.attention.output.dense")
            x = layer_norm(x + attn, w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"], self.eps)
            ff = gelu(self._dense(x, f"{p}.intermediate.dense"))
            ff = self._dense(ff, f"{p}.output.dense")
            x = layer_norm(x + ff, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], self.eps)
        return x

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence embeddings, shape (len(texts), hidden), float32."""
        rows = []
        for text in texts:
            pooled = self.hidden_states(self.token_ids(text)).mean(axis=0)
            rows.append(pooled / np.linalg.norm(pooled))
        return np.asarray(rows, dtype=np.float32)
