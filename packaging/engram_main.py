"""The bundle's entry point: the ``engram`` command, as ``engram.cli:main`` is for the checkout."""

import sys

from engram.cli import main

if __name__ == "__main__":
    sys.exit(main())
