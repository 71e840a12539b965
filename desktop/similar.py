"""When two texts are the same thing seen twice: word sets and their overlap.

Screen frames of one window differ by a clock or a cursor; the sources of a
chat answer can be such frames.  Both quick recall and chat show them once.
"""

from __future__ import annotations

import re

SAME_TEXT_JACCARD = 0.8  # share of distinct words two texts must have in common to count as one
_WORD = re.compile(r"\w+")


def word_set(text: str | None) -> set[str]:
    return set(_WORD.findall((text or "").lower()))


def near_identical(a: set[str], b: set[str]) -> bool:
    """Whether two word sets (from ``word_set``) overlap enough to be one text seen twice."""
    if not a and not b:
        return True
    return len(a & b) / (len(a | b) or 1) >= SAME_TEXT_JACCARD
