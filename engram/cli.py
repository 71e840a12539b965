"""``engram``: the command line, wiring the engine's commands, the evaluations and the desktop app's.

The app's command is declared here and imports the app (and Qt) only when it
runs, so every other command, and ``engram --help``, works where Qt cannot load.
"""

from __future__ import annotations

import argparse

from core import cli as core_cli
from evaluation import cli as evaluation_cli


class AppCommand:
    """``engram app`` and ``engram app --selftest DIR``."""

    @staticmethod
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
        parser.set_defaults(func=AppCommand.run)

    @staticmethod
    def run(args: argparse.Namespace, ctx) -> int:
        if args.selftest:
            from desktop.selftest import run_selftest

            return run_selftest(args.selftest)
        from desktop.app import run_app

        return run_app()


COMMANDS = (*core_cli.CORE_COMMANDS, evaluation_cli, AppCommand)


def build_parser() -> argparse.ArgumentParser:
    return core_cli.build_parser(COMMANDS)


def main(argv: list[str] | None = None) -> int:
    return core_cli.main(argv, COMMANDS)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
