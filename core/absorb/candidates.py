"""``Candidate``: a memory the absorber may store, as every extractor (rules or model) proposes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_SENTENCE_CHARS = 300


@dataclass
class Candidate:
    """A memory the absorber may store: its type, fields and the observations it came from."""

    type: str
    fields: dict[str, Any]
    sources: list[int]
    origin: str = "rules"  # rules | llm
    key: tuple | None = None  # identity used to find the memory this one extends
    text: str = ""  # the statement, for reconcile prompts and reports
    meta: dict[str, Any] = field(default_factory=dict)  # what the applier needs beyond the fields (order, update kind)

    def describe(self) -> str:
        return self.text or str(self.fields.get("summary") or self.fields.get("title") or self.fields.get("caption") or "")
