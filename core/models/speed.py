"""How fast chat models run on this computer, and which one to recommend for it.

Absorbing a batch of observations is the chat model's heaviest regular work: at most two calls,
about ``ABSORB_BATCH`` tokens read and written.  Memory alone says which models *load*; it does not
say which ones keep up.  So Engram measures: a fixed prompt through an installed chat model gives
its prompt (prefill) and generation (decode) speed in tokens per second on this machine, kept in
``<models folder>/speed.json``.  Another model's speed is predicted from that one in proportion to
file size (on a CPU every weight is read for each generated token, and prefill work grows with the
weights too).  The recommended chat model is the largest instruction-tuned model that fits in
memory and whose predicted batch stays under ``BATCH_SECONDS_LIMIT``; without a measurement the
recommendation falls back to memory alone and says so.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.models.catalog import CatalogEntry, recommend as recommend_by_memory
from core.paths import write_private

log = logging.getLogger(__name__)

SPEED_FILE = "speed.json"
BATCH_SECONDS_LIMIT = 20.0
MEASURE_MAX_TOKENS = 48
# The measuring prompt: everyday text of about 250 tokens, as absorb sends.
_MEASURE_TEXT = (
    "Notes from the week. Monday: finished the quarterly report and sent it to Ingrid for review; she wants the "
    "budget table split by region before Thursday. Tuesday: dentist at 9:15, then worked from the library because "
    "the office wifi was down again. Booked the train to Leeds for the 14th, seat 42 in coach C, window side. "
    "Wednesday: team lunch at the Thai place on Mill Lane; Siobhan is coeliac, so we checked the menu first. "
    "Thursday: the deploy failed twice, the fix was to clear the build cache, then run make build and rsync the "
    "public folder to the server. Friday: called the plumber about the boiler, he comes on Monday after 8. "
    "Remember to renew the parking permit before the end of the month and to send Mateo a birthday card; he turns "
    "seven on the third of August and loves dinosaurs."
)


@dataclass(frozen=True)
class BatchShape:
    """Tokens a batch reads (prompts) and writes (answers), over all its model calls."""

    prompt_tokens: int
    output_tokens: int


# A batch with both calls at the sizes measured on the memory cases with the seed model: extraction read 265-493
# prompt tokens and wrote 72-267, reconciliation reads and writes less.
ABSORB_BATCH = BatchShape(prompt_tokens=800, output_tokens=300)


@dataclass(frozen=True)
class SpeedSample:
    """One chat model's measured speed on this machine."""

    model: str
    model_bytes: int
    prefill_tokens_per_second: float
    decode_tokens_per_second: float
    measured_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeedSample":
        return cls(str(data["model"]), int(data["model_bytes"]), float(data["prefill_tokens_per_second"]),
                   float(data["decode_tokens_per_second"]), float(data.get("measured_at") or 0.0))


@dataclass(frozen=True)
class Recommendation:
    entry: CatalogEntry | None
    batch_seconds: float | None  # predicted for ``entry``; None without a measurement
    reason: str


def read_sample(models_dir: Path) -> SpeedSample | None:
    """The saved measurement, or None (none yet, or an unreadable file, which is logged and ignored)."""
    path = Path(models_dir) / SPEED_FILE
    if not path.exists():
        return None
    try:
        sample = SpeedSample.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None
    if sample.model_bytes <= 0 or sample.prefill_tokens_per_second <= 0 or sample.decode_tokens_per_second <= 0:
        log.warning("ignoring %s: it holds no usable speed", path)
        return None
    return sample


def write_sample(models_dir: Path, sample: SpeedSample) -> None:
    Path(models_dir).mkdir(parents=True, exist_ok=True)
    write_private(Path(models_dir) / SPEED_FILE, json.dumps(sample.to_dict(), indent=2, sort_keys=True).encode())


def predict_batch_seconds(entry: CatalogEntry, sample: SpeedSample | None, shape: BatchShape = ABSORB_BATCH) -> float | None:
    """Seconds a batch would take with ``entry``, scaled from ``sample`` by file size; None when unknown."""
    if sample is None or not entry.size or sample.model_bytes <= 0:
        return None
    scale = entry.size / sample.model_bytes
    prefill = shape.prompt_tokens / (sample.prefill_tokens_per_second / scale)
    decode = shape.output_tokens / (sample.decode_tokens_per_second / scale)
    return prefill + decode


def _recommendable(entry: CatalogEntry) -> bool:
    # A base model (plain prompts) follows no instructions: it is offered, never recommended.
    return entry.role == "chat" and not entry.imported and entry.extra.get("prompt", "chat") != "plain"


def recommend_chat(entries: list[CatalogEntry], total_ram_bytes: int, sample: SpeedSample | None,
                   limit: float = BATCH_SECONDS_LIMIT, cpu_count: int | None = None) -> Recommendation:
    """The largest chat model that fits in memory and keeps a batch under ``limit`` seconds here.

    Without a measurement, memory and ``cpu_count`` decide (about two cores per GiB of weights).
    """
    candidates = [e for e in entries if _recommendable(e)]
    if sample is None:
        by_machine = recommend_by_memory(candidates, "chat", total_ram_bytes, cpu_count)
        return Recommendation(by_machine, None, "by memory and cores: this computer's speed has not been measured yet")
    fitting = [e for e in candidates if recommend_by_memory([e], "chat", total_ram_bytes) is not None]
    if not fitting:
        return Recommendation(None, None, "no chat model fits in this computer's memory")
    timed = [(e, predict_batch_seconds(e, sample)) for e in fitting]
    fast = [(e, s) for e, s in timed if s is not None and s <= limit]
    if fast:
        entry, seconds = max(fast, key=lambda pair: pair[0].size or 0)
        return Recommendation(entry, seconds, f"the largest model that absorbs a batch in under {limit:.0f} s here")
    entry, seconds = min(((e, s) for e, s in timed if s is not None), key=lambda pair: pair[1], default=(None, None))
    return Recommendation(entry, seconds, f"no model absorbs a batch in under {limit:.0f} s here; this one is the fastest")


def measure(model, model_bytes: int, *, clock=time.time) -> SpeedSample:
    """Run the measuring prompt through ``model`` (a loaded ``ChatModel`` with ``last_stats``) and time it.

    The prompt starts with the time, so no cached prefix from an earlier call shortens the prefill.
    """
    messages = [
        {"role": "system", "content": f"[{clock():.6f}] Summarise the notes in one sentence."},
        {"role": "user", "content": _MEASURE_TEXT},
    ]
    started = time.perf_counter()
    model.chat(messages, max_tokens=MEASURE_MAX_TOKENS)
    elapsed = time.perf_counter() - started
    stats = dict(getattr(model, "last_stats", {}) or {})
    prompt_tokens = float(stats.get("prompt_tokens") or 0)
    completion_tokens = float(stats.get("completion_tokens") or 0)
    prefill = float(stats.get("prefill_seconds") or 0)
    total = float(stats.get("total_seconds") or elapsed)
    if prompt_tokens <= 0 or prefill <= 0 or completion_tokens <= 0 or total <= prefill:
        from core.errors import ModelError

        raise ModelError(f"The chat model {getattr(model, 'name', '?')} gave no timings to measure its speed.",
                         fix="Run 'engram models test' again; if it keeps failing, the model produced no text.")
    return SpeedSample(
        model=str(getattr(model, "name", "?")),
        model_bytes=int(model_bytes),
        prefill_tokens_per_second=round(prompt_tokens / prefill, 2),
        decode_tokens_per_second=round(completion_tokens / (total - prefill), 2),
        measured_at=clock(),
    )
