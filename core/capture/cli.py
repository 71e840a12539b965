"""``engram capture``: one frame now, the loop in the foreground, or the status.

``engram capture --once [--json]`` and ``engram capture start|status`` share
one parser: the action is an optional positional, and ``--once`` is the same
as the ``once`` action.
"""

from __future__ import annotations

import signal
import threading
import time

from core.errors import InvalidInputError

ACTIONS = ("once", "start", "status", "pause", "resume")


def add_parsers(subparsers) -> None:
    parser = subparsers.add_parser(
        "capture",
        help="read the screen: one frame now, the capture loop, or its status",
        description="Screen capture. 'engram capture --once' reads one frame now; "
        "'engram capture start' runs the loop until Ctrl-C; 'engram capture status' shows its health.",
    )
    parser.add_argument("action", nargs="?", choices=ACTIONS, help="what to do (default: status)")
    parser.add_argument("--once", action="store_true", help="capture one frame now and print what was kept")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--minutes", type=float, default=None, help="with 'pause': how long (default: until resumed)")
    parser.set_defaults(func=run_capture)


def run_capture(args, ctx) -> int:
    action = args.action or ("once" if args.once else "status")
    if args.once and args.action not in (None, "once"):
        raise InvalidInputError(
            f"'--once' cannot be combined with '{args.action}'.", fix="Use 'engram capture --once' on its own."
        )
    if action == "once":
        return _once(args, ctx)
    if action == "start":
        return _start(args, ctx)
    if action == "pause":
        status = ctx.engine.pause_capture(None if args.minutes is None else args.minutes * 60)
        ctx.say(("Capture paused." if args.minutes is None else f"Capture paused for {args.minutes:g} minutes.")
                + _where(status))
        return 0
    if action == "resume":
        status = ctx.engine.resume_capture()
        ctx.say("Capture resumed." + _where(status))
        return 0
    return _status(args, ctx)


def _once(args, ctx) -> int:
    outcome = ctx.engine.capture.capture_once()
    if args.json:
        ctx.print_json(outcome.to_dict())
        return 0
    if not outcome.kept:
        ctx.say(f"Nothing kept: {outcome.reason}" + (f" ({outcome.detail})" if outcome.detail else "") + ".")
        return 0
    for monitor in outcome.monitors:
        if "id" not in monitor:
            continue
        ctx.say(f"Observation {monitor['id']} — monitor {monitor['monitor']}, {monitor.get('app') or 'unknown app'}: "
                f"{monitor.get('window_title') or ''}")
        ctx.say(monitor["text"])
    hidden = ctx.engine.capture.status().get("hidden_summary")
    if hidden:
        ctx.say(f"({hidden}.)")
    return 0


def _where(status: dict) -> str:
    if status.get("where") == "app":
        return f" The running Engram app (pid {status['pid']}) follows within seconds."
    return " It applies when Engram captures next."


def _status(args, ctx) -> int:
    status = ctx.engine.capture_status()
    if args.json:
        ctx.print_json(status)
        return 0
    last = status["last_frame_at"]
    where = f" (in the running Engram app, pid {status['pid']})" if status.get("where") == "app" else ""
    ctx.say(f"State: {status['state']}{where}")
    until = status.get("paused_until")
    if status.get("paused") or until:
        ctx.say("Paused until you resume it" if not until else f"Paused until {time.strftime('%H:%M', time.localtime(until))}")
    ctx.say(f"Last frame: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(last)) if last else 'never'}")
    ctx.say(
        f"Frames kept {status['frames_kept']}, skipped {status['frames_skipped']}, excluded {status['frames_excluded']}, "
        f"dropped {status['frames_dropped']}, merged {status['frames_merged']}; OCR backlog {status['ocr_backlog']}"
    )
    if status.get("hidden_summary"):
        ctx.say(f"In the last frame, {status['hidden_summary']}.")
    if status["last_error"]:
        ctx.say(f"Last problem: {status['last_error']}")
        if status.get("last_error_fix"):
            ctx.say(f"Fix: {status['last_error_fix']}")
    return 0


def _start(args, ctx) -> int:
    capture = ctx.engine.capture
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    unsubscribe = ctx.engine.events.subscribe("capture_did_fail", lambda message: ctx.warn(f"engram: {message}"))
    ctx.say("Capturing; press Ctrl-C to stop.")
    capture.start()
    try:
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        capture.stop()
        unsubscribe()
        signal.signal(signal.SIGTERM, previous)
    status = capture.status()
    ctx.say(f"Stopped. Frames kept {status['frames_kept']}, skipped {status['frames_skipped']}, "
            f"excluded {status['frames_excluded']}, dropped {status['frames_dropped']}.")
    return 0
