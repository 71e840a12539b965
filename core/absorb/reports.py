"""What absorbing did: per-batch and whole-run reports, and the plan of one batch with its rejections."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from core.absorb import llm
from core.absorb.candidates import Candidate
from core.store.memories import mask_secret


def mask_for_log(memory_type: str, fields: dict) -> dict:
    """A candidate's fields as the rejection log keeps them: vault values masked, times as numbers."""
    out = dict(fields)
    if memory_type == "knowledge_vault" and out.get("secret_value"):
        out["secret_value"] = mask_secret(str(out["secret_value"]))
    return out


@dataclass
class BatchReport:
    batch_id: int | None
    observations: int
    kinds: list[str]
    llm_calls: int = 0
    llm_state: str = "skipped"  # skipped | done | deferred | failed | unreadable
    seconds: float = 0.0
    added: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    deleted: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    deferred: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "observations": self.observations,
            "kinds": self.kinds,
            "llm_calls": self.llm_calls,
            "llm_state": self.llm_state,
            "seconds": round(self.seconds, 3),
            "added": dict(self.added),
            "updated": dict(self.updated),
            "deleted": dict(self.deleted),
            "rejected": dict(self.rejected),
        }


@dataclass
class AbsorbReport:
    batches: list[BatchReport] = field(default_factory=list)
    seconds: float = 0.0
    backlog_before: int = 0
    backlog_after: int = 0
    llm_pending: int = 0
    stopped: bool = False

    def total(self, name: str) -> Counter:
        out: Counter = Counter()
        for batch in self.batches:
            out.update(getattr(batch, name))
        return out

    def to_dict(self) -> dict[str, Any]:
        calls = [b.llm_calls for b in self.batches]
        return {
            "batches": len(self.batches),
            "observations": sum(b.observations for b in self.batches),
            "added": dict(self.total("added")),
            "updated": dict(self.total("updated")),
            "deleted": dict(self.total("deleted")),
            "rejected": dict(self.total("rejected")),
            "llm_calls": sum(calls),
            "llm_calls_max_per_batch": max(calls, default=0),
            "llm_states": dict(Counter(b.llm_state for b in self.batches)),
            "seconds": round(self.seconds, 3),
            "seconds_per_batch": round(self.seconds / len(self.batches), 3) if self.batches else 0.0,
            "backlog_before": self.backlog_before,
            "backlog_after": self.backlog_after,
            "llm_pending": self.llm_pending,
            "stopped": self.stopped,
            "per_batch": [b.to_dict() for b in self.batches],
        }


@dataclass
class BatchPlan:
    """What one batch will store, decided before the transaction opens."""

    rules: list[Candidate] = field(default_factory=list)
    updates: list[Any] = field(default_factory=list)  # core.absorb.updates.Update: statements that change older facts
    decisions: list[llm.Decision] = field(default_factory=list)
    rejections: list[tuple[str, str | None, str, dict | None, list[int]]] = field(default_factory=list)

    def reject(self, stage: str, candidate: Candidate | None, reason: str, sources: list[int]) -> None:
        self.rejections.append(
            (stage, candidate.type if candidate else None, reason,
             mask_for_log(candidate.type, candidate.fields) if candidate else None,
             candidate.sources if candidate else sources)
        )
