"""Synthetic memories in bulk for benchmarks: Zipf-distributed words, bag-of-words vectors, direct inserts.

Inserting 100k memories one ``MemoryStore.add`` at a time takes minutes, so the
benchmarks fill the same tables in large transactions through ``core.store.bulk``.
The rows are exactly what the store writes (registry, type table, FTS, vectors),
so searches behave as on a real store.
"""

from __future__ import annotations

import time

import numpy as np

from core.models.base import Embedder
from core.store import bulk

VOCAB_SIZE = 20_000
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "da", "gu", "fe", "ri", "zo", "be", "xa", "ho", "ju", "ly", "wo"]


def vocabulary(size: int = VOCAB_SIZE, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES, size=rng.integers(2, 5))))
    return sorted(words)


class BagEmbedder(Embedder):
    """Sum of fixed random word vectors; fast enough to embed 100k texts in seconds."""

    def __init__(self, words: list[str], dimension: int = 384, seed: int = 11):
        self.name = f"bench-bag-{dimension}"
        self.dimension = dimension
        rng = np.random.default_rng(seed)
        self.index = {w: i for i, w in enumerate(words)}
        self.table = rng.standard_normal((len(words) + 1, dimension)).astype(np.float32)

    def embed(self, texts):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = [self.index.get(w, len(self.index)) for w in text.lower().split()]
            out[row] = self.table[ids].sum(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def sentences(count: int, words: list[str], seed: int = 3, length: tuple[int, int] = (8, 25)) -> list[str]:
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, len(words) + 1)
    probabilities = (1.0 / ranks) / (1.0 / ranks).sum()
    lengths = rng.integers(length[0], length[1], size=count)
    picks = rng.choice(len(words), size=int(lengths.sum()), p=probabilities)
    out, position = [], 0
    for n in lengths:
        out.append(" ".join(words[i] for i in picks[position : position + n]))
        position += n
    return out


def fill_memories(engine, count: int, embedder: BagEmbedder, words: list[str], *, batch: int = 5000, start_ts: float = 1.7e9) -> float:
    """Insert ``count`` semantic/episodic memories; returns seconds taken."""
    began = time.perf_counter()
    bulk.prepare_vectors(engine.store, embedder.name, embedder.dimension)
    texts = sentences(count, words)
    for offset in range(0, count, batch):
        chunk = texts[offset : offset + batch]
        items = []
        for i, text in enumerate(chunk):
            n = offset + i
            ts = start_ts + n * 60.0
            if n % 3 == 0:
                items.append(("episodic", {"occurred_at": ts, "summary": text}, ts))
            else:
                items.append(("semantic", {"name": text.split()[0], "summary": text}, ts))
        bulk.load_memories(engine.store, items, embedder.embed(chunk), embedder.name)
    return time.perf_counter() - began


def fill_observations(engine, count: int, words: list[str], *, batch: int = 10000, start_ts: float = 1.7e9) -> float:
    """Insert ``count`` screen observations (text only, vectors left out); returns seconds."""
    began = time.perf_counter()
    texts = sentences(count, words, seed=5, length=(20, 60))
    apps = ["Firefox", "LibreOffice Calc", "Terminal", "Thunderbird", "Code"]
    for offset in range(0, count, batch):
        items = []
        for i, text in enumerate(texts[offset : offset + batch]):
            n = offset + i
            app = apps[n % len(apps)]
            items.append({"kind": "screen", "ts": start_ts + n * 3.0, "app": app, "window_title": f"{app} window {n % 97}",
                          "text": text})
        bulk.load_observations(engine.store, items, absorbed_at=start_ts, embedded_with="skip")
    return time.perf_counter() - began
