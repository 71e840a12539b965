"""Forgetting that forgets: what the user deletes or forgets leaves no readable trace in the store.

Two doors lead here: deleting a memory (``engram delete``, the app) and
forgetting observations (the Timeline's forget-a-range, ``engram forget``).
Either one, in a single transaction:

- deletes the rows with their full-text, vector and recall-context rows;
- deletes the memories built from them that the user never wrote or edited
  (the memories citing forgotten observations; the digests and promoted facts
  standing for a deleted memory), and sets those memories' other sources back
  to unabsorbed so the next absorb rebuilds what remains from them; a memory
  the user wrote or edited is kept and only loses its link;
- leaves a tombstone in the history: the rows of every deleted memory (and of
  the memories merged into it) lose their old and new values and their
  reasons, and the deletion itself is recorded without any text;
- drops the absorb rejections logged from forgotten observations;
- rewrites the affected FTS5 indexes with 'optimize': a deleted row's tokens
  otherwise stay in the index segments (with positions) until a merge.

Then the WAL is checkpointed and truncated (it holds the old pages until a
checkpoint), and the pre-upgrade copies in ``backups/`` are deleted (they hold
everything).  Freed pages and cells are overwritten with zeros as they are
freed (``PRAGMA secure_delete``, set by ``Database.open``).  What is out of
reach: copies the user made elsewhere, and disk blocks the filesystem or an
SSD keeps after a file shrinks.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

from core.errors import InvalidInputError, NotFoundError
from core.store.upgrade_copies import PreUpgradeCopies
from core.store.db import Database
from core.store.memories import MemoryStore
from core.store.observations import ObservationStore
from core.store.types import to_timestamp

USER = "user"
# The reasons a tombstone keeps: none of them quotes what was forgotten.
DELETED_BY_USER = "deleted by the user"
FROM_FORGOTTEN = "built from forgotten observations"
FROM_DELETED = "built from a deleted memory"
MERGED_INTO = "merged into #"
MEMORY_FTS, OBSERVATION_FTS, RECALL_FTS = "memory_fts", "observation_fts", "recall_fts"


@dataclass
class ForgetPlan:
    """What forgetting some observations will remove, for a confirmation before it is done."""

    observation_ids: list[int]
    memories_deleted: list[int] = field(default_factory=list)  # built from them, never touched by the user
    memories_kept: list[int] = field(default_factory=list)  # the user wrote or edited them: they only lose the link
    observations_reopened: list[int] = field(default_factory=list)  # other sources of deleted memories
    first_ts: float | None = None
    last_ts: float | None = None
    apps: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    memory_types: dict[str, int] = field(default_factory=dict)
    in_conversations: int = 0  # how many are conversation turns (recall's context index holds those)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ForgetReport:
    """What was removed."""

    observations: int = 0
    memories_deleted: list[int] = field(default_factory=list)
    memory_types: dict[str, int] = field(default_factory=dict)
    memories_unlinked: list[int] = field(default_factory=list)
    observations_reopened: int = 0
    rejections_dropped: int = 0
    indexes_rewritten: list[str] = field(default_factory=list)
    wal_emptied: bool = True
    backups_removed: list[str] = field(default_factory=list)
    backups_kept: list[dict[str, str]] = field(default_factory=list)  # {"path", "why"}: could not be deleted
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chunks(ids: Sequence[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


class Forgetting:
    """``store.forgetting``: see the module docstring."""

    def __init__(self, db: Database, memories: MemoryStore, observations: ObservationStore, backups: PreUpgradeCopies,
                 clock: Callable[[], float] = time.time):
        self.db = db
        self.memories = memories
        self.observations = observations
        self.backups = backups
        self.clock = clock

    # -- choosing what to forget ----------------------------------------------------------

    def observations_between(self, start: Any, end: Any) -> list[int]:
        """Ids of the observations from ``start`` (inclusive) to ``end`` (exclusive)."""
        start_ts, end_ts = to_timestamp(start, "start"), to_timestamp(end, "end")
        if start_ts is None or end_ts is None:
            raise InvalidInputError("A range to forget needs a start and an end.", fix="For example --range 2026-05-02T10:00 2026-05-02T11:00.")
        if end_ts <= start_ts:
            raise InvalidInputError(
                f"The range ends ({end}) before it starts ({start}).", fix="Give the earlier time first."
            )
        return [r["id"] for r in self.db.query(
            "SELECT id FROM observations WHERE ts >= ? AND ts < ? ORDER BY ts, id", [start_ts, end_ts])]

    def observations_of_app(self, app: str) -> list[int]:
        """Ids of every observation captured from ``app`` (its name as stored, ignoring case)."""
        name = (app or "").strip()
        if not name:
            raise InvalidInputError("The application name is empty.", fix="Name the application, e.g. --app Firefox.")
        return [r["id"] for r in self.db.query(
            "SELECT id FROM observations WHERE app = ? COLLATE NOCASE ORDER BY ts, id", [name])]

    def existing_observations(self, ids: Iterable[int]) -> list[int]:
        """``ids`` checked: raises ``NotFoundError`` naming the ones that do not exist."""
        wanted = sorted({int(i) for i in ids})
        found: set[int] = set()
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            found.update(r["id"] for r in self.db.query(f"SELECT id FROM observations WHERE id IN ({marks})", chunk))
        missing = [i for i in wanted if i not in found]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise NotFoundError(
                f"There is no observation with id {shown}.",
                fix="It may have been forgotten already; see the ids with 'engram recall TEXT --json' or in the Timeline.",
            )
        return wanted

    # -- planning -------------------------------------------------------------------------

    def _user_touched(self, memory_ids: Sequence[int]) -> set[int]:
        """The memories among ``memory_ids`` that the user wrote or edited."""
        return self.memories.written_by_user(memory_ids)

    def _derived_parents(self, memory_ids: Iterable[int]) -> list[int]:
        """Digests and promoted facts standing for ``memory_ids`` (and for those, up the chain), not the user's."""
        seen: set[int] = set(memory_ids)
        frontier = list(seen)
        parents: list[int] = []
        while frontier:
            found: set[int] = set()
            for chunk in _chunks(frontier):
                marks = ",".join("?" * len(chunk))
                found.update(r["parent_id"] for r in self.db.query(
                    f"SELECT DISTINCT parent_id FROM memory_links WHERE child_id IN ({marks})", chunk))
            found -= seen
            found -= self._user_touched(sorted(found))
            seen |= found
            parents.extend(sorted(found))
            frontier = sorted(found)
        return parents

    def plan(self, observation_ids: Iterable[int]) -> ForgetPlan:
        """What forgetting ``observation_ids`` removes (nothing is changed)."""
        ids = sorted({int(i) for i in observation_ids})
        plan = ForgetPlan(ids)
        if not ids:
            return plan
        citing: set[int] = set()
        kinds: Counter = Counter()
        apps: Counter = Counter()
        times: list[float] = []
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            citing.update(r["memory_id"] for r in self.db.query(
                f"SELECT DISTINCT memory_id FROM memory_sources WHERE observation_id IN ({marks})", chunk))
            for row in self.db.query(f"SELECT kind, app, min(ts) AS first, max(ts) AS last, count(*) AS n, "
                                     f"sum(conversation IS NOT NULL) AS turns "
                                     f"FROM observations WHERE id IN ({marks}) GROUP BY kind, app", chunk):
                plan.in_conversations += row["turns"]
                kinds[row["kind"]] += row["n"]
                apps[row["app"] or ""] += row["n"]
                times += [row["first"], row["last"]]
        kept = self._user_touched(sorted(citing))
        deleted = sorted(citing - kept)
        deleted += self._derived_parents(deleted)
        plan.memories_deleted = sorted(set(deleted))
        plan.memories_kept = sorted(kept)
        reopened: set[int] = set()
        for chunk in _chunks(plan.memories_deleted):
            marks = ",".join("?" * len(chunk))
            reopened.update(r["observation_id"] for r in self.db.query(
                f"SELECT DISTINCT observation_id FROM memory_sources WHERE memory_id IN ({marks})", chunk))
        plan.observations_reopened = sorted(reopened - set(ids))
        plan.first_ts, plan.last_ts = (min(times), max(times)) if times else (None, None)
        plan.kinds, plan.apps = dict(kinds), {k: v for k, v in apps.items() if k}
        plan.memory_types = dict(Counter(self._types(plan.memories_deleted).values()))
        return plan

    def _types(self, memory_ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(list(memory_ids)):
            marks = ",".join("?" * len(chunk))
            out.update((r["id"], r["type"]) for r in self.db.query(f"SELECT id, type FROM memories WHERE id IN ({marks})", chunk))
        return out

    # -- forgetting -----------------------------------------------------------------------

    def forget_observations(self, observation_ids: Iterable[int]) -> ForgetReport:
        """Forget these observations and everything built only from them; see the module docstring."""
        started = time.perf_counter()
        ids = sorted({int(i) for i in observation_ids})
        report = ForgetReport()
        if not ids:
            return report
        with self.db.transaction():
            plan = self.plan(ids)  # again inside the transaction, so nothing changes between plan and deed
            report.memory_types = plan.memory_types
            report.memories_deleted = self._delete_memories(plan.memories_deleted, FROM_FORGOTTEN)
            report.memories_unlinked = plan.memories_kept
            for chunk in _chunks(plan.observations_reopened):
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"UPDATE observations SET absorbed_at = NULL, batch_id = NULL WHERE id IN ({marks})", chunk)
            report.observations_reopened = len(plan.observations_reopened)
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                cursor = self.db.execute(
                    "DELETE FROM absorb_rejections WHERE EXISTS (SELECT 1 FROM json_each(absorb_rejections.observation_ids) "
                    f"WHERE json_each.value IN ({marks}))", chunk)
                report.rejections_dropped += int(cursor.rowcount or 0)
            report.observations = self.observations.forget(ids)
            # Each rewrite costs the size of its whole index: only the indexes that held the forgotten text.
            tables = ([OBSERVATION_FTS] + ([RECALL_FTS] if plan.in_conversations else [])
                      + ([MEMORY_FTS] if report.memories_deleted else []))
            rewrite_indexes(self.db, tables, ["observations"])
            report.indexes_rewritten = tables
        self._finish(report, started)
        return report

    def forget_range(self, start: Any, end: Any) -> ForgetReport:
        return self.forget_observations(self.observations_between(start, end))

    def forget_app(self, app: str) -> ForgetReport:
        return self.forget_observations(self.observations_of_app(app))

    def forget_memory(self, memory_id: int) -> ForgetReport:
        """Delete a memory as the user asked: it, and the digests built from it, leave a tombstone only."""
        started = time.perf_counter()
        memory = self.memories.get(memory_id)  # NotFoundError names the id
        report = ForgetReport()
        with self.db.transaction():
            parents = self._derived_parents([memory.id])
            report.memory_types = dict(Counter(self._types([memory.id, *parents]).values()))
            report.memories_deleted = self._delete_memories([memory.id], DELETED_BY_USER)
            report.memories_deleted += self._delete_memories(parents, FROM_DELETED)
            rewrite_indexes(self.db, [MEMORY_FTS], [memory.spec.table])
            report.indexes_rewritten = [MEMORY_FTS]
        self._finish(report, started)
        return report

    def _delete_memories(self, memory_ids: Sequence[int], reason: str) -> list[int]:
        """Inside the transaction: delete each memory, its history reduced to a tombstone."""
        deleted = []
        for memory_id in memory_ids:
            try:
                self.memories.delete(memory_id, actor=USER, reason=reason, keep_text=False)
            except NotFoundError:
                continue  # already gone (a digest counted twice)
            deleted.append(memory_id)
        self._tombstone(deleted)
        return deleted

    def _merged_into(self, memory_ids: Sequence[int]) -> list[int]:
        """Memories that were merged into ``memory_ids`` (and into those, down the chain)."""
        out: list[int] = []
        frontier = list(memory_ids)
        seen = set(frontier)
        while frontier:
            reasons = [f"{MERGED_INTO}{i}" for i in frontier]
            found: set[int] = set()
            for chunk in _chunks(reasons):
                marks = ",".join("?" * len(chunk))
                found.update(r["memory_id"] for r in self.db.query(
                    f"SELECT DISTINCT memory_id FROM memory_history WHERE action = 'DELETE' AND reason IN ({marks})", chunk))
            found -= seen
            seen |= found
            out.extend(sorted(found))
            frontier = sorted(found)
        return out

    def _tombstone(self, memory_ids: Sequence[int]) -> None:
        """Blank the history of ``memory_ids`` and of the memories merged into them: actions and times stay."""
        ids = [*memory_ids, *self._merged_into(memory_ids)]
        textless = (DELETED_BY_USER, FROM_FORGOTTEN, FROM_DELETED)
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            self.db.execute(
                "UPDATE memory_history SET old_value = NULL, new_value = NULL, "
                f"reason = CASE WHEN action = 'DELETE' AND (reason IN ({','.join('?' * len(textless))}) "
                f"OR reason GLOB '{MERGED_INTO}[0-9]*') THEN reason ELSE NULL END "
                f"WHERE memory_id IN ({marks})",
                [*textless, *chunk],
            )

    def _finish(self, report: ForgetReport, started: float) -> None:
        """After the commit: empty the WAL, delete the pre-upgrade copies."""
        report.wal_emptied = empty_wal(self.db)
        removed, kept = self.backups.remove_all()
        report.backups_removed = [str(p) for p in removed]
        report.backups_kept = [{"path": str(p), "why": why} for p, why in kept]
        report.seconds = round(time.perf_counter() - started, 3)


def rewrite_indexes(db: Database, fts_tables: Sequence[str], analyzed_tables: Sequence[str]) -> None:
    """Inside a transaction: rewrite each FTS5 index without the tokens of deleted or changed rows; refresh planner samples.

    An FTS5 delete only adds a delete marker (which itself lists the
    deleted row's terms); the tokens stay in older segments until a merge.
    'optimize' merges everything into one segment that holds live rows only,
    which costs a rewrite of the whole index (bench/bench_forget.py).
    FTS5's own 'secure-delete' option is cheaper per forget but was not
    enough: it leaves the leaf separators in ``%_idx`` (prefixes of the
    deleted terms: 20 of 20 in a test), keeps the words an edit replaced
    earlier, and slows every later update of the table.
    ``sqlite_stat4`` keeps sample index keys (a conversation's name, a core
    label); re-analyzing the tables rows were deleted from replaces them.
    """
    for table in fts_tables:
        db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    if db.scalar("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat4'"):
        for table in analyzed_tables:
            if db.scalar("SELECT 1 FROM sqlite_stat4 WHERE tbl = ? LIMIT 1", [table]):
                db.execute(f"ANALYZE {table}")


def empty_wal(db: Database) -> bool:
    """Copy the WAL into the database and truncate it to nothing; False when a reader kept it from finishing."""
    with db.lock:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy
