"""How ``release-0.1.0/`` was made: a store written by Engram 0.1.0 (commit 88876c5), kept to test upgrades.

Run once with that release checked out (``python tests/data/make_release_db.py DIR``); later code need not be
able to run it.  The store holds every memory type, chat and screen observations, provenance, history, absorb
and consolidation records, job runs, vectors from ``FakeEmbedder(64)`` and the recall context index.  Its key
is in ``engram.key`` beside it (a test fixture, not a secret).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def make(home: Path) -> None:
    os.environ["ENGRAM_HOME"] = str(home)
    os.environ["ENGRAM_KEYRING"] = "file"
    from core.absorb.absorber import Absorber
    from core.consolidate.consolidator import Consolidator
    from core.engine import Engine
    from core.models.base import FakeEmbedder
    from core.paths import Paths
    from core.scheduling import Scheduler

    clock_now = [1_780_000_000.0]
    with Engine(Paths.from_env(), embedder=FakeEmbedder(64), chat_model=None, clock=lambda: clock_now[0]) as engine:
        engine.settings.set("consolidation.use_model", False)
        m = engine.memories
        m.add("core", {"label": "human", "value": "Name: Rosa Quintero\nPrefers window seats"})
        m.add("semantic", {"name": "Ada", "summary": "Ada is Rosa's sister, lives in Porto"})
        m.add("episodic", {"occurred_at": "2026-05-02T10:00:00", "summary": "Dentist appointment with Dr. Silva"})
        m.add("procedural", {"entry_type": "workflow", "summary": "Deploy the blog", "steps": ["git pull", "make build", "rsync public/ server:"]})
        m.add("resource", {"title": "Q3 report", "resource_type": "document", "location": "/home/rosa/q3.pdf"})
        m.add("knowledge_vault", {"entry_type": "iban", "caption": "Joint savings IBAN", "secret_value": "DE89370400440532013000", "sensitivity": "high"})
        pinned = m.add("semantic", {"name": "Bruno", "summary": "Bruno runs the Lisbon office"})
        m.update(pinned.id, {"pinned": True, "summary": "Bruno runs the Lisbon office since 2025"})
        gone = m.add("semantic", {"name": "Old", "summary": "A memory later deleted"})
        m.delete(gone.id)
        o = engine.observations
        o.add_many([
            dict(kind="chat", text="I'm flying to Lisbon on 12 June.", ts=clock_now[0] - 3600, role="user", conversation="trip"),
            dict(kind="chat", text="Have a good flight!", ts=clock_now[0] - 3590, role="assistant", conversation="trip"),
            dict(kind="chat", text="My sister Ada lives in Porto.", ts=clock_now[0] - 3500, role="user", conversation="trip"),
        ])
        o.add("screen", "Quarterly planning - budget.ods\nRevenue 12,400", ts=clock_now[0] - 1800, app="libreoffice-calc",
              window_title="budget.ods - LibreOffice Calc", thumbnail=b"RIFF\x00\x00\x00\x00WEBPVP8 fake")
        Absorber(engine, use_llm=False).absorb_backlog()
        engine.indexer.index_pending()
        engine.recall.sync()
        scheduler = Scheduler(engine)
        clock_now[0] += 86400 * 2
        scheduler.run("consolidate_deep")
        scheduler.run("embed")


if __name__ == "__main__":
    target = Path(sys.argv[1]).resolve()
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    make(target)
    print(f"made {target}")
