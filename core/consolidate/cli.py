"""CLI: ``engram consolidate --now``, ``engram jobs`` and ``engram restore ID`` (its parser is in core.backup.cli)."""

from __future__ import annotations

from datetime import datetime


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "consolidate",
        help="merge duplicates, write digests, learn recurring facts, archive faded memories",
        description="Run a deep consolidation pass in the foreground and print what changed.",
    )
    p.add_argument("--now", action="store_true", required=True, help="run the deep pass now")
    p.add_argument("--no-llm", action="store_true", help="rules only (no chat model)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_consolidate)

    p = subparsers.add_parser("jobs", help="background jobs with their last and next runs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_jobs)
    # 'engram restore ID' is parsed by core.backup.cli, which also restores backup files; it calls cmd_restore.


def cmd_consolidate(args, ctx) -> int:
    from core.consolidate.jobs import DEEP_JOB

    consolidator = ctx.engine.make_consolidator(use_model=False if args.no_llm else None)
    # Run through the scheduler so the run is recorded and counts as the nightly pass.
    record = ctx.engine.scheduler.run(DEEP_JOB, func=lambda stop: consolidator.deep_pass(stop=stop))
    if record["status"] != "ok":
        ctx.warn(f"The consolidation pass {record['status']}: {record.get('error') or ''}".rstrip(": "))
        return 1
    report = record["report"]
    if args.json:
        ctx.print_json(report)
        return 0
    merge, digests, promotion, decay, retention = (
        report["merge"], report["digests"], report["promotion"], report["decay"], report["retention"])
    ctx.say(f"Deep pass done in {report['seconds']:.1f}s ({'model ' + report['model'] if report.get('model') else 'rules only'}).")
    refused = sum(merge["refused"].values()) + merge["model_refused"]
    ctx.say(f"  merged:    {merge['merged']} duplicate(s) of {merge['candidates']} similar pair(s); {refused} refused"
            + (f", {merge['deferred']} left for the next pass" if merge["deferred"] else ""))
    for survivor, absorbed in merge["pairs"][:10]:
        ctx.say(f"             #{absorbed} into #{survivor}")
    ctx.say(f"  digests:   {digests['daily_added']} daily and {digests['weekly_added']} weekly added, "
            f"{digests['daily_refreshed'] + digests['weekly_refreshed']} refreshed")
    ctx.say(f"  promoted:  {promotion['promoted']} recurring fact(s)" + (
        ": " + "; ".join(promotion["facts"][:5]) if promotion["facts"] else ""))
    ctx.say(f"  archived:  {decay['archived']} faded memory(ies) of {decay['checked']} checked (restore with 'engram restore ID')")
    ctx.say(f"  raw data:  {retention['thumbnails_purged']} screenshot(s) and {retention['texts_purged']} screen text(s) removed")
    return 0


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "never"


def jobs_table(scheduler) -> list[dict]:
    """Every job with its last run and its next run (last run + interval when the scheduler is not running)."""
    now = scheduler.clock()
    out = []
    for job in scheduler.jobs():
        last = job["last_run"] or {}
        last_ok = scheduler.last_run(job["name"], status="ok")
        due_at = (last_ok["finished_at"] + job["interval_seconds"]) if last_ok and last_ok.get("finished_at") else now
        out.append({
            "name": job["name"], "description": job["description"], "interval_seconds": job["interval_seconds"],
            "last_run": {k: last.get(k) for k in ("started_at", "finished_at", "status", "error")} if last else None,
            "last_report": last.get("report") if last else None,
            "next_run": job["next_run"] or datetime.fromtimestamp(max(now, due_at)).isoformat(timespec="seconds"),
            "due": job["due"],
        })
    return out


def cmd_jobs(args, ctx) -> int:
    rows = jobs_table(ctx.engine.scheduler)
    if args.json:
        ctx.print_json(rows)
        return 0
    for row in rows:
        last = row["last_run"]
        status = f"{_when(last['started_at'])} ({last['status']})" if last else "never"
        ctx.say(f"{row['name']:<20} every {_interval(row['interval_seconds']):<6} last {status:<30} next {row['next_run'].replace('T', ' ')[:16]}")
        ctx.say(f"{'':<20} {row['description']}")
    return 0


def _interval(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{int(seconds // 86400)}d"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 60)}m" if seconds >= 60 else f"{int(seconds)}s"


def cmd_restore(args, ctx) -> int:
    from core.consolidate.forgetting import restore

    memory = restore(ctx.engine.memories, args.id)
    if args.json:
        ctx.print_json(memory.to_dict())
    else:
        ctx.say(f"Restored #{memory.id}: {memory.title}")
    return 0
