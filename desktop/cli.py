"""``engram app`` (with ``--background``, ``--quick-recall``, ``--quit``) and ``engram app --selftest DIR``.

One app runs per data directory: a second ``engram app`` brings the running
window forward, ``--quick-recall`` opens quick recall in it (a desktop's own
shortcut settings can bind that command, on Wayland too) and ``--quit`` asks
it to quit.

PySide6 is imported inside the handlers, so ``core`` (and the CLI for every
other command) never loads Qt.
"""

from __future__ import annotations

import argparse


def add_parsers(subparsers) -> None:
    parser = subparsers.add_parser(
        "app",
        help="open the desktop app",
        description="Open Engram's desktop app (tray icon, quick recall, chat, memories, timeline).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--background",
        action="store_true",
        help="start in the tray without opening the window, as at login (the window opens where there is no tray)",
    )
    mode.add_argument(
        "--quick-recall",
        action="store_true",
        help="open quick recall, in the Engram already running or in a new one",
    )
    mode.add_argument("--quit", action="store_true", help="ask the running Engram to quit")
    mode.add_argument(
        "--selftest",
        metavar="DIR",
        help="start against a fresh temporary ENGRAM_HOME with sample data, save a PNG of every page into DIR, exit",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx) -> int:
    if args.selftest:
        from desktop.selftest import run_selftest

        return run_selftest(args.selftest)
    from desktop.app import run_app

    command = "quick-recall" if args.quick_recall else "quit" if args.quit else "show"
    return run_app(background=args.background, command=command)
