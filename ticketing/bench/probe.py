"""The probe: one booking at a time on a quiet cluster, its remote calls and disk syncs counted.

Idle traffic (heartbeats, catch-up), measured just before, is subtracted, so
what is left per booking is the booking's own cost. With the big venue, the
seat map's read latency is measured here too, one call at a time.
"""

from __future__ import annotations

import time
from typing import Any

from Pyro5.api import Proxy

from ticketing.bench.stats import summary_ms
from ticketing.bench.system import System
from ticketing.bench.users import Target
from ticketing.errors import SeatsUnavailable

PROBE_BOOKINGS = 20
IDLE_WINDOW = 1.0  # seconds of idle counters before the probe
SEAT_MAP_SAMPLES = 20


def probe(system: System, balancer: str, target: Target) -> dict[str, Any]:
    """Remote calls and disk syncs of one booking (hold + book), alone on the cluster."""
    with Proxy(balancer) as lb:
        lb._pyroTimeout = 30.0
        free = lb.get_available_seats(target.theater, target.event)
        idle_before = system.snapshot()
        time.sleep(IDLE_WINDOW)  # what the cluster does on its own (heartbeats, catch-up)
        before = system.snapshot()
        idle = before.minus(idle_before)
        tickets = []
        # Best-available holds: another bench sharing the cluster may take any seat
        # between a look and a hold, but never the ones the lock store picks for us.
        # Pairs on at most half the seats seen free, so that a second bench probing
        # at once finds seats too; when the event has sold out meanwhile (or had
        # too few free), the probe counts the bookings it made and says so.
        wanted = min(PROBE_BOOKINGS, len(free) // 4)
        short = wanted == 0
        for _ in range(wanted):
            try:
                hold = lb.block_best_available(target.theater, target.event, 2)
            except SeatsUnavailable:
                short = True
                break
            tickets.append(lb.book_ticket(hold["hold_id"], "Probe", "probe@bench.example"))
        work = system.snapshot().minus(before)
        for ticket in tickets:
            lb.delete_ticket(target.theater, ticket["ticket_no"])

    def per_booking(key: str) -> float | None:
        if work[key] is None or idle[key] is None or not tickets:
            return None
        background = idle[key] / idle["seconds"] * work["seconds"]
        return round((work[key] - background) / len(tickets), 2)

    return {
        "bookings": len(tickets),
        "short_of_seats": short,  # fewer bookings than planned: the event was (nearly) full
        "calls_per_booking": per_booking("calls_served"),
        "syncs_per_booking": per_booking("disk_syncs"),
        "idle_calls_per_s": None
        if idle["calls_served"] is None
        else round(idle["calls_served"] / idle["seconds"], 1),
    }


def seat_map_latency(balancer: str, target: Target, method: str) -> dict[str, float | int]:
    """The whole seat map of the big venue read at the load balancer, one call at a time.

    ``method`` is ``get_seat_map`` (the contract's dicts) or ``get_seat_states`` (one
    string): both are measured, so the report shows what the compact form saves.
    """
    samples = []
    with Proxy(balancer) as lb:
        lb._pyroTimeout = 30.0
        read = getattr(lb, method)
        read(target.theater, target.event)  # connect and warm up
        for _ in range(SEAT_MAP_SAMPLES):
            started = time.monotonic()
            read(target.theater, target.event)
            samples.append(time.monotonic() - started)
    return summary_ms(samples)
