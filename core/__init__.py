"""Engram's engine: storage, models, capture, memory, scheduling and the CLI.

This package never imports Qt.  Importing it has no side effects; work starts
when an ``Engine`` is created.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "Engine":
        from core.engine import Engine

        return Engine
    if name == "Paths":
        from core.paths import Paths

        return Paths
    raise AttributeError(name)
