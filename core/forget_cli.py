"""``engram forget``: forget observations for good, with what was built from them.

    engram forget --observation ID [--observation ID ...]
    engram forget --range START END      # START inclusive, END exclusive; ISO 8601 or Unix seconds
    engram forget --app NAME             # everything captured from that application

It says what will go (the observations, the memories built only from them,
the memories of yours that only lose a link) and asks before it deletes
anything, unless ``--yes``.  Then it prints what was removed.  ``engram delete
ID`` forgets a memory the same way; what forgetting removes is described in
``core.store.forgetting``.
"""

from __future__ import annotations

import math
import re
import sys
from datetime import datetime
from typing import Any

from core.errors import EngramError, InvalidInputError
from core.store.types import to_timestamp

MAX_ID = 2**63 - 1
LATEST = 4_102_444_800.0  # 2100-01-01: later (or earlier than 1970) is a typing mistake, not a capture time
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "forget", help="forget observations for good (one, a time range, or an application)",
        description="Forget observations and the memories built only from them. Asks first unless --yes.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--observation", action="append", metavar="ID", help="an observation's id (repeatable)")
    which.add_argument("--range", nargs=2, metavar=("START", "END"), help="from START (inclusive) to END (exclusive)")
    which.add_argument("--app", metavar="NAME", help="every observation captured from this application")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="print what was removed as JSON")
    p.set_defaults(func=cmd_forget)


def parse_id(text: str, what: str = "observation id") -> int:
    """A stored row's id from the command line: a whole number from 1 to 2^63-1."""
    value = str(text).strip()
    if not re.fullmatch(r"\+?\d+", value) or not 1 <= int(value) <= MAX_ID:
        raise InvalidInputError(
            f"{value[:40]!r} is not an {what}: ids are whole numbers from 1 to {MAX_ID}.",
            fix="Copy the id from 'engram recall TEXT --json' or the Timeline.",
        )
    return int(value)


def parse_time(text: str, what: str) -> float:
    """A time from the command line: ISO 8601, or Unix seconds; between 1970 and 2100."""
    value = str(text).strip()
    if _NUMBER.fullmatch(value):
        seconds = float(value)
    else:
        seconds = to_timestamp(value, what)
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds < LATEST:
        raise InvalidInputError(
            f"The {what} {value[:40]!r} is not a time between 1970 and 2100.",
            fix="Use ISO 8601 (2026-05-02 or 2026-05-02T10:00) or Unix seconds.",
        )
    return seconds


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts is not None else "?"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _ids(ids: list[int], limit: int = 12) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def describe_plan(plan, backups: int) -> list[str]:
    """The confirmation text: what forgetting these observations removes and keeps."""
    n = len(plan.observation_ids)
    span = _when(plan.first_ts) if plan.first_ts == plan.last_ts else f"{_when(plan.first_ts)} to {_when(plan.last_ts)}"
    lines = [f"This forgets {n} observation{'s' if n != 1 else ''} ({_counts(plan.kinds)}) from {span}"
             + (f", apps: {_counts(plan.apps)}." if plan.apps else ".")]
    if plan.memories_deleted:
        m = len(plan.memories_deleted)
        lines.append(f"It deletes {m} memor{'ies' if m != 1 else 'y'} built from them ({_counts(plan.memory_types)}): "
                     f"{_ids(plan.memories_deleted)}.")
    if plan.observations_reopened:
        lines.append(f"{len(plan.observations_reopened)} other observation(s) those memories came from will be "
                     "absorbed again, so what they say is rebuilt without the forgotten part.")
    if plan.memories_kept:
        lines.append(f"Memories you wrote or edited that cite them are kept and only lose the link: {_ids(plan.memories_kept)}.")
    if backups:
        lines.append(f"The {backups} pre-upgrade cop{'ies' if backups != 1 else 'y'} of the database in backups/ "
                     "will be deleted too (they hold everything).")
    return lines


def describe_report(report, *, what: str) -> list[str]:
    """What was removed, after forgetting."""
    lines = []
    if report.observations:
        lines.append(f"Forgot {report.observations} observation{'s' if report.observations != 1 else ''}.")
    extra = [i for i in report.memories_deleted if what != "memory" or i != report.memories_deleted[0]]
    if extra:
        lines.append(f"Deleted {len(extra)} memor{'ies' if len(extra) != 1 else 'y'} built from "
                     f"{'them' if what == 'observations' else 'it'}: {_ids(extra)}.")
    if report.memories_unlinked:
        lines.append(f"Kept your memories {_ids(report.memories_unlinked)}; they no longer cite what was forgotten.")
    if report.observations_reopened:
        lines.append(f"{report.observations_reopened} observation(s) will be absorbed again ('engram absorb --now' does it now).")
    indexes = "the search indexes were rewritten without it."
    if report.memories_deleted:
        lines.append("The history of what was deleted keeps only a tombstone (what happened and when, no text); " + indexes)
    else:
        lines.append(indexes[0].upper() + indexes[1:])
    if report.backups_removed:
        lines.append(f"Deleted {len(report.backups_removed)} pre-upgrade cop{'ies' if len(report.backups_removed) != 1 else 'y'} "
                     "of the database from backups/.")
    for kept in report.backups_kept:
        lines.append(f"Warning: could not delete {kept['path']} ({kept['why']}); it still holds what was forgotten. "
                     "Delete it by hand.")
    if not report.wal_emptied:
        lines.append("Warning: another program was reading the database, so its write-ahead log could not be emptied "
                     "yet; old pages stay in engram.db-wal until Engram next closes.")
    return lines


def _confirm(ctx, lines: list[str]) -> bool:
    out = sys.stderr if ctx.args.json else sys.stdout
    for line in lines:
        print(line, file=out)
    if not sys.stdin.isatty():
        raise InvalidInputError(
            "engram forget asks before it deletes anything, and there is no terminal to ask on.",
            fix="Add --yes to forget without asking.",
        )
    try:
        answer = input("Forget this for good? It cannot be undone. [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def cmd_forget(args, ctx) -> int:
    forgetting = ctx.engine.forgetting
    if args.observation:
        ids = forgetting.existing_observations([parse_id(i) for i in args.observation])
        nothing = None
    elif args.range:
        start, end = parse_time(args.range[0], "start"), parse_time(args.range[1], "end")
        ids = forgetting.observations_between(start, end)
        nothing = f"Nothing to forget: no observation from {_when(start)} to {_when(end)}."
    else:
        ids = forgetting.observations_of_app(args.app)
        nothing = f"Nothing to forget: no observation from an application named {args.app.strip()!r}."
    if not ids:
        if args.json:
            ctx.print_json({"observations": 0})
        else:
            ctx.say(nothing or "Nothing to forget.")
        return 0
    if not args.yes:
        plan = forgetting.plan(ids)
        if not _confirm(ctx, describe_plan(plan, len(forgetting.backups.copies()))):
            ctx.say("Nothing was forgotten.")
            return 1
    report = forgetting.forget_observations(ids)
    if args.json:
        ctx.print_json(report.to_dict())
        return 0
    for line in describe_report(report, what="observations") + older_backups(ctx.engine):
        ctx.say(line)
    return 0


def older_backups(engine, what: str = "it") -> list[str]:
    """Backups made before now still hold what was just forgotten (or masked): say so, and how to remove it from them."""
    try:
        kept = [b for b in engine.backups.list() if b.path.exists()]
    except EngramError as exc:  # a backup folder on a disk that is not connected: say that instead
        return [f"Backups made before this may still hold {what}; they could not be listed: {exc.message}"]
    if not kept:
        return []
    return [f"{len(kept)} backup{'s' if len(kept) != 1 else ''} made before this still hold{'s' if len(kept) == 1 else ''} "
            f"{what} (each is a full copy of the store as it was); 'engram backup list' shows them, and deleting their "
            f"files removes {'it' if what == 'it' else 'them'} from them too."]


def say_deleted(ctx, memory: Any, report) -> int:
    """``engram delete``'s output: the memory, then whatever went with it."""
    ctx.say(f"Deleted memory {memory.id} ({memory.type}).")
    for line in describe_report(report, what="memory") + older_backups(ctx.engine):
        ctx.say(line)
    return 0
