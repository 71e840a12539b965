"""A process killed with SIGKILL in the middle of a batch's store phase loses nothing and duplicates nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

CHILD = textwrap.dedent(
    """
    import os, signal
    from core.engine import Engine
    from core.models.base import FakeEmbedder

    engine = Engine(embedder=FakeEmbedder(64))
    engine.observations.add("chat", "My email is ada@example.org. I fly to Lisbon on 12 June 2026.",
                            ts="2026-05-02T10:00:00", role="user", conversation="c")
    engine.observations.add("chat", "See https://example.org/plan for the plan.",
                            ts="2026-05-02T10:00:30", role="user", conversation="c")
    original = engine.memories.add
    calls = []

    def add_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # no unwinding, no rollback: the OS just ends the process
        return original(*args, **kwargs)

    engine.memories.add = add_then_die
    engine.make_absorber(use_llm=False).absorb_backlog()
    """
)


def test_sigkill_mid_batch_then_resume(paths):
    child = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr

    from core.engine import Engine
    from core.models.base import FakeEmbedder

    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        assert engine.store.db.integrity_check() == "ok"
        assert engine.memories.count() == 0
        assert engine.observations.count(unabsorbed=True) == 2
        assert engine.store.db.scalar("SELECT count(*) FROM memory_history") == 0
        report = engine.make_absorber(use_llm=False).absorb_backlog().to_dict()
        assert report["observations"] == 2
        counts = engine.memories.counts()
        assert counts["knowledge_vault"] == 1 and counts["resource"] == 1 and counts["episodic"] == 2
        assert engine.make_absorber(use_llm=False).absorb_backlog().to_dict()["batches"] == 0
        assert engine.memories.counts() == counts
