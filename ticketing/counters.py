"""Process-wide counters of the work a booking costs: remote calls served, disk syncs.

The benchmark (``run/bench.py``) reads them from every component's
``status()`` before and after a run and divides by the bookings made, so the
cost of a booking in the two scarce resources of this design (round trips
between processes and synced SQLite commits) is measured on the real
cluster, not estimated. They only grow; a reader takes differences.
"""

from __future__ import annotations

import threading


class Counter:
    """A thread-safe, ever-growing count (Pyro5 serves calls on many threads)."""

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def add(self, amount: int = 1) -> None:
        with self._lock:
            self._value += amount

    @property
    def value(self) -> int:
        return self._value


CALLS_SERVED = Counter()  # requests this process's Pyro5 daemon answered
DISK_SYNCS = Counter()  # SQLite commits of consensus state (one fsync each)


def snapshot() -> dict[str, int]:
    """The counters as ``status()`` reports them."""
    return {"calls_served": CALLS_SERVED.value, "disk_syncs": DISK_SYNCS.value}
