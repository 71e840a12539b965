"""Background consolidation: merge duplicates, write digests, promote recurring facts, forget.

``engine.make_consolidator().deep_pass()`` runs everything once; the scheduler runs
a light pass hourly and a deep pass nightly (``core.consolidate.jobs``).  See
``forgetting`` for the forgetting curve.
"""

from core.consolidate.consolidator import Consolidator

__all__ = ["Consolidator"]
