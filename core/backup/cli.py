"""CLI: ``engram backup``, ``backup list``, ``restore``, ``recovery``, ``recover``, ``export`` and ``import``.

``engram restore`` has two meanings, told apart by its argument: a number is
the id of an archived memory to bring back (as before), anything else is a
backup file to restore.  A backup file whose name is a number is written with
its folder (``./12``).
"""

from __future__ import annotations

import getpass
import os
import random
import sys
from pathlib import Path
from typing import Any, Callable

from core.errors import InvalidInputError


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "backup",
        help="make a verified backup now ('backup list' shows them)",
        description="Make a verified, encrypted backup of your memories now, while Engram keeps running. "
        "With a recovery code it opens on any computer with that code.",
    )
    p.add_argument("--to", metavar="DIR", help="back up into DIR instead of the backup folder")
    p.add_argument("--code-file", metavar="FILE",
                   help="a file holding your recovery code: checks it and repairs this computer's recovery file if needed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_backup)
    sub = p.add_subparsers(dest="backup_command", metavar="ACTION")
    q = sub.add_parser("list", help="the backups in the backup folder, newest first")
    q.add_argument("--folder", metavar="DIR", help="list DIR instead of the backup folder")
    q.add_argument("--json", action="store_true", help="print JSON: objects with path, created_at, verified, ...")
    q.set_defaults(func=cmd_backup_list)

    p = subparsers.add_parser(
        "restore",
        help="restore a backup file, or bring back an archived memory (restore ID)",
        description="engram restore FILE replaces the memories on this computer with the backup FILE (the current "
        "database is kept as a backup first). engram restore ID, with a number, brings back the archived memory "
        "with that id. A backup file whose name is a number is given with its folder, e.g. ./12.",
    )
    p.add_argument("target", metavar="FILE|ID")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--code-file", metavar="FILE", help="a file holding the recovery code (instead of typing it)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_restore)

    p = subparsers.add_parser("recovery", help="the recovery code: 'recovery create' makes one; alone, shows whether one exists")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_recovery_status)
    sub = p.add_subparsers(dest="recovery_command", metavar="ACTION")
    q = sub.add_parser(
        "create",
        help="make a recovery code (shown once; write it down)",
        description="Make a recovery code: 8 groups of 4 characters that open your backups on any computer and "
        "put the database key back if this computer's keyring loses it. A new code replaces an older one.",
    )
    q.add_argument("--out", metavar="FILE", help="write the code to FILE (readable only by you) instead of showing it")
    q.add_argument("--yes", action="store_true", help="replace an existing code without asking")
    q.set_defaults(func=cmd_recovery_create)

    p = subparsers.add_parser(
        "recover",
        help="put the database key back into this computer's keyring, using the recovery code",
        description="When the keyring (or engram.key) lost the database key, the recovery code gets it back from "
        "the recovery file beside the database.",
    )
    p.add_argument("--code-file", metavar="FILE", help="a file holding the recovery code (instead of typing it)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_recover)

    p = subparsers.add_parser(
        "export",
        help="write your memories as JSON, Markdown (Obsidian/Logseq) or CSV",
        description="Export memories. JSON is complete (every type, uid, times, importance, pins, provenance with "
        "the source text, history) and can be imported back; Markdown is a folder of notes; CSV one file per type. "
        "Knowledge-vault values are masked unless --reveal-vault.",
    )
    p.add_argument("--format", required=True, choices=("json", "markdown", "csv"))
    p.add_argument("--out", required=True, metavar="PATH", help="a file for JSON, a folder for Markdown and CSV")
    p.add_argument("--type", action="append", dest="types", metavar="T", help="only this memory type (repeatable)")
    p.add_argument("--since", metavar="ISO", help="only memories from this date or time on")
    p.add_argument("--until", metavar="ISO", help="only memories up to this date or time")
    p.add_argument("--reveal-vault", action="store_true", help="write knowledge-vault values in the clear")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser(
        "import",
        help="bring back memories from Engram's JSON export (twice adds nothing)",
        description="Read a JSON file written by 'engram export --format json'. Memories already here (same uid, "
        "or the same type and content) are skipped. A backup is made first.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_import)


# -- helpers --------------------------------------------------------------------------


def _interactive() -> bool:
    return sys.stdin.isatty()


def _confirm(question: str, *, flag: str = "--yes") -> None:
    if not _interactive():
        raise InvalidInputError(f"{question} (There is no terminal to ask.)", fix=f"Add {flag} to go ahead.")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise InvalidInputError("Stopped; nothing was changed.", fix=None)


def read_code(code_file: str | None):
    """The recovery code from ``--code-file``, or typed (not echoed) at the terminal."""
    from core.backup.recovery import RecoveryCode, read_code_file

    if code_file:
        return read_code_file(code_file)
    if not _interactive():
        raise InvalidInputError(
            "This needs your recovery code, and there is no terminal to ask for it.",
            fix="Pass --code-file FILE (a file holding the code).",
        )
    for attempt in range(3):
        text = getpass.getpass("Recovery code (8 groups of 4, typing is hidden): ")
        try:
            return RecoveryCode.parse(text)
        except InvalidInputError as exc:
            if attempt == 2:
                raise
            print(f"{exc.message} {exc.fix or ''}".strip(), file=sys.stderr)
    raise AssertionError("unreachable")


def progress_printer() -> Callable[[str, float], None] | None:
    """One self-overwriting progress line on a terminal's stderr; nothing when not a terminal."""
    if not sys.stderr.isatty():
        return None
    last: list[Any] = [None]

    def show(stage: str, fraction: float) -> None:
        line = f"{stage}… {int(fraction * 100)}%"
        if line != last[0]:
            last[0] = line
            sys.stderr.write("\r" + line.ljust(60))
            sys.stderr.flush()
            if fraction >= 1.0:
                sys.stderr.write("\n")

    return show


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _describe_counts(info: dict) -> str:
    by_type = info.get("memories_by_type") or {}
    parts = [f"{n} {name}" for name, n in by_type.items() if n]
    return f"{info.get('memories', 0)} memories ({', '.join(parts) or 'none'}), {info.get('observations', 0)} observations"


# -- backup ---------------------------------------------------------------------------


def cmd_backup(args, ctx) -> int:
    backups = ctx.engine.backups
    if args.code_file:
        backups.repair_recovery(read_code(args.code_file))
    info = backups.create("manual", folder=Path(args.to).expanduser() if args.to else None, progress=progress_printer())
    if args.json:
        ctx.print_json(info.to_dict())
        return 0
    data = info.to_dict()
    ctx.say(f"Backed up to {info.path} ({_size(info.bytes)}), verified.")
    ctx.say(f"  {_describe_counts(data)}")
    if info.key_kind == "recovery-code":
        ctx.say("  Opens with your recovery code, on any computer.")
    else:
        ctx.say("  Locked with this computer's key: there is no recovery code, so it opens only where that key is.")
        ctx.say("  Make one with 'engram recovery create' so backups open on another computer too.")
    if info.problem:
        ctx.warn(info.problem)
    return 0


def cmd_backup_list(args, ctx) -> int:
    from core.backup.backups import BackupService
    from core.settings import Settings

    # Listing reads only the manifests: no key and no open database needed.
    service = BackupService(ctx.paths, Settings(ctx.paths), "00" * 32)
    folder = Path(args.folder).expanduser() if args.folder else service.folder()
    backups = service.list(folder)
    if args.json:
        ctx.print_json([b.to_dict() for b in backups])
        return 0
    if not backups:
        ctx.say(f"No backups in {folder}. Make one with 'engram backup'.")
        return 0
    ctx.say(f"Backups in {folder}, newest first:")
    for b in backups:
        if b.problem:
            ctx.say(f"  {b.path.name}  UNREADABLE: {b.problem}")
            continue
        data = b.to_dict()
        key = "recovery code" if b.key_kind == "recovery-code" else "this computer's key"
        ctx.say(f"  {data['created_at'].replace('T', ' ')[:16]}  {b.kind:<16} {_size(b.bytes):>9}  "
                f"{data['memories']:>6} memories  {'verified' if b.verified else 'NOT verified'}, opens with {key}")
        ctx.say(f"      {b.path}")
    return 0


# -- restore --------------------------------------------------------------------------


def cmd_restore(args, ctx) -> int:
    target = args.target.strip()
    if target.lstrip("-").isdigit():  # a memory id (a negative one names no memory, and says so)
        from core.consolidate.cli import cmd_restore as restore_archived

        args.id = int(target)
        return restore_archived(args, ctx)
    from core.backup.restore import inspect_backup, restore_backup
    from core.settings import Settings

    paths = ctx.paths
    backup = inspect_backup(paths, target)
    data = backup.to_dict()
    if not args.json:
        ctx.say(f"Backup made {data['created_at'].replace('T', ' ')[:16]} UTC on {data.get('host') or 'unknown'} "
                f"by Engram {data.get('engram_version')}: {_describe_counts(data)}.")
    if not args.yes:
        _confirm("Replace the memories on this computer with this backup? The current database is kept as a backup first.")
    code = read_code(args.code_file) if backup.needs_code else None
    report = restore_backup(paths, Settings(paths), backup.path, code=code, progress=progress_printer())
    if args.json:
        ctx.print_json(report)
        return 0
    ctx.say(f"Restored {report['memories']} memories and {report['observations']} observations from {backup.path.name}.")
    if report["previous"]:
        ctx.say(f"The database it replaced is kept as {report['previous']}.")
    if report["key_created"]:
        ctx.say("This computer had no database key: a new one was made and the restored database is locked with it.")
    if report["recovery_file"] == "written":
        ctx.say("Your recovery code now works on this computer too.")
    return 0


# -- recovery code --------------------------------------------------------------------


def cmd_recovery_status(args, ctx) -> int:
    from core.backup.recovery import RecoveryError, load_recovery_file
    from core.store.types import iso

    try:
        recovery = load_recovery_file(ctx.paths)
        problem = None
    except RecoveryError as exc:
        recovery, problem = None, exc.message
    data = {
        "exists": recovery is not None,
        "created_at": iso(recovery.created_at) if recovery else None,
        "file": str(ctx.paths.recovery_file),
        "problem": problem,
    }
    if args.json:
        ctx.print_json(data)
        return 0
    if recovery is not None:
        ctx.say(f"A recovery code exists (made {data['created_at'].replace('T', ' ')[:16]} UTC). "
                "Backups open with it on any computer.")
    else:
        ctx.say(problem or "There is no recovery code. If this computer's keyring or key file is lost, every memory "
                "is lost with it, backups included. Make one with 'engram recovery create'.")
    return 0


def _write_code_file(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInputError(f"{path} already exists; Engram does not overwrite it.",
                                fix="Choose another file name, or remove the old file first.") from None
    except OSError as exc:
        raise InvalidInputError(f"Engram cannot write {path}: {exc.strerror or exc}.",
                                fix="Choose a writable place for the code file.") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def cmd_recovery_create(args, ctx) -> int:
    from core.backup.recovery import RecoveryCode, RecoveryError
    from core.store.types import iso

    backups = ctx.engine.backups
    try:
        existing = backups.recovery()
    except RecoveryError:
        existing = True  # a damaged file: replacing it is the fix
    if existing and not args.yes:
        made = iso(existing.created_at)[:10] if existing is not True else "unknown date"
        _confirm(f"A recovery code already exists (made {made}). A new one replaces it: backups made from now on "
                 "open only with the new code, older backups still need the old one. Make a new code?")
    code = RecoveryCode.generate()
    if args.out:
        out = Path(args.out).expanduser()
        _write_code_file(out, code.formatted())
        try:
            backups.set_up_recovery(code)
        except BaseException:
            out.unlink()
            raise
        ctx.say(f"Recovery code written to {out} (readable only by you). Copy it somewhere safe away from this "
                "computer (on paper, or in a password manager), then delete the file.")
        return 0
    ctx.say("Your recovery code (shown only now; write it down and keep it away from this computer):")
    ctx.say("")
    ctx.say("    " + "  ".join(code.groups))
    ctx.say("")
    if _interactive():
        first, second = sorted(random.sample(range(8), 2))
        for attempt in range(3):
            typed = [input(f"To check you wrote it down, type group {n + 1}: ").strip().upper() for n in (first, second)]
            if typed == [code.groups[first], code.groups[second]]:
                break
            ctx.warn("That does not match. Look at your written copy again.")
        else:
            raise InvalidInputError("The groups typed do not match, so the code was not saved.",
                                    fix="Run 'engram recovery create' again and copy the code carefully.")
    backups.set_up_recovery(code)
    ctx.say("Saved. From now on backups open with this code on any computer; 'engram recover' puts the database "
            "key back with it if this computer's keyring loses it.")
    return 0


def cmd_recover(args, ctx) -> int:
    from core.backup.restore import recover_key

    report = recover_key(ctx.paths, read_code(args.code_file))
    if args.json:
        ctx.print_json(report)
        return 0
    if report["status"] == "unchanged":
        ctx.say("The database key is already in place and opens the database; nothing to do.")
    else:
        where = "the OS keyring" if report["storage"] == "keyring" else f"the key file {report['location']}"
        ctx.say(f"The database key is back, in {where}. Engram opens your memories again.")
    return 0


# -- export and import ----------------------------------------------------------------


def cmd_export(args, ctx) -> int:
    from core.backup.exporting import export_memories

    report = export_memories(
        ctx.engine, args.format, Path(args.out).expanduser(), types=args.types, since=args.since, until=args.until,
        reveal_vault=args.reveal_vault, progress=progress_printer(),
    )
    if args.json:
        ctx.print_json(report)
        return 0
    ctx.say(f"Exported {report['memories']} memories as {args.format} to {report['path']}.")
    if report.get("vault_masked"):
        ctx.say("Knowledge-vault values are masked (use --reveal-vault to write them in the clear).")
    return 0


def cmd_import(args, ctx) -> int:
    from core.backup.importing import import_memories

    report = import_memories(ctx.engine, Path(args.file).expanduser(), progress=progress_printer())
    if args.json:
        ctx.print_json(report)
        return 0
    ctx.say(f"Imported {report['added']} memories; {report['skipped']} were already here.")
    if report.get("backup"):
        ctx.say(f"A backup was made first: {report['backup']}")
    for note in report.get("notes", [])[:20]:
        ctx.warn("  " + note)
    return 0
