"""``engram app`` and ``engram app --selftest DIR``.

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
    parser.add_argument(
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

    return run_app()
