"""A users level's record, as the JSON holds it: bookings/s, latencies, costs per booking.

Every figure per booking divides by the bookings the level made; the rate
counts only those finished within its window (``bookings_late`` the others).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ticketing.bench import rush as rush_profile
from ticketing.bench.projection import cpu_ms_per_booking, projected_ceiling
from ticketing.bench.stats import summary_ms
from ticketing.bench.users import STEPS, Target, User, can_sell_out


def record(
    args: argparse.Namespace,
    users: int,
    targets: list[Target],
    crowd: Sequence[User],
    deadline: float,
    work: dict[str, Any],
    ceilings: dict[str, float],
    not_cancelled: int,
) -> dict[str, Any]:
    """The level of ``users`` on ``targets``: ``crowd`` ran until ``deadline`` (monotonic).

    ``work`` is what the cluster's counters did meanwhile (``Snapshot.minus``),
    ``ceilings`` the empty-call rate in each serializer, ``not_cancelled`` the
    tickets the level left that could not be cancelled.
    """
    ceiling = max(ceilings.values())
    booked = sum(u.tally.bookings for u in crowd)
    in_time = sum(1 for u in crowd for at in u.tally.booked_at if at <= deadline)
    rate = in_time / args.seconds
    errors: Counter = Counter()
    for user in crowd:
        errors.update(user.tally.errors)

    def per_booking(key: str) -> float | None:
        return None if work[key] is None or not booked else round(work[key] / booked, 4)

    by_process = cpu_ms_per_booking(work["cpu_by_process"], booked)

    level = {
        "users": users,
        "seconds": args.seconds,
        "bookings": in_time,
        "bookings_per_s": round(rate, 2),
        "bookings_late": booked - in_time,  # finished after the window: not in the rate
        "conflicts": sum(u.tally.conflicts for u in crowd),
        **_per_booking_counts(crowd),
        "alternative_holds": sum(u.tally.alternatives for u in crowd),
        "errors": dict(errors),
        "latency_ms": {s: summary_ms(x for u in crowd for x in u.tally.samples[s]) for s in STEPS},
        "per_booking": {k: per_booking(k) for k in ("calls_served", "disk_syncs", "cpu_seconds")},
        "calls_per_booking_by_kind": {
            kind: round(calls / booked, 2)
            for kind, calls in sorted(work["calls_by_kind"].items())
            if booked
        },
        "cpu_ms_per_booking_by_kind": {
            kind: round(1000 * seconds / booked, 2)
            for kind, seconds in sorted(work["cpu_by_kind"].items())
            if booked
        },
        "cpu_ms_per_booking_by_process": by_process,  # hottest first
        "calls_per_booking_by_process": _per_booking_by_process(work["calls_by_process"], booked),
        "syncs_per_booking_by_process": _per_booking_by_process(work["syncs_by_process"], booked),
        **projected_ceiling(by_process),
        "ceiling_calls_per_s": round(ceiling, 1),
        "ceiling_by_serializer": {k: round(v, 1) for k, v in ceilings.items()},
        "ratio_by_serializer": {k: round(rate / v, 4) for k, v in ceilings.items() if v},
        "ratio": round(rate / ceiling, 4) if ceiling else None,
        "load_average_1min": round(os.getloadavg()[0], 2),  # others' work skews everything
        "keep_tickets": crowd[0].keep,
        "returned_at_once": crowd[0].return_at_once,
        "tickets_left_uncancelled": not_cancelled,
    }
    if args.rush:
        level["rush"] = {
            "keep_tickets": crowd[0].keep,
            "can_sell_out": can_sell_out(targets[0].seats, users),
            "tickets_left_uncancelled": not_cancelled,
            "by_buyer": {
                kind: _buyer_summary([u for u in crowd if u.buyer == kind], args.seconds, deadline)
                for kind in rush_profile.BUYERS
            },
        }
    return level


def _per_booking_by_process(counts: dict[str, int], booked: int) -> dict[str, float]:
    """A status() counter of each component per booking, in name order (empty: no booking)."""
    return {name: round(n / booked, 2) for name, n in sorted(counts.items())} if booked else {}


def _per_booking_counts(crowd: Sequence[User]) -> dict[str, float | None]:
    """Refused holds and looks per booking of ``crowd`` (None without a booking)."""
    booked = sum(u.tally.bookings for u in crowd)
    refused = sum(u.tally.conflicts for u in crowd)
    views = sum(u.tally.views for u in crowd)
    return {
        "refused_per_booking": round(refused / booked, 3) if booked else None,
        "views_per_booking": round(views / booked, 3) if booked else None,
    }


def _buyer_summary(crowd: Sequence[User], seconds: float, deadline: float) -> dict[str, Any]:
    """One kind of rush buyer: how many, what they booked, how often they were refused."""
    in_time = sum(1 for u in crowd for at in u.tally.booked_at if at <= deadline)
    return {
        "users": len(crowd),
        "bookings": in_time,
        "bookings_per_s": round(in_time / seconds, 2),
        "refused_holds": sum(u.tally.conflicts for u in crowd),
        **_per_booking_counts(crowd),
        "alternative_holds": sum(u.tally.alternatives for u in crowd),
        "flow_ms": summary_ms(x for u in crowd for x in u.tally.samples["flow"]),
    }
