"""``engram eval ...``: the benchmarks of Engram's memory, as one command group.

- ``eval locomo``: evidence recall@k of retrieval on LoCoMo (``evaluation.locomo``);
- ``eval absorb``: memories absorbed from LoCoMo conversations (``evaluation.absorb``);
- ``eval memory``: memory-quality cases (``evaluation.memory``).
"""

from __future__ import annotations

import sys


def add_parsers(subparsers) -> None:
    evaluation = subparsers.add_parser("eval", help="benchmarks: retrieval recall on LoCoMo, and more")
    eval_subparsers = evaluation.add_subparsers(dest="eval_command", metavar="BENCHMARK")
    _add_locomo(eval_subparsers)
    _add_absorb(eval_subparsers)
    _add_memory(eval_subparsers)
    evaluation.set_defaults(func=lambda args, ctx: (evaluation.print_help(), 2)[1])


def _add_locomo(eval_subparsers) -> None:
    p = eval_subparsers.add_parser(
        "locomo",
        help="evidence recall@k of Engram's retrieval vs BM25 and dense search on a LoCoMo file",
        description="Ingests every turn of each conversation as an observation (no LLM), asks each question of "
        "categories 1-4 and reports evidence recall@k for Engram, BM25 alone and dense alone on the same index.",
    )
    p.add_argument("--data", required=True, help="LoCoMo JSON file (e.g. ../shared/data/locomo-dev.json)")
    p.add_argument("--k", type=int, default=10, help="items retrieved per question (default 10)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--qa", action="store_true", help="also answer with the chat model and report LoCoMo token F1")
    p.add_argument("--qa-questions", type=int, default=None, metavar="N", help="with --qa, answer at most N questions per conversation")
    p.add_argument("--conversations", help="only these conversations, by index: '0,1,2' or '3-4'")
    p.add_argument("--no-cache", action="store_true", help="do not reuse or save cached turn embeddings")
    p.set_defaults(func=run_locomo)


def parse_selection(text: str | None, count: int) -> list[int]:
    """Indexes named by ``'0,2'``, ``'1-3'`` or a mix; all of ``range(count)`` for None."""
    from core.errors import InvalidInputError

    if not text:
        return list(range(count))
    chosen: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                chosen.extend(range(lo, hi + 1))
            else:
                chosen.append(int(part))
        except ValueError as exc:
            raise InvalidInputError(f"Cannot read the conversation selection {text!r}.", fix="Use e.g. '0,1,2' or '3-4'.") from exc
    bad = [i for i in chosen if not 0 <= i < count]
    if bad:
        raise InvalidInputError(f"The file has {count} conversations; {bad} is out of range.", fix=f"Use indexes 0-{count - 1}.")
    return list(dict.fromkeys(chosen))


def run_locomo(args, ctx) -> int:
    from core.errors import InvalidInputError
    from core.events import EventBus
    from core.models.manager import ModelManager
    from evaluation.embed_cache import CachingEmbedder
    from evaluation.locomo import evaluate_locomo, format_report, load_locomo
    from core.settings import Settings

    if args.k < 1:
        raise InvalidInputError("--k must be at least 1.", fix="For example --k 10.")
    conversations = load_locomo(args.data)
    conversations = [conversations[i] for i in parse_selection(args.conversations, len(conversations))]
    events = EventBus()
    manager = ModelManager(ctx.paths, Settings(ctx.paths, events), events)
    try:
        inner = manager.embedder()
        cache = None if args.no_cache else ctx.paths.cache_dir / "eval" / f"embeddings-{inner.name}.npz"
        embedder = CachingEmbedder(inner, cache)
        chat = manager.chat_model() if args.qa else None
        report = evaluate_locomo(
            conversations, embedder, k=args.k, chat_model=chat, progress=lambda line: print(line, file=sys.stderr),
            qa_limit=args.qa_questions,
        )
        embedder.save()
    finally:
        manager.close()
    if args.json:
        ctx.print_json(report)
    else:
        ctx.say(format_report(report))
    return 0


def _add_absorb(eval_subparsers) -> None:
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
    p.set_defaults(func=run_absorb)


def run_absorb(args, ctx) -> int:
    from evaluation.absorb import evaluate

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


def _add_memory(eval_subparsers) -> None:
    p = eval_subparsers.add_parser(
        "memory",
        help="memory-quality cases: expected and forbidden memories, answers, leaks",
        description="Run each case of an engram-memory-eval/1 file in a fresh temporary store: import its messages "
        "and screens, absorb and consolidate as the background jobs do, ask its questions as 'engram ask' does, "
        "and score the memories and answers (point recall, forbidden memories, visible leaks, duplicates, junk, "
        "QA accuracy, answered unanswerables, unsupported numbers).",
    )
    p.add_argument("--data", required=True, metavar="FILE", help="a case file (e.g. evaluation/data/memory-cases.json)")
    p.add_argument("--no-llm", action="store_true", help="rules only: no chat model for absorbing, consolidating or answering")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=run_memory)


def run_memory(args, ctx) -> int:
    from core.events import EventBus
    from core.models.manager import ModelManager
    from core.settings import Settings
    from evaluation.memory import evaluate_memory, format_report
    from evaluation.memory_cases import load_cases

    cases = load_cases(args.data)
    for warning in cases.warnings:
        ctx.warn(f"warning: {warning}")
    events = EventBus()
    manager = ModelManager(ctx.paths, Settings(ctx.paths, events), events)
    try:
        embedder = manager.embedder()
        chat = None if args.no_llm else manager.chat_model()
        report = evaluate_memory(cases, use_llm=not args.no_llm, chat_model=chat, embedder=embedder, progress=ctx.warn)
    finally:
        manager.close()
    if args.json:
        ctx.print_json(report)
    else:
        ctx.say(format_report(report))
    return 0
