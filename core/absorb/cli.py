"""CLI: ``engram ingest chat FILE`` and ``engram absorb --now``."""

from __future__ import annotations

from core.store.types import MEMORY_TYPES


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser("ingest", help="import history as observations", description="Import chat history.")
    sub = p.add_subparsers(dest="ingest_command", metavar="SOURCE")
    q = sub.add_parser(
        "chat",
        help="import a chat history (Engram JSONL or ChatGPT conversations.json)",
        description="Import chat messages as observations. Importing the same file again adds nothing; "
        "a file with any bad line imports nothing.",
    )
    q.add_argument("file", metavar="FILE")
    q.add_argument("--format", choices=("jsonl", "chatgpt"), help="skip format detection")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_ingest_chat)
    p.set_defaults(func=lambda args, ctx: (p.print_help(), 2)[1])

    p = subparsers.add_parser(
        "absorb",
        help="turn waiting observations into memories",
        description="Absorb the backlog of observations into memories in the foreground and report what was done.",
    )
    p.add_argument("--now", action="store_true", required=True, help="absorb the whole backlog now")
    p.add_argument("--no-llm", action="store_true", help="rule-based extractors only (no chat model)")
    p.add_argument("--max-batches", type=int, help="stop after this many batches")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_absorb)


def cmd_ingest_chat(args, ctx) -> int:
    from core.absorb.ingest import import_chat_file

    report = import_chat_file(ctx.engine.store, args.file, fmt=args.format)
    if args.json:
        ctx.print_json(report.to_dict())
    else:
        ctx.say(
            f"Imported {report.added} new message(s) from {report.conversations} conversation(s) ({report.format}); "
            f"{report.already_present} already present, {report.skipped_empty} empty skipped."
        )
        if report.added:
            ctx.say("Run 'engram absorb --now' to turn them into memories now (or let the background job do it).")
    return 0


def _counts(counter: dict) -> str:
    return ", ".join(f"{counter[t]} {t}" for t in MEMORY_TYPES if counter.get(t)) or "none"


def cmd_absorb(args, ctx) -> int:

    absorber = ctx.engine.make_absorber(use_llm=False if args.no_llm else None)
    progress = None
    if not args.json:
        def progress(batch) -> None:
            ctx.warn(f"  batch {batch.batch_id}: {batch.observations} observation(s), model {batch.llm_state}, "
                     f"{batch.llm_calls} call(s), {batch.seconds:.1f}s")
    report = absorber.absorb_backlog(max_batches=args.max_batches, progress=progress).to_dict()
    if args.json:
        ctx.print_json(report)
        return 0
    ctx.say(f"Absorbed {report['observations']} observation(s) in {report['batches']} batch(es), {report['seconds']:.1f}s.")
    ctx.say(f"  added:    {_counts(report['added'])}")
    ctx.say(f"  updated:  {_counts(report['updated'])}")
    ctx.say(f"  deleted:  {_counts(report['deleted'])}")
    rejected = report["rejected"]
    ctx.say("  rejected: " + (", ".join(f"{n} at {stage}" for stage, n in rejected.items()) or "none"))
    ctx.say(f"  model calls: {report['llm_calls']} (at most {report['llm_calls_max_per_batch']} per batch)")
    if report["llm_pending"]:
        ctx.say(f"  {report['llm_pending']} observation(s) wait for a chat model; the rule-based memories are stored.")
    if report["backlog_after"]:
        ctx.say(f"  {report['backlog_after']} observation(s) still waiting.")
    return 0
