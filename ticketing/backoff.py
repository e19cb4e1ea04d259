"""How long a refused caller waits before it retries: the server's hint, spread out.

A load balancer that sheds load answers ``Unavailable`` with ``retry_after``,
the time it needs for those asking now (``ticketing.security.fairness``). If
every refused caller came back after exactly that long they would arrive
together again and be refused together; a uniform factor of 0.5 to 1.5
spreads them over the hint's length, around it, with the same mean.
"""

from __future__ import annotations

import random

JITTER = (0.5, 1.5)  # factors of the hint, drawn uniformly
DEFAULT_RETRY_AFTER = 0.25  # seconds, when a refusal carries no hint


def pause(retry_after: float | None, rng: random.Random) -> float:
    """Seconds to wait before retrying a call refused with this hint (None: the default)."""
    base = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
    return base * rng.uniform(*JITTER)
