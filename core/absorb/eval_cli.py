"""``engram eval absorb``: the absorb evaluation on LoCoMo (the recall CLI adds the ``eval`` group)."""

from __future__ import annotations


def add_eval_parsers(eval_subparsers) -> None:
    p = eval_subparsers.add_parser(
        "absorb",
        help="absorb LoCoMo conversations and score the memories",
        description="Import LoCoMo conversations as chats in a temporary Engram home, absorb them with the "
        "configured model, and report memories by type, rejections, model calls and seconds per batch, and "
        "memory-level evidence recall@10.",
    )
    p.add_argument("--data", required=True, metavar="FILE", help="a LoCoMo JSON file (e.g. locomo-dev.json)")
    p.add_argument("--limit-conversations", type=int, metavar="N", help="only the first N conversations")
    p.add_argument("--max-batches", type=int, metavar="N", help="stop absorbing after N batches in all")
    p.add_argument("--no-llm", action="store_true", help="rule-based extractors only")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_eval_absorb)


def cmd_eval_absorb(args, ctx) -> int:
    from core.absorb.evaluate import evaluate

    report = evaluate(
        args.data,
        limit_conversations=args.limit_conversations,
        max_batches=args.max_batches,
        use_llm=not args.no_llm,
        progress=None if args.json else ctx.warn,
    )
    if args.json:
        ctx.print_json(report)
        return 0
    for key, value in report.items():
        if key != "conversations":
            ctx.say(f"{key}: {value}")
    return 0
