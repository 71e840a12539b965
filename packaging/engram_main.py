"""The bundle's entry point: the ``engram`` command, as ``core.cli:main`` is for the checkout."""

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main())
