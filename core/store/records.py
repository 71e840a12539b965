"""The store's bookkeeping: absorb batches and rejections, job runs, derived-memory keys, small settings.

These records say what Engram did with the data (which batch absorbed what,
which candidate was refused and why, when each job ran), so the rooms that do
the work can resume after a crash and the user can see what happened.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Sequence

from core.store.db import Database


class AlreadyAbsorbed(Exception):
    """Another absorber stored this batch first; the caller's transaction must roll back."""


class Meta:
    """Small named values kept in the database (watermarks, counters)."""

    def __init__(self, db: Database):
        self.db = db

    def get(self, key: str) -> str | None:
        return self.db.scalar("SELECT value FROM meta WHERE key = ?", [key])

    def set(self, key: str, value: str) -> None:
        with self.db.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value])


class AbsorbLog:
    """Absorb's records: one row per stored batch, every refused candidate, and model work still waiting."""

    def __init__(self, db: Database, clock: Callable[[], float]):
        self.db = db
        self.clock = clock

    def pending_count(self) -> int:
        """Observations whose model pass waits for a chat model."""
        return int(self.db.scalar("SELECT count(*) FROM absorb_llm_pending"))

    def pending_groups(self) -> list[list[int]]:
        """The waiting observations, grouped by the batch that deferred them."""
        rows = self.db.query("SELECT observation_id, batch_id FROM absorb_llm_pending ORDER BY batch_id, observation_id")
        groups: dict[Any, list[int]] = {}
        for row in rows:
            groups.setdefault(row["batch_id"], []).append(row["observation_id"])
        return list(groups.values())

    def claim(self, observation_ids: Sequence[int]) -> None:
        """Inside the batch's transaction: raise ``AlreadyAbsorbed`` unless every observation still waits."""
        ids = [int(i) for i in observation_ids]
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        waiting = self.db.scalar(f"SELECT count(*) FROM observations WHERE absorbed_at IS NULL AND id IN ({marks})", ids)
        if int(waiting) != len(ids):
            raise AlreadyAbsorbed()

    def resolve_pending(self, observation_ids: Sequence[int]) -> None:
        """Inside the batch's transaction: the deferred model pass of these observations is done."""
        ids = [int(i) for i in observation_ids]
        marks = ",".join("?" * len(ids))
        cursor = self.db.execute(f"DELETE FROM absorb_llm_pending WHERE observation_id IN ({marks})", ids)
        if cursor.rowcount == 0:
            raise AlreadyAbsorbed()

    def start_batch(self, observations: int, llm_calls: int, llm_state: str) -> int:
        now = self.clock()
        return int(self.db.execute(
            "INSERT INTO absorb_batches(started_at, finished_at, observations, llm_calls, llm_state, seconds) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            [now, now, observations, llm_calls, llm_state],
        ).lastrowid)

    def finish_batch(self, batch_id: int, report: dict) -> None:
        self.db.execute(
            "UPDATE absorb_batches SET finished_at = ?, seconds = ?, report = ? WHERE id = ?",
            [self.clock(), 0.0, json.dumps(report), batch_id],
        )

    def reject(self, batch_id: int | None, stage: str, memory_type: str | None, reason: str,
               candidate: dict | None, observation_ids: Sequence[int]) -> None:
        """Log a refused candidate (the caller masks secrets in ``candidate``)."""
        self.db.execute(
            "INSERT INTO absorb_rejections(at, batch_id, stage, memory_type, reason, candidate, observation_ids) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [self.clock(), batch_id, stage, memory_type, reason,
             json.dumps(candidate, ensure_ascii=False, default=str) if candidate else None, json.dumps(list(observation_ids))],
        )

    def defer(self, observation_ids: Iterable[int], batch_id: int, reason: str) -> None:
        now = self.clock()
        for obs_id in observation_ids:
            self.db.execute(
                "INSERT OR IGNORE INTO absorb_llm_pending(observation_id, batch_id, queued_at, reason) VALUES (?, ?, ?, ?)",
                [obs_id, batch_id, now, reason],
            )

    def rejections(self, *, stage: str | None = None, limit: int = 1000) -> list[dict]:
        """Logged rejections, oldest first."""
        where = "WHERE stage = ?" if stage else ""
        params: list[Any] = [stage] if stage else []
        rows = self.db.query(f"SELECT * FROM absorb_rejections {where} ORDER BY id LIMIT ?", [*params, limit])
        for row in rows:
            row["candidate"] = json.loads(row["candidate"]) if row["candidate"] else None
            row["observation_ids"] = json.loads(row["observation_ids"]) if row["observation_ids"] else []
        return rows

    def rejection_counts(self) -> dict[str, int]:
        return {r["stage"]: r["n"] for r in self.db.query("SELECT stage, count(*) AS n FROM absorb_rejections GROUP BY stage")}

    def batch_count(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM absorb_batches"))


class JobRuns:
    """One row per run of a background job: what decides catch-up after a sleep or a crash."""

    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def _decoded(row: dict | None) -> dict | None:
        if row and row.get("report"):
            row["report"] = json.loads(row["report"])
        return row

    def last(self, job: str, *, status: str | None = None) -> dict | None:
        sql = "SELECT * FROM job_runs WHERE job = ?" + (" AND status = ?" if status else "") + " ORDER BY id DESC LIMIT 1"
        return self._decoded(self.db.query_one(sql, [job, status] if status else [job]))

    def get(self, run_id: int) -> dict | None:
        return self._decoded(self.db.query_one("SELECT * FROM job_runs WHERE id = ?", [run_id]))

    def start(self, job: str, at: float) -> int:
        with self.db.transaction():
            return int(self.db.execute("INSERT INTO job_runs(job, started_at) VALUES (?, ?)", [job, at]).lastrowid)

    def finish(self, run_id: int, status: str, at: float, *, report: Any = None, error: str | None = None) -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE job_runs SET status = ?, finished_at = ?, report = ?, error = ? WHERE id = ?",
                [status, at, None if report is None else json.dumps(report, default=str), error, run_id],
            )

    def mark_interrupted(self, at: float) -> int:
        """Runs a crash left 'running' become 'interrupted'; returns how many."""
        with self.db.transaction():
            cursor = self.db.execute("UPDATE job_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'", [at])
        return int(cursor.rowcount or 0)


class DerivedRecords:
    """Which memory stands under a stable key (a digest's day, a recurring fact) and which memories it stands for."""

    def __init__(self, db: Database):
        self.db = db

    def lookup(self, key: str) -> dict | None:
        return self.db.query_one("SELECT key, memory_id, fingerprint FROM consolidation_keys WHERE key = ?", [key])

    def children(self, parent_id: int, kind: str) -> list[int]:
        rows = self.db.query(
            "SELECT child_id FROM memory_links WHERE parent_id = ? AND kind = ? ORDER BY child_id", [parent_id, kind]
        )
        return [r["child_id"] for r in rows]

    def parents(self, child_id: int) -> list[dict]:
        return self.db.query("SELECT parent_id, kind FROM memory_links WHERE child_id = ? ORDER BY parent_id", [child_id])

    def keep(self, key: str, memory_id: int, child_ids: Iterable[int], kind: str, fingerprint: str, at: float) -> None:
        """Inside the caller's transaction: ``key`` names ``memory_id``, which now stands for exactly ``child_ids``."""
        self.db.execute("DELETE FROM memory_links WHERE parent_id = ? AND kind = ?", [memory_id, kind])
        for child in sorted(set(child_ids)):
            self.db.execute(
                "INSERT OR IGNORE INTO memory_links(parent_id, child_id, kind) VALUES (?, ?, ?)", [memory_id, child, kind]
            )
        self.db.execute(
            "INSERT OR REPLACE INTO consolidation_keys(key, memory_id, fingerprint, updated_at) VALUES (?, ?, ?, ?)",
            [key, memory_id, fingerprint, at],
        )


class ChatLog:
    """Engram's own conversation: questions asked and the answers given, shown again, never used as evidence."""

    def __init__(self, db: Database):
        self.db = db

    def record(self, conversation: str, asked_at: float, question: str, answer: str, *, citations: list[dict],
               abstained: bool, model: str | None) -> int:
        with self.db.transaction():
            return int(self.db.execute(
                "INSERT INTO assistant_chat(conversation, asked_at, question, answer, citations, abstained, model) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [conversation, asked_at, question, answer, json.dumps(citations, ensure_ascii=False), int(abstained), model],
            ).lastrowid)

    def recent(self, limit: int = 50) -> list[dict]:
        """The newest ``limit`` exchanges, oldest first."""
        rows = self.db.query("SELECT * FROM assistant_chat ORDER BY asked_at DESC, id DESC LIMIT ?", [limit])
        for row in rows:
            row["citations"] = json.loads(row["citations"]) if row["citations"] else []
            row["abstained"] = bool(row["abstained"])
        return list(reversed(rows))

    def forget_between(self, start: float, end: float) -> int:
        with self.db.transaction():
            return int(self.db.execute("DELETE FROM assistant_chat WHERE asked_at >= ? AND asked_at < ?", [start, end]).rowcount or 0)

    def clear(self) -> int:
        with self.db.transaction():
            return int(self.db.execute("DELETE FROM assistant_chat").rowcount or 0)
