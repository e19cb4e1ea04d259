"""The throughput one machine's measurements project for a cluster with a core per process.

Every process of the cluster runs one component; if each had a core of its
own and nothing else competed for it, the cluster could book no faster than
its busiest process can do its share of one booking: 1000 / (that process's
CPU ms per booking) bookings per second. This is how the project states its
scale without a rack of machines. It leaves out what a network adds: on one
machine the calls between processes cost loopback, not a wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def cpu_ms_per_booking(cpu_seconds: Mapping[str, float], bookings: int) -> dict[str, float]:
    """CPU ms per booking of each process, hottest first (empty without a booking)."""
    if not bookings:
        return {}
    per_booking = {name: round(1000 * s / bookings, 2) for name, s in cpu_seconds.items()}
    return dict(sorted(per_booking.items(), key=_hottest_first))


def projected_ceiling(ms_per_booking: Mapping[str, float]) -> dict[str, Any]:
    """The hottest process, its CPU ms per booking and the bookings/s it allows.

    All three are None when no process was measured or none used any CPU
    (the clock ticks of /proc are 10 ms: a short level can show none).
    """
    if not ms_per_booking:
        return {
            "hottest_process": None,
            "hottest_cpu_ms_per_booking": None,
            "projected_ceiling_bookings_per_s": None,
        }
    name, ms = min(ms_per_booking.items(), key=_hottest_first)
    return {
        "hottest_process": name if ms > 0 else None,
        "hottest_cpu_ms_per_booking": ms if ms > 0 else None,
        "projected_ceiling_bookings_per_s": round(1000 / ms, 1) if ms > 0 else None,
    }


def _hottest_first(item: tuple[str, float]) -> tuple[float, str]:
    return -item[1], item[0]  # ties by name, so the order does not depend on the dict's
