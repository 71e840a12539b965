"""Checks that a file is a usable GGUF model before Engram adopts or loads it.

``inspect_gguf`` reads the header and metadata with the ``gguf`` package (a
memory map; no weights are read) and turns every way a file can be wrong --
missing, not GGUF, truncated, unknown role -- into a ``ModelError`` with a fix.
``check_loads`` goes one step further and asks llama.cpp to open the file.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ModelError

GGUF_MAGIC = b"GGUF"

# Architectures llama.cpp runs as sentence embedders rather than chat models.
EMBEDDING_ARCHITECTURES = frozenset(
    {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "modern-bert", "neo-bert", "eurobert",
     "t5encoder", "gemma-embedding"}
)


@dataclass
class GgufInfo:
    path: Path
    size: int
    version: int
    architecture: str
    name: str | None = None
    context_length: int | None = None
    embedding_length: int | None = None
    block_count: int | None = None
    file_type: int | None = None
    pooling_type: int | None = None
    causal: bool | None = None
    chat_template: bool = False
    tensor_count: int = 0
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def role(self) -> str:
        """'embedding' for encoder architectures or models declaring pooling, else 'chat'."""
        if self.architecture in EMBEDDING_ARCHITECTURES:
            return "embedding"
        if self.pooling_type not in (None, 0) and not self.chat_template:
            return "embedding"
        return "chat"


def _not_gguf(path: Path, detail: str) -> ModelError:
    return ModelError(
        f"{path} is not a usable GGUF model file: {detail}.",
        fix="Download the model again, or pick the .gguf file itself (not a folder, archive or safetensors file).",
    )


def check_magic(path: str | os.PathLike) -> int:
    """The GGUF version of ``path``; raises ModelError when it is missing or not GGUF."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"The model file {path} does not exist.", fix="Check the path, or run 'engram models list'.")
    if not path.is_file():
        raise _not_gguf(path, "it is not a regular file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.", fix="Check the file's permissions.") from exc
    if len(head) < 8 or head[:4] != GGUF_MAGIC:
        raise _not_gguf(path, "it does not start with the GGUF signature")
    version = struct.unpack("<I", head[4:8])[0]
    if version not in (2, 3):
        raise _not_gguf(path, f"GGUF version {version} is not supported")
    return version


def _field_value(reader, key: str) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return None
    try:
        return f.contents()
    except Exception:  # an odd field must not make a readable model unreadable
        return None


def inspect_gguf(path: str | os.PathLike) -> GgufInfo:
    """Header facts of the GGUF at ``path``; raises ModelError if it is not a complete GGUF."""
    path = Path(path)
    version = check_magic(path)
    try:
        from gguf import GGUFReader

        reader = GGUFReader(str(path), "r")
    except (ValueError, IndexError, struct.error, OSError) as exc:
        raise _not_gguf(path, f"its header is damaged or the file is truncated ({exc})") from exc
    size = path.stat().st_size
    # A truncated download keeps a valid header; the last tensor tells where the data must end.
    end = 0
    for tensor in reader.tensors:
        end = max(end, int(tensor.data_offset) + int(tensor.n_bytes))
    if end > size:
        raise _not_gguf(path, f"the file is truncated ({size} of {end} bytes)")
    architecture = _field_value(reader, "general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise _not_gguf(path, "it declares no architecture")

    def arch_key(suffix: str) -> Any:
        return _field_value(reader, f"{architecture}.{suffix}")

    metadata = {}
    for key in reader.fields:
        if key.startswith("tokenizer.ggml.") and key not in ("tokenizer.ggml.model", "tokenizer.ggml.pre"):
            continue  # token lists are large and useless here
        value = _field_value(reader, key)
        if isinstance(value, (str, int, float, bool)):
            metadata[key] = value
    return GgufInfo(
        path=path,
        size=size,
        version=version,
        architecture=architecture,
        name=_field_value(reader, "general.name"),
        context_length=arch_key("context_length"),
        embedding_length=arch_key("embedding_length"),
        block_count=arch_key("block_count"),
        file_type=_field_value(reader, "general.file_type"),
        pooling_type=arch_key("pooling_type"),
        causal=arch_key("attention.causal"),
        chat_template=_field_value(reader, "tokenizer.chat_template") is not None,
        tensor_count=len(reader.tensors),
        metadata=metadata,
    )


def check_loads(path: str | os.PathLike, role: str) -> None:
    """Open the model with llama.cpp (vocabulary and weights, tiny context) and close it again."""
    from core.models.llama import open_llama

    llm = open_llama(Path(path), n_ctx=64 if role == "chat" else 0, embedding=(role == "embedding"), n_threads=1)
    llm.close()
