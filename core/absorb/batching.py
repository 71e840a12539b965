"""How the backlog is cut into batches: chats by conversation and pause, screens by span."""

from __future__ import annotations

from typing import Sequence

CHAT_BATCH_MESSAGES = 12
SCREEN_BATCH_OBSERVATIONS = 60
SCREEN_BATCH_MINUTES = 15
CHAT_GAP_SECONDS = 30 * 60


def make_batches(
    observations: Sequence,
    *,
    chat_size: int = CHAT_BATCH_MESSAGES,
    screen_size: int = SCREEN_BATCH_OBSERVATIONS,
    screen_minutes: float = SCREEN_BATCH_MINUTES,
) -> list[list]:
    """Group observations: chat messages by conversation in windows of ``chat_size``
    (split at pauses of 30 minutes), screen observations in spans of at most
    ``screen_minutes`` or ``screen_size`` observations.  Batches come out in time order."""
    open_batches: dict[tuple, list] = {}
    done: list[list] = []
    for obs in sorted(observations, key=lambda o: (o.ts, o.id)):
        is_screen = obs.kind == "screen"
        key = ("screen",) if is_screen else ("chat", obs.conversation or "")
        batch = open_batches.get(key)
        if batch:
            full = len(batch) >= (screen_size if is_screen else chat_size)
            paused = obs.ts - batch[-1].ts > (SCREEN_BATCH_MINUTES * 60 if is_screen else CHAT_GAP_SECONDS)
            too_long = is_screen and obs.ts - batch[0].ts > screen_minutes * 60
            if full or paused or too_long:
                done.append(batch)
                batch = None
        if not batch:
            batch = open_batches[key] = []
        batch.append(obs)
    done.extend(b for b in open_batches.values() if b)
    done.sort(key=lambda b: (b[0].ts, b[0].id))
    return done
