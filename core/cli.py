"""The engine's commands of the ``engram`` command line.

Commands are grouped in modules; each exposes ``add_parsers(subparsers)`` and
sets ``func(args, ctx)`` on its parsers.  ``ctx`` is a ``CliContext`` that opens
the engine only when a command needs it.  Every ``EngramError`` becomes a
message with its fix on stderr and a non-zero exit code.

The ``engram`` program itself (``engram.cli``) adds the desktop app's command
to these; ``core`` never knows about the app.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Sequence

from core import cli_memory, forget_cli, secrets_cli
from core.absorb import cli as absorb_cli
from core.backup import cli as backup_cli
from core.capture import cli as capture_cli
from core.consolidate import cli as consolidate_cli
from core.errors import EngramError
from core.models import cli as models_cli

# The modules that add the engine's sub-commands, in the order ``--help`` lists them.
CORE_COMMANDS = (cli_memory, forget_cli, secrets_cli, models_cli, capture_cli, absorb_cli, consolidate_cli, backup_cli)


class CliContext:
    """What a command handler needs: paths, a lazily opened engine, output helpers."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._engine = None
        self._paths = None

    @property
    def paths(self):
        if self._paths is None:
            from core.paths import Paths

            self._paths = Paths.from_env()
        return self._paths

    @property
    def engine(self):
        if self._engine is None:
            from core.engine import Engine

            self._engine = Engine(self.paths)
            if self._engine.read_only:
                self.warn(read_only_note(self.paths))
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    @staticmethod
    def print_json(value: Any) -> None:
        json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")

    @staticmethod
    def say(text: str = "") -> None:
        print(text)

    @staticmethod
    def warn(text: str) -> None:
        print(text, file=sys.stderr)


def read_only_note(paths) -> str:
    return (
        f"engram: note: the data directory {paths.data_dir} is read-only, so nothing can be saved "
        "(search, get, recall and ask work; questions are not recorded)."
    )


def build_parser(command_modules: Sequence[Any] = CORE_COMMANDS) -> argparse.ArgumentParser:
    from core import __version__

    parser = argparse.ArgumentParser(prog="engram", description="Engram: a private, local-first memory assistant.")
    parser.add_argument("--version", action="version", version=f"engram {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules:
        module.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None, command_modules: Sequence[Any] = CORE_COMMANDS) -> int:
    try:
        code = _main(argv, command_modules)
        sys.stdout.flush()  # a broken pipe shows here, not in Python's own flush at exit
        return code
    except BrokenPipeError:
        # The reader went away (``engram search x | head``): nothing more to say, and nobody to say it to.
        # Python flushes stdout once more at exit; point it at /dev/null so that flush cannot fail loudly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None, command_modules: Sequence[Any]) -> int:
    parser = build_parser(command_modules)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    ctx = CliContext(args)
    try:
        result = args.func(args, ctx)
        return int(result or 0)
    except EngramError as exc:
        print(f"engram: {exc.message}", file=sys.stderr)
        if exc.fix:
            print(f"Fix: {exc.fix}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("engram: interrupted", file=sys.stderr)
        return 130
    finally:
        ctx.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
