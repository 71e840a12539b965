"""The models Engram knows by name: the shipped catalog plus the user's imported models.

The shipped catalog is ``resources/catalog.json``; models adopted with
``engram models import`` are recorded in ``<models_dir>/user-catalog.json``.
A ``CatalogEntry`` says what a model is (role, file, size, sha256, context
length, memory need), never whether it is installed -- that is the manager's job.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import NotFoundError
from core.paths import write_private
from core.resources import load_json

log = logging.getLogger(__name__)

USER_CATALOG = "user-catalog.json"
ROLES = ("chat", "embedding")


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    role: str
    file: str
    label: str = ""
    repo: str | None = None
    size: int | None = None
    sha256: str | None = None
    context_length: int | None = None
    ram_mb: int | None = None
    min_ram_gb: float | None = None
    dimension: int | None = None
    seed: bool = False
    converted: bool = False
    imported: bool = False
    notes: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, imported: bool = False) -> "CatalogEntry":
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("label", data.get("name", ""))
        if imported:
            values["imported"] = True
        return cls(extra={k: v for k, v in data.items() if k not in known and not k.startswith("_")}, **values)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data

    @property
    def downloadable(self) -> bool:
        return bool(self.repo) and not self.converted and not self.imported

    @property
    def needed_ram_bytes(self) -> int | None:
        if self.ram_mb:
            return int(self.ram_mb) * 1024 * 1024
        return None


def shipped_entries() -> list[CatalogEntry]:
    return [CatalogEntry.from_dict(item) for item in load_json("catalog.json")["models"]]


def read_user_entries(models_dir: Path) -> list[CatalogEntry]:
    path = models_dir / USER_CATALOG
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [CatalogEntry.from_dict(item, imported=True) for item in data.get("models", [])]
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        # A damaged user catalog must not hide the shipped models.
        log.warning("ignoring unreadable %s: %s", path, exc)
        return []


def write_user_entry(models_dir: Path, entry: CatalogEntry) -> None:
    """Add or replace ``entry`` (by name) in the user catalog."""
    entries = [e for e in read_user_entries(models_dir) if e.name != entry.name]
    entries.append(entry)
    models_dir.mkdir(parents=True, exist_ok=True)
    payload = {"models": [{k: v for k, v in e.as_dict().items() if k != "imported"} for e in entries]}
    write_private(models_dir / USER_CATALOG, json.dumps(payload, indent=2, sort_keys=True).encode())


class Catalog:
    """Shipped and user-imported entries; a user entry with a shipped name wins."""

    def __init__(self, models_dir: Path):
        self.models_dir = models_dir

    def entries(self) -> list[CatalogEntry]:
        merged = {e.name: e for e in shipped_entries()}
        for entry in read_user_entries(self.models_dir):
            merged[entry.name] = entry
        return list(merged.values())

    def get(self, name: str) -> CatalogEntry:
        for entry in self.entries():
            if entry.name == name:
                return entry
        raise NotFoundError(
            f"There is no model called {name!r}.",
            fix="Run 'engram models list' to see the models Engram knows, or 'engram models import PATH' to add one.",
        )

    def find(self, name: str) -> CatalogEntry | None:
        try:
            return self.get(name)
        except NotFoundError:
            return None


# A model this big needs this many cores to answer at a readable pace on a CPU (Q4 weights, llama.cpp):
# roughly two cores per GiB of weights, so a 2-core machine runs up to a 0.5B model, 8 cores a 3B one.
CORES_PER_GIB = 2.0
# The slowest generation worth recommending: below it an answer of a few sentences takes half a minute.
MIN_TOKENS_PER_SECOND = 8.0


def predicted_tokens_per_second(entry: CatalogEntry, measured: tuple[float, int] | None) -> float | None:
    """Decode speed of ``entry`` scaled from one measured on this machine, ``(tokens/s, model bytes)``.

    CPU decoding reads every weight once per token, so speed falls in proportion to the file size.
    """
    if not measured or not entry.size:
        return None
    rate, measured_size = measured
    if rate <= 0 or measured_size <= 0:
        return None
    return rate * measured_size / entry.size


def fits_this_machine(entry: CatalogEntry, total_ram_bytes: int, cpu_count: int | None = None,
                      measured: tuple[float, int] | None = None) -> bool:
    """Whether ``entry`` fits in memory and runs fast enough here (measured speed first, else cores)."""
    gib = total_ram_bytes / 1024**3
    if (entry.min_ram_gb or 0) > gib or (entry.ram_mb or 0) * 1024**2 >= total_ram_bytes / 2:
        return False
    if entry.seed:
        return True  # the smallest model, already here: nothing would run faster
    speed = predicted_tokens_per_second(entry, measured) if entry.role == "chat" else None
    if speed is not None:
        return speed >= MIN_TOKENS_PER_SECOND
    if cpu_count and entry.size:
        return entry.size / 1024**3 * CORES_PER_GIB <= cpu_count
    return True


def recommend(entries: list[CatalogEntry], role: str, total_ram_bytes: int, cpu_count: int | None = None,
              measured: tuple[float, int] | None = None) -> CatalogEntry | None:
    """The largest downloadable or seed model of ``role`` that fits this machine's memory and speed.

    ``cpu_count`` and ``measured`` (a chat model's decode speed here, as ``(tokens/s, its file size)``)
    keep a large model from being recommended to a machine that would run it at a crawl.
    """
    fitting = [
        e for e in entries
        if e.role == role and not e.imported and e.extra.get("prompt", "chat") != "plain"  # a base model: never recommended
        and fits_this_machine(e, total_ram_bytes, cpu_count, measured)
    ]
    if not fitting:
        return None
    return max(fitting, key=lambda e: (e.min_ram_gb or 0, e.size or 0))
