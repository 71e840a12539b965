"""CLI commands for memories and the store: add, get, delete, search, stats, doctor, config."""

from __future__ import annotations

import json
import sys
from typing import Any

from core.errors import InvalidInputError
from core.store.types import MEMORY_TYPES


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser("add", help="store a memory", description="Store a memory of TYPE from a JSON object.")
    p.add_argument("type", metavar="TYPE", help="one of: " + ", ".join(MEMORY_TYPES))
    p.add_argument("--json", dest="data", required=True, help="the memory's fields as a JSON object ('-' reads stdin)")
    p.set_defaults(func=cmd_add)

    p = subparsers.add_parser("get", help="show a memory")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--reveal", action="store_true", help="show knowledge-vault values unmasked")
    p.add_argument("--history", action="store_true", help="include the memory's change history")
    p.set_defaults(func=cmd_get)

    p = subparsers.add_parser("delete", help="delete a memory")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_delete)

    p = subparsers.add_parser("search", help="search memories by keyword and meaning")
    p.add_argument("query")
    p.add_argument("--type", action="append", dest="types", help="limit to a memory type (repeatable)")
    p.add_argument("--since", help="ISO date or time")
    p.add_argument("--until", help="ISO date or time")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--all", action="store_true", help="include archived memories")
    p.add_argument("--repeats", action="store_true",
                   help="also list memories drawn only from sources a better result already cites")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_search)

    p = subparsers.add_parser("ask", help="ask a question; the answer comes from your memories, with citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print JSON (answer, citations, abstained)")
    p.set_defaults(func=cmd_ask)

    p = subparsers.add_parser("recall", help="quick recall: instant search across memories and observations")
    p.add_argument("text")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_recall)

    p = subparsers.add_parser("stats", help="counts of memories and observations")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = subparsers.add_parser("doctor", help="check the installation and say how to fix problems")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = subparsers.add_parser("config", help="show or change settings")
    sub = p.add_subparsers(dest="config_command", metavar="ACTION")
    q = sub.add_parser("list", help="all settings with their values")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_config_list)
    q = sub.add_parser("get")
    q.add_argument("key")
    q.set_defaults(func=cmd_config_get)
    q = sub.add_parser("set")
    q.add_argument("key")
    q.add_argument("value", help="for lists, a JSON array")
    q.set_defaults(func=cmd_config_set)
    p.set_defaults(func=cmd_config_list, json=False)


def _parse_json(text: str) -> Any:
    if text == "-":
        text = sys.stdin.read()
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidInputError(
            "The --json value is nested too deeply to be a memory.",
            fix="Give one flat JSON object of fields, e.g. --json '{\"name\": \"Ada\", \"summary\": \"my sister\"}'.",
        ) from None
    except ValueError as exc:
        raise InvalidInputError(
            f"The --json value is not valid JSON: {exc}.",
            fix='Quote it for the shell, e.g. --json \'{"name": "Ada", "summary": "my sister"}\'.',
        ) from None


def cmd_add(args, ctx) -> int:
    memory, vault = ctx.engine.memories.add_from_user(args.type, _parse_json(args.data))
    ctx.say(str(memory.id))
    for entry in vault:
        ctx.warn(f"A secret in it was masked and kept in the knowledge vault as #{entry.id} ({entry.fields['caption']}).")
    return 0


def cmd_get(args, ctx) -> int:
    from core.store.protect import history_rows

    memory = ctx.engine.memories.get(args.id)
    data = memory.to_dict(reveal=args.reveal)
    if args.history:
        data["history"] = history_rows(ctx.engine.memories.history(memory.id), reveal=args.reveal)
    if args.json:
        ctx.print_json(data)
        return 0
    ctx.say(f"#{memory.id} {memory.spec.label}{' (archived)' if memory.archived else ''}{' (pinned)' if memory.pinned else ''}")
    for name in memory.spec.field_names:
        value = data.get(name)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            value = "\n    " + "\n    ".join(f"{i}. {s}" for i, s in enumerate(value, 1))
        ctx.say(f"  {memory.spec.field(name).label or name}: {value}")
    ctx.say(f"  created {data['created_at']}, updated {data['updated_at']}, importance {memory.importance:.2f}")
    if memory.sources:
        ctx.say(f"  from observations: {', '.join(map(str, memory.sources))}")
    if args.history:
        for row in data["history"]:
            ctx.say(f"  {row['action']} by {row['actor']} at {row['at']}{': ' + row['reason'] if row['reason'] else ''}")
            for name in row["changed"]:
                ctx.say(f"      {name}: {str(row['old_value'].get(name))[:120]} -> {str(row['new_value'].get(name))[:120]}")
    return 0


def cmd_delete(args, ctx) -> int:
    # A user's delete forgets: see core.store.forgetting (and core.forget_cli for the output).
    from core.forget_cli import say_deleted

    memory = ctx.engine.memories.get(args.id)
    return say_deleted(ctx, memory, ctx.engine.forgetting.forget_memory(memory.id))


def cmd_search(args, ctx) -> int:
    results = ctx.engine.memories.search(
        args.query, types=args.types, since=args.since, until=args.until, limit=args.limit, include_archived=args.all,
        for_reader=not getattr(args, "repeats", False),
    )
    if args.json:
        ctx.print_json([r.to_dict() for r in results])
        return 0
    if not results:
        ctx.say("No memories match.")
        return 0
    for r in results:
        ctx.say(f"{r.score:5.3f}  #{r.id:<6} {r.type:<15} {r.memory.text[:100]}")
    return 0


def cmd_ask(args, ctx) -> int:
    if args.json:
        answer = ctx.engine.ask(args.question)
        ctx.print_json(answer.to_dict())
        return 0
    answer = ctx.engine.ask(args.question, on_token=lambda piece: print(piece, end="", flush=True))
    print()
    if answer.fallback and answer.note:
        ctx.warn(f"({answer.note})")
    for citation in answer.citations:
        where = f", {citation.app}" if citation.app else ""
        ctx.say(f"  [{citation.n}] {citation.kind} #{citation.id} ({citation.type}{', ' + citation.time if citation.time else ''}{where}): {citation.label}")
    return 0


def cmd_recall(args, ctx) -> int:
    items = ctx.engine.quick_recall(args.text, limit=args.limit)
    if args.json:
        ctx.print_json(items)
        return 0
    for item in items:
        ctx.say(f"{item['type']:<15} #{item['id']:<6} {item['title'] or ''}: {item['snippet'][:90]}")
    if not items:
        ctx.say("Nothing matches.")
    return 0


def cmd_stats(args, ctx) -> int:
    stats = ctx.engine.stats()
    if args.json:
        ctx.print_json(stats)
        return 0
    ctx.say(f"Memories: {stats['memories']} ({stats['archived']} archived)")
    for name, count in stats["by_type"].items():
        ctx.say(f"  {MEMORY_TYPES[name].label:<16} {count}")
    ctx.say(f"Observations: {stats['observations']} ({stats['observations_unabsorbed']} waiting to be absorbed)")
    ctx.say(f"Waiting for embeddings: {stats['pending_embeddings']}")
    ctx.say(f"Database size: {stats['database_bytes'] / 1e6:.1f} MB")
    return 0


def cmd_doctor(args, ctx) -> int:
    from core.doctor import run_checks

    checks = run_checks(ctx.paths)
    if args.json:
        ctx.print_json([c.__dict__ for c in checks])
    else:
        for check in checks:
            mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[check.status]
            ctx.say(f"[{mark}] {check.name}: {check.detail}")
            if check.fix and check.status != "ok":
                ctx.say(f"       fix: {check.fix}")
    return 1 if any(c.status == "fail" for c in checks) else 0


def cmd_config_list(args, ctx) -> int:
    from core.settings import Settings

    settings = Settings(ctx.paths)
    values = settings.as_dict()
    if getattr(args, "json", False):
        ctx.print_json(values)
        return 0
    for key, spec in settings.specs.items():
        if spec.hidden:
            continue
        ctx.say(f"{key} = {json.dumps(values[key])}    # {spec.label}")
    return 0


def cmd_config_get(args, ctx) -> int:
    from core.settings import Settings

    ctx.say(json.dumps(Settings(ctx.paths).get(args.key)))
    return 0


def cmd_config_set(args, ctx) -> int:
    from core.settings import Settings

    settings = Settings(ctx.paths)
    spec = settings.specs.get(args.key)
    value: Any = args.value
    if spec is not None and spec.type == "list":
        value = _parse_json(args.value) if args.value.strip().startswith("[") else args.value
    settings.set(args.key, value)
    ctx.say(f"{args.key} = {json.dumps(settings.get(args.key))}")
    return 0
