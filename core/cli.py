"""The ``engram`` command line.

Commands are grouped in modules; each exposes ``add_parsers(subparsers)`` and
sets ``func(args, ctx)`` on its parsers.  ``ctx`` is a ``CliContext`` that opens
the engine only when a command needs it.  Every ``EngramError`` becomes a
message with its fix on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from typing import Any

from core.errors import EngramError

# Modules that add sub-commands.  A module missing here is simply not offered.
COMMAND_MODULES = (
    "core.cli_memory",
    "core.models.cli",
    "core.capture.cli",
    "core.absorb.cli",
    "evaluation.cli",
    "core.consolidate.cli",
    "desktop.cli",
)


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


def build_parser() -> argparse.ArgumentParser:
    from core import __version__

    parser = argparse.ArgumentParser(prog="engram", description="Engram: a private, local-first memory assistant.")
    parser.add_argument("--version", action="version", version=f"engram {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of Engram is not built in this checkout
            raise
        module.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
