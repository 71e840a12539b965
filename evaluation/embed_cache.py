"""An embedder wrapper that remembers vectors on disk, for repeated evaluations.

Embedding every LoCoMo turn takes minutes on a CPU and gives the same vectors
each run, so the evaluation harness and the bench wrap the real embedder in a
``CachingEmbedder``.  Vectors are keyed by the wrapped embedder's name and a
hash of the exact text, so a different model or a changed text never reuses a
stale vector.  The cache is a plain ``.npz`` file written with ``save()``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from core.models.base import Embedder

log = logging.getLogger(__name__)


def _key(model: str, text: str) -> str:
    return hashlib.blake2b(f"{model}\x1f{text}".encode(), digest_size=16).hexdigest()


class CachingEmbedder(Embedder):
    """Wraps ``inner``; texts seen before (in this run or a saved cache) are not embedded again."""

    def __init__(self, inner: Embedder, path: str | os.PathLike | None = None):
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.path = Path(path) if path else None
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if self.path is not None and self.path.exists():
            try:
                with np.load(self.path) as data:
                    keys, vectors = data["keys"], data["vectors"]
                self._vectors = {str(k): v for k, v in zip(keys, vectors)}
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable embedding cache %s: %s", self.path, exc)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [_key(self.name, t) for t in texts]
        missing = sorted({(k, t) for k, t in zip(keys, texts) if k not in self._vectors})
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = self.inner.embed([t for _, t in missing])
            self.dimension = int(vectors.shape[1])
            for (k, _), v in zip(missing, vectors):
                self._vectors[k] = np.asarray(v, dtype=np.float32)
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        """Write the cache file (atomically) if anything new was embedded."""
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype="U32")
        vectors = np.stack(list(self._vectors.values())).astype(np.float32)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        os.replace(tmp, self.path)
        self._dirty = False

    def close(self) -> None:
        self.save()
        self.inner.close()
