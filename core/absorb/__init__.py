"""Absorb: turning observations (screen text, chat messages) into typed memories.

``engine.make_absorber().absorb_backlog()`` groups unabsorbed observations into
batches and, for each batch, runs the rule-based extractors, at most two
schema-constrained LLM calls, and the grounding check, then stores the
result and marks the observations absorbed in one transaction.
``import_chat_file`` brings chat history in as observations.
"""

from core.absorb.absorber import AbsorbReport, Absorber
from core.absorb.ingest import ImportReport, import_chat_file

__all__ = ["Absorber", "AbsorbReport", "ImportReport", "import_chat_file"]
