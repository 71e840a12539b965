"""Fixtures shared by the backup, restore, export and import tests (imported by those modules)."""

from __future__ import annotations

import pytest


@pytest.fixture
def fast_kdf(monkeypatch):
    """Argon2id with tiny settings (the real ones take about 0.7 s per code); one test keeps the real ones."""
    from core.backup import recovery

    monkeypatch.setattr(recovery, "DEFAULT_MEMORY_KIB", 1024)
    monkeypatch.setattr(recovery, "DEFAULT_ITERATIONS", 1)
    monkeypatch.setattr(recovery, "DEFAULT_LANES", 1)


def fill(engine, n: int = 12, prefix: str = "Ada") -> None:
    """A small store with every memory type, provenance and a vault secret."""
    obs = engine.observations.add("chat", f"{prefix} told me she plays the cello in Porto", role="user", conversation="c1")
    for i in range(n):
        engine.memories.add("semantic", {"name": f"{prefix}{i}", "summary": f"{prefix} plays the cello, fact {i}"}, sources=[obs])
    engine.memories.add("core", {"label": "about me", "value": "I am Sam, I live in Lisbon"})
    engine.memories.add("episodic", {"occurred_at": "2026-05-02T09:00:00Z", "summary": "Dentist visit", "actor": "me"})
    engine.memories.add("procedural", {"summary": "Release the package", "steps": ["Bump version", "npm publish"]})
    engine.memories.add("resource", {"title": "Research report", "location": "~/atlas/research.pdf"})
    engine.memories.add("knowledge_vault", {"entry_type": "wifi", "caption": "Office wifi", "secret_value": "correct-horse-battery"})
