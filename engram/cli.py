"""``engram``: the command line, wiring the engine's commands, the evaluations and the desktop app's.

The app's command is declared here and imports the app (and Qt) only when it
runs, so every other command, and ``engram --help``, works where Qt cannot load.
"""

from __future__ import annotations

import argparse

from core import cli as core_cli
from evaluation import cli as evaluation_cli


class AppCommand:
    """``engram app`` (with ``--background``, ``--quick-recall``, ``--quit``) and ``engram app --selftest DIR``.

    One app runs per data directory: a second ``engram app`` brings the running
    window forward, ``--quick-recall`` opens quick recall in it (a desktop's own
    shortcut settings can bind that command, on Wayland too) and ``--quit`` asks
    it to quit.
    """

    @staticmethod
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
        parser.set_defaults(func=AppCommand.run)

    @staticmethod
    def run(args: argparse.Namespace, ctx) -> int:
        if args.selftest:
            from desktop.selftest import run_selftest

            return run_selftest(args.selftest)
        from desktop.app import run_app

        command = "quick-recall" if args.quick_recall else "quit" if args.quit else "show"
        return run_app(background=args.background, command=command)


COMMANDS = (*core_cli.CORE_COMMANDS, evaluation_cli, AppCommand)


def build_parser() -> argparse.ArgumentParser:
    return core_cli.build_parser(COMMANDS)


def main(argv: list[str] | None = None) -> int:
    return core_cli.main(argv, COMMANDS)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
