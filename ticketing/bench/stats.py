"""Latency samples and their percentiles."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted samples (``fraction`` in 0..1)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples: Iterable[float]) -> dict[str, float | int]:
    """Count, mean and p50/p95/p99/max of durations in seconds, given in milliseconds."""
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "mean": round(1000 * sum(ordered) / len(ordered), 2),
        "p50": round(1000 * percentile(ordered, 0.50), 2),
        "p95": round(1000 * percentile(ordered, 0.95), 2),
        "p99": round(1000 * percentile(ordered, 0.99), 2),
        "max": round(1000 * ordered[-1], 2),
    }
