"""Engram's evaluations: benchmarks of memory quality and retrieval, kept out of the runtime package.

Nothing here runs inside the app.  ``engram eval ...`` (``evaluation.cli``)
runs each benchmark in temporary Engram homes, never in the user's.
"""
