"""``engram models ...``: list, pull, import, use and test local models.

The handlers build their own ``ModelManager`` instead of opening the whole
engine: none of them needs the database, and 'models pull' must work before
Engram was ever set up.
"""

from __future__ import annotations

import sys
import threading
import time


def add_parsers(subparsers) -> None:
    models = subparsers.add_parser("models", help="list, download, import, choose and test local models")
    sub = models.add_subparsers(dest="models_command", metavar="ACTION")

    p = sub.add_parser("list", help="installed and available models, with a recommendation for this machine")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--measure", action="store_true",
                   help="first time the chat model here (a few seconds), so the recommendation weighs this computer's speed")
    p.set_defaults(func=list_models)

    p = sub.add_parser("pull", help="download a model from the catalog (resumes an interrupted download)")
    p.add_argument("name", help="a catalog name from 'engram models list'")
    p.set_defaults(func=pull_model)

    p = sub.add_parser("import", help="adopt a local GGUF file after checking it")
    p.add_argument("path", help="the .gguf file")
    p.add_argument("--name", help="the name to register it under (default: from the file name)")
    p.add_argument("--role", choices=("chat", "embedding"), help="override the detected role")
    p.set_defaults(func=import_model)

    p = sub.add_parser("use", help="make a model the chat or embedding model")
    p.add_argument("name")
    p.add_argument("--role", choices=("chat", "embedding"), help="default: the model's role in the catalog")
    p.set_defaults(func=use_model)

    p = sub.add_parser("test", help="load both models, run one generation and one embedding")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=test_models)

    models.set_defaults(func=lambda args, ctx: (models.print_help(), 2)[1])


def _manager(ctx):
    from core.events import EventBus
    from core.models.manager import ModelManager
    from core.settings import Settings

    events = EventBus()
    return ModelManager(ctx.paths, Settings(ctx.paths, events), events)


def _size(value) -> str:
    if not value:
        return "?"
    if value >= 1024**3:
        return f"{value / 1024**3:.1f} GB"
    return f"{value / 1024**2:.0f} MB"


def list_models(args, ctx) -> int:
    manager = _manager(ctx)
    try:
        if getattr(args, "measure", False):
            manager.measure_speed()
        listing = manager.list()
    finally:
        manager.close()
    if args.json:
        ctx.print_json(listing)
        return 0
    ram = listing["total_ram_bytes"]
    for role in ("chat", "embedding"):
        ctx.say(f"{role.capitalize()} models:")
        for row in listing["models"]:
            if row["role"] != role:
                continue
            marks = []
            if row["configured"]:
                marks.append("in use")
            if row["installed"]:
                marks.append("installed")
            elif row["downloadable"]:
                marks.append("available")
            if row["recommended"]:
                marks.append("recommended")
            if row.get("batch_seconds") is not None:
                marks.append(f"about {row['batch_seconds']:.0f} s a batch here")
            flag = "*" if row["configured"] else " "
            ctx.say(f" {flag} {row['name']:<34} {_size(row.get('size')):>8}  {', '.join(marks)}")
        ctx.say()
    rec = listing["recommended"]
    ctx.say(f"This machine has {_size(ram)} of RAM; recommended: chat {rec['chat']}, embedding {rec['embedding']}.")
    speed = listing.get("speed")
    if speed:
        ctx.say(f"Chat: {listing['chat_recommendation']} (measured with {speed['model']}: "
                f"{speed['prefill_tokens_per_second']:.0f} tokens/s reading, {speed['decode_tokens_per_second']:.0f} writing).")
    else:
        ctx.say(f"Chat: {listing['chat_recommendation']}; 'engram models list --measure' times this computer.")
    ctx.say("Download with 'engram models pull NAME', then 'engram models use NAME'.")
    return 0


class ProgressBar:
    """A one-line text progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self._last_line = ""
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_percent = -10

    def __call__(self, done: int, total: int | None) -> None:
        elapsed = max(1e-6, time.monotonic() - self.started)
        rate = done / elapsed / 1e6
        if total:
            fraction = min(1.0, done / total)
            filled = int(fraction * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"{self.label} [{bar}] {fraction * 100:5.1f}% {done / 1e6:8.1f}/{total / 1e6:.1f} MB {rate:6.1f} MB/s"
            percent = int(fraction * 100)
        else:
            line = f"{self.label} {done / 1e6:8.1f} MB {rate:6.1f} MB/s"
            percent = int(done / 1e7)
        if self._tty:
            self.stream.write("\r" + line.ljust(len(self._last_line)))
            self.stream.flush()
        elif percent >= self._last_percent + 10:
            self._last_percent = percent
            self.stream.write(line + "\n")
        self._last_line = line

    def finish(self) -> None:
        if self._tty and self._last_line:
            self.stream.write("\n")
            self.stream.flush()


def pull_model(args, ctx) -> int:
    manager = _manager(ctx)
    bar = ProgressBar(args.name)
    cancel = threading.Event()
    try:
        entry = manager.catalog.get(args.name)
        if manager.locate(entry) is not None:
            ctx.say(f"{args.name} is already installed at {manager.locate(entry)}.")
            return 0
        try:
            path = manager.pull(args.name, progress=bar, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            bar.finish()
            ctx.warn("Download interrupted; run the same command again to resume.")
            return 130
        bar.finish()
    finally:
        manager.close()
    ctx.say(f"Downloaded and verified {args.name}: {path}")
    ctx.say(f"Use it with 'engram models use {args.name}'.")
    return 0


def import_model(args, ctx) -> int:
    manager = _manager(ctx)
    try:
        entry = manager.import_file(args.path, name=args.name, role=args.role)
    finally:
        manager.close()
    ctx.say(f"Imported {args.path} as {entry.name} ({entry.role} model).")
    ctx.say(f"Use it with 'engram models use {entry.name}'.")
    return 0


def use_model(args, ctx) -> int:
    manager = _manager(ctx)
    try:
        role = manager.use(args.name, role=args.role)
    finally:
        manager.close()
    ctx.say(f"The {role} model is now {args.name}.")
    if role == "embedding":
        ctx.say("Engram re-embeds your memories with it in the background the next time it runs.")
    return 0


def test_models(args, ctx) -> int:
    manager = _manager(ctx)
    report: dict = {}
    try:
        chat = manager.chat_model()
        embedder = manager.embedder()
        load_chat = chat.load()
        started = time.perf_counter()
        reply = chat.chat(
            [{"role": "system", "content": "You are a helpful assistant."},
             {"role": "user", "content": "In one sentence, what is a memory?"}],
            max_tokens=48,
        )
        elapsed = time.perf_counter() - started
        stats = chat.last_stats
        tokens = int(stats.get("completion_tokens") or 0)
        decode = max(1e-9, stats.get("total_seconds", elapsed) - stats.get("prefill_seconds", 0.0))
        speed = manager.measure_speed()
        load_embed = embedder.load()
        started = time.perf_counter()
        vector = embedder.embed_one("Engram remembers what you saw on screen.")
        embed_seconds = time.perf_counter() - started
        report = {
            "chat": {
                "name": chat.name,
                "load_seconds": round(load_chat, 3),
                "completion_tokens": tokens,
                "tokens_per_second": round(tokens / decode, 2) if tokens else None,
                "seconds": round(elapsed, 3),
                "reply": reply,
                "speed": speed.to_dict(),
            },
            "embedding": {
                "name": embedder.name,
                "load_seconds": round(load_embed, 3),
                "dimension": int(vector.shape[0]),
                "seconds": round(embed_seconds, 4),
            },
            "threads": manager.status()["threads"],
        }
    finally:
        manager.close()
    if args.json:
        ctx.print_json(report)
        return 0
    c, e = report["chat"], report["embedding"]
    ctx.say(f"Chat model:      {c['name']} (loaded in {c['load_seconds']:.2f} s)")
    ctx.say(f"  generation:    {c['completion_tokens']} tokens, {c['tokens_per_second'] or 0:.1f} tokens/s")
    ctx.say(f"  measured:      {c['speed']['prefill_tokens_per_second']:.0f} tokens/s reading a prompt, "
            f"{c['speed']['decode_tokens_per_second']:.0f} writing (kept for 'engram models list')")
    ctx.say(f"  reply:         {c['reply'].strip()[:200]}")
    ctx.say(f"Embedding model: {e['name']} (loaded in {e['load_seconds']:.2f} s)")
    ctx.say(f"  dimension:     {e['dimension']} ({e['seconds'] * 1000:.0f} ms for one text)")
    ctx.say(f"Threads:         {report['threads']}")
    return 0
