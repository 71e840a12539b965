"""``engram secrets``: the secret detector and the text stored before it knew what it knows now.

    engram secrets status [--json]     # is every stored text checked with the current detector?
    engram secrets recheck [--json]    # check it now, in the foreground (the app does it in the background)

The re-check is described in ``core.store.remask``.
"""

from __future__ import annotations

from core.absorb.recheck import recheck_secrets
from core.backup.cli import progress_printer
from core.errors import ReadOnlyStoreError
from core.forget_cli import older_backups


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "secrets", help="check text stored earlier for secrets the detector now knows",
        description="Secrets are masked on the way in. Text stored by an older Engram is checked again, in the "
        "background, whenever the detector learns a new form; these commands show and run that check.",
    )
    sub = p.add_subparsers(dest="secrets_command", metavar="COMMAND", required=True)
    status = sub.add_parser("status", help="whether every stored text is checked with the current detector")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=cmd_status)
    recheck = sub.add_parser("recheck", help="check and mask the stored text now, with progress")
    recheck.add_argument("--json", action="store_true", help="print what was done as JSON")
    recheck.set_defaults(func=cmd_recheck)


def status_line(status: dict) -> str:
    """``engram doctor``'s and ``engram secrets status``'s answer."""
    if status["up_to_date"]:
        return f"yes (detector version {status['detector_version']})"
    return f"{status['rows_left']:,} rows left to check with detector version {status['detector_version']}"


def cmd_status(args, ctx) -> int:
    status = ctx.engine.store.secrets_recheck.status()
    if args.json:
        ctx.print_json(status)
    else:
        ctx.say(f"Stored text checked for secrets: {status_line(status)}.")
    return 0


def cmd_recheck(args, ctx) -> int:
    engine = ctx.engine
    if engine.read_only:
        raise ReadOnlyStoreError(
            f"The data directory {engine.paths.data_dir} is read-only, so stored text cannot be masked now "
            "(nothing was changed).",
            fix="Make it writable again, then run 'engram secrets recheck' (the app also does it by itself).",
        )
    show = progress_printer()

    def progress(done: int, total: int) -> None:
        show("Checking stored text for secrets", done / total if total else 1.0)

    report = recheck_secrets(engine.store, engine.settings, progress=progress if show else None)
    if args.json:
        ctx.print_json(report.to_dict())
        return 0
    if report.rows_checked == 0 and report.rows_masked == 0:
        ctx.say(f"Stored text is already checked with detector version {report.detector_version}: nothing to do.")
        return 0
    ctx.say(f"Checked {report.rows_checked:,} stored rows with detector version {report.detector_version}.")
    if not report.rows_masked:
        ctx.say("No secrets found in them.")
        return 0
    counts = ", ".join(f"{n:,} {LABELS[table][n != 1]}" for table, n in report.masked.items() if n)
    ctx.say(f"Masked secrets in {counts}.")
    if report.kept_in_vault:
        ctx.say(f"Kept {report.kept_in_vault} value{'s' if report.kept_in_vault != 1 else ''} from your own words "
                "in the knowledge vault.")
    ctx.say("The search indexes were rewritten without the values; vectors are computed again in the background.")
    if report.backups_removed:
        n = len(report.backups_removed)
        ctx.say(f"Deleted {n} pre-upgrade cop{'ies' if n != 1 else 'y'} of the database from backups/.")
    for kept in report.backups_kept:
        ctx.say(f"Warning: could not delete {kept['path']} ({kept['why']}); it still holds the values in clear. "
                "Delete it by hand.")
    if report.wal_emptied is False:
        ctx.say("Warning: another program was reading the database, so its write-ahead log could not be emptied yet; "
                "old pages stay in engram.db-wal until Engram next closes.")
    for line in older_backups(engine, what="the values in clear"):
        ctx.say(line)
    return 0


LABELS = {"observations": ("observation", "observations"), "memories": ("memory", "memories"),
          "memory_history": ("history entry", "history entries"), "assistant_chat": ("chat answer", "chat answers"),
          "absorb_rejections": ("absorb rejection", "absorb rejections")}
