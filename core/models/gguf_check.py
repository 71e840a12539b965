"""Checks that a file is a usable GGUF model before Engram adopts or loads it.

``inspect_gguf`` reads the header and metadata straight from a memory map
(no weights are read; the ``gguf`` package supplies the tensor type sizes) and turns every way a file can be wrong --
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


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


# Real GGUF files nest arrays at most once (a list of token strings); metadata keys and strings are short.
MAX_ARRAY_DEPTH = 4
MAX_KEY_BYTES = 64 * 1024
MAX_STRING_BYTES = 64 * 1024 * 1024


class _Cursor:
    """Reads GGUF's little-endian fields from a memory map, skipping big arrays without decoding them.

    Every count and length is checked against the bytes left in the file before
    anything is read or looped over, and arrays nest at most ``MAX_ARRAY_DEPTH``
    deep, so a damaged or hostile header fails fast with ``struct.error``.
    """

    def __init__(self, buffer) -> None:
        self.buffer = buffer
        self.pos = 0

    def left(self) -> int:
        return len(self.buffer) - self.pos

    def unpack(self, fmt: str):
        value = struct.unpack_from(fmt, self.buffer, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self, limit: int = MAX_STRING_BYTES) -> str:
        length = self.unpack("<Q")
        if length > limit:
            raise struct.error(f"a string of {length:,} bytes (at most {limit:,})")
        end = self.pos + length
        if end > len(self.buffer):
            raise struct.error("string runs past the end of the file")
        raw = bytes(self.buffer[self.pos : end])
        self.pos = end
        return raw.decode("utf-8", errors="replace")

    def value(self, kind: int, keep_arrays: bool = False, depth: int = 0):
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise struct.error(f"arrays nested more than {MAX_ARRAY_DEPTH} deep")
            item_kind = self.unpack("<I")
            count = self.unpack("<Q")
            smallest = struct.calcsize(_SCALARS[item_kind]) if item_kind in _SCALARS else 8 if item_kind == _STRING else 12
            if count * smallest > self.left():
                raise struct.error(f"an array of {count:,} items runs past the end of the file")
            if item_kind in _SCALARS and not keep_arrays:
                self.pos += count * struct.calcsize(_SCALARS[item_kind])
                if self.pos > len(self.buffer):
                    raise struct.error("array runs past the end of the file")
                return None
            if item_kind == _STRING and not keep_arrays:
                unpack, buffer, pos = struct.unpack_from, self.buffer, self.pos
                for _ in range(count):  # vocabularies: skip each string by its length
                    pos += 8 + unpack("<Q", buffer, pos)[0]
                if pos > len(buffer):
                    raise struct.error("array runs past the end of the file")
                self.pos = pos
                return None
            items = [self.value(item_kind, keep_arrays, depth + 1) for _ in range(count)]
            return items if keep_arrays else None
        raise struct.error(f"unknown GGUF value type {kind}")


def _tensor_bytes(dims: list[int], ggml_type: int) -> int:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        raise struct.error(f"unknown tensor type {ggml_type}") from None
    count = 1
    for d in dims:
        count *= d
    return count // block * type_size


def read_header(path: Path) -> tuple[dict[str, Any], list[tuple[str, int, int]], int]:
    """(metadata without arrays, [(tensor name, offset in file, bytes)], file size) of a GGUF file.

    Parses the header directly from a memory map: the ``gguf`` package's
    reader decodes every vocabulary string into numpy objects, which takes
    seconds for a 150k-token vocabulary; this takes milliseconds.
    """
    import mmap

    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
            cursor = _Cursor(buffer)
            cursor.pos = 8
            n_tensors = cursor.unpack("<Q")
            n_kv = cursor.unpack("<Q")
            if n_tensors > 1_000_000 or n_kv > 1_000_000:
                raise struct.error("implausible tensor or key count")
            metadata: dict[str, Any] = {}
            for _ in range(n_kv):
                key = cursor.string(MAX_KEY_BYTES)
                kind = cursor.unpack("<I")
                value = cursor.value(kind)
                if value is not None:
                    metadata[key] = value
            infos = []
            for _ in range(n_tensors):
                name = cursor.string(MAX_KEY_BYTES)
                n_dims = cursor.unpack("<I")
                if n_dims > 8:
                    raise struct.error(f"a tensor with {n_dims:,} dimensions")
                dims = [cursor.unpack("<Q") for _ in range(n_dims)]
                ggml_type = cursor.unpack("<I")
                offset = cursor.unpack("<Q")
                infos.append((name, offset, _tensor_bytes(dims, ggml_type)))
            alignment = int(metadata.get("general.alignment", 32)) or 32
            data_start = -(-cursor.pos // alignment) * alignment
    return metadata, [(n, data_start + o, b) for n, o, b in infos], size


def inspect_gguf(path: str | os.PathLike) -> GgufInfo:
    """Header facts of the GGUF at ``path``; raises ModelError if it is not a complete GGUF."""
    path = Path(path)
    version = check_magic(path)
    try:
        metadata, tensors, size = read_header(path)
    except (ValueError, IndexError, struct.error, OSError, OverflowError) as exc:
        raise _not_gguf(path, f"its header is damaged or the file is truncated ({exc})") from exc
    # A truncated download keeps a valid header; the last tensor tells where the data must end.
    end = max((offset + nbytes for _, offset, nbytes in tensors), default=0)
    if end > size:
        raise _not_gguf(path, f"the file is truncated ({size} of {end} bytes)")
    architecture = metadata.get("general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise _not_gguf(path, "it declares no architecture")

    def arch_key(suffix: str) -> Any:
        return metadata.get(f"{architecture}.{suffix}")

    return GgufInfo(
        path=path,
        size=size,
        version=version,
        architecture=architecture,
        name=metadata.get("general.name"),
        context_length=arch_key("context_length"),
        embedding_length=arch_key("embedding_length"),
        block_count=arch_key("block_count"),
        file_type=metadata.get("general.file_type"),
        pooling_type=arch_key("pooling_type"),
        causal=arch_key("attention.causal"),
        chat_template="tokenizer.chat_template" in metadata,
        tensor_count=len(tensors),
        metadata={k: v for k, v in metadata.items() if k != "tokenizer.chat_template"},
    )


def check_loads(path: str | os.PathLike, role: str) -> None:
    """Open the model with llama.cpp (vocabulary and weights, tiny context) and close it again."""
    from core.models.llama import open_llama

    llm = open_llama(Path(path), n_ctx=64 if role == "chat" else 0, embedding=(role == "embedding"), n_threads=1)
    llm.close()
