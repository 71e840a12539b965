"""The ``engram`` program: the engine's commands (``core``) and the desktop app's (``desktop``) in one CLI."""
