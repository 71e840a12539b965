"""The two model interfaces Engram depends on, and deterministic fakes.

``ChatModel`` and ``Embedder`` are small abstract classes: one real
implementation each (llama.cpp, in ``core.models.llama``) and one fake each,
used by unit tests and by the engine when a test injects them.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterator, Sequence, TypedDict

import numpy as np

from core.errors import ModelError


class Message(TypedDict):
    role: str  # "system", "user" or "assistant"
    content: str


class ChatModel(ABC):
    """A local chat model.

    Implementations must be safe to call from one worker thread at a time; the
    engine serialises calls.  ``chat_json`` returns a value that satisfies
    ``schema`` or raises ``ModelError`` -- never an empty stand-in.
    """

    name: str = "chat-model"
    context_length: int = 4096

    @abstractmethod
    def chat(self, messages: Sequence[Message], *, max_tokens: int = 256, temperature: float = 0.0) -> str:
        """The assistant's reply to ``messages``."""

    def stream_chat(
        self, messages: Sequence[Message], *, max_tokens: int = 256, temperature: float = 0.0
    ) -> Iterator[str]:
        """The reply in pieces as they are generated; by default one piece."""
        yield self.chat(messages, max_tokens=max_tokens, temperature=temperature)

    @abstractmethod
    def chat_json(self, messages: Sequence[Message], schema: dict, *, max_tokens: int = 512) -> Any:
        """A reply constrained to and validated against the JSON ``schema``."""

    def count_tokens(self, text: str) -> int:
        """An estimate of how many tokens ``text`` takes; subclasses may be exact."""
        return max(1, len(text) // 4)

    def close(self) -> None:
        """Release the model's memory."""


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors of a fixed dimension."""

    name: str = "embedder"
    dimension: int = 0

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dimension), each row L2-normalised."""

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def close(self) -> None:
        """Release the model's memory."""


_WORD = re.compile(r"\w+", re.UNICODE)


def _stem(word: str) -> str:
    for suffix in ("ingly", "edly", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


class FakeEmbedder(Embedder):
    """A deterministic bag-of-concepts embedder for tests.

    Each word (lowercased, crudely stemmed) is mapped to a concept -- itself,
    or the concept given in ``synonyms`` -- and hashed into a signed feature
    vector.  Texts sharing words or synonymous words come out close; the rest
    are nearly orthogonal.  ``synonyms`` lets a test stand in for meaning.
    """

    def __init__(self, dimension: int = 384, synonyms: dict[str, str] | None = None, name: str | None = None):
        self.dimension = dimension
        self.synonyms = {k.lower(): v.lower() for k, v in (synonyms or {}).items()}
        self.name = name or f"fake-embedder-{dimension}"
        self.calls = 0
        self._lock = threading.Lock()

    def _concept_vector(self, concept: str) -> np.ndarray:
        digest = hashlib.blake2b(concept.encode(), digest_size=16).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        return rng.standard_normal(self.dimension).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                concept = self.synonyms.get(word) or self.synonyms.get(_stem(word)) or _stem(word)
                out[row] += self._concept_vector(concept)
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                out[row] = self._concept_vector("\x00empty")
                norm = float(np.linalg.norm(out[row]))
            out[row] /= norm
        return out


Responder = Callable[[Sequence[Message], "dict | None"], Any]


class FakeChatModel(ChatModel):
    """A scripted chat model for tests.

    ``responses`` is either a list consumed in order (each item a string, a
    JSON-able value for ``chat_json``, or an exception instance to raise) or a
    callable ``(messages, schema) -> reply``.  Every call is recorded in
    ``calls`` so tests can assert what the model was asked.
    """

    def __init__(self, responses: list | Responder | None = None, name: str = "fake-chat", context_length: int = 4096):
        self.name = name
        self.context_length = context_length
        self._responses = responses if responses is not None else []
        self.calls: list[dict] = []
        self._lock = threading.Lock()

    def _next(self, messages: Sequence[Message], schema: dict | None) -> Any:
        with self._lock:
            self.calls.append({"messages": [dict(m) for m in messages], "schema": schema})
            if callable(self._responses):
                reply = self._responses(messages, schema)
            elif self._responses:
                reply = self._responses.pop(0)
            else:
                raise ModelError("The fake chat model has no scripted reply left.", fix="Script more replies in the test.")
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def chat(self, messages: Sequence[Message], *, max_tokens: int = 256, temperature: float = 0.0) -> str:
        reply = self._next(messages, None)
        return reply if isinstance(reply, str) else json.dumps(reply)

    def stream_chat(
        self, messages: Sequence[Message], *, max_tokens: int = 256, temperature: float = 0.0
    ) -> Iterator[str]:
        text = self.chat(messages, max_tokens=max_tokens, temperature=temperature)
        for piece in re.findall(r"\S+\s*|\s+", text):
            yield piece

    def chat_json(self, messages: Sequence[Message], schema: dict, *, max_tokens: int = 512) -> Any:
        reply = self._next(messages, schema)
        if isinstance(reply, str):
            try:
                reply = json.loads(reply)
            except ValueError as exc:
                raise ModelError(
                    f"The model {self.name} did not return valid JSON.",
                    fix="Choose a larger chat model in Models.",
                ) from exc
        return reply
