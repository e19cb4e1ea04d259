"""Catalogs for the benchmark: the same theaters spread over N data clusters and K lock groups."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import replace
from pathlib import Path

from ticketing.catalog import Catalog, Theater
from ticketing.domain.lock_placement import LockPlacement


def regrouped(catalog: Catalog, clusters: int) -> Catalog:
    """``catalog`` with its theaters dealt round-robin into ``clusters`` data clusters."""
    theaters = tuple(
        replace(theater, cluster=f"part{i % clusters + 1}")
        for i, theater in enumerate(catalog.theaters)
    )
    return replace(catalog, theaters=theaters)


def placed(catalog: Catalog, groups: int, first: Collection[str] = ()) -> Catalog:
    """``catalog`` with its theaters dealt round-robin into ``groups`` lock groups.

    The hash placement of ``lock_placement`` is stable, not even: the default
    catalog's six events fall 4/0/2 into three groups, which would measure one
    idle group and one doing two thirds of the work. Dealing whole theaters
    (``lock_group``) spreads them evenly when their count is a multiple of K;
    the theaters named in ``first`` (those the users book) are dealt first so
    that the others do not take their turns. One group: no ``lock_group``, the
    catalog as before.
    """
    order = [t.id for t in catalog.theaters if t.id in first]
    order += [t.id for t in catalog.theaters if t.id not in first]
    group_of = {theater: i % groups + 1 for i, theater in enumerate(order)}
    theaters = tuple(
        replace(theater, lock_group=group_of[theater.id] if groups > 1 else None)
        for theater in catalog.theaters
    )
    return replace(catalog, theaters=theaters)


def events_per_group(
    catalog: Catalog, groups: int, events: Iterable[tuple[str, str]]
) -> dict[int, int]:
    """How many of ``events`` (theater, event) each of ``groups`` lock groups decides.

    Computed with ``LockPlacement``, as the load balancers and lock servers
    place them; every group is listed, an idle one with 0.
    """
    placement = LockPlacement(catalog, groups)
    counts = dict.fromkeys(placement.numbers(), 0)
    for theater, event in events:
        counts[placement.event_group(theater, event)] += 1
    return counts


# The benchmark's simulated users all reach the load balancers from loopback, which
# the per-client quotas (holds and bookings) would take for one greedy client.
BENCH_QUOTA_EXEMPT = ("127.0.0.0/8", "::1/128")


def for_benchmark(catalog: Catalog) -> Catalog:
    """``catalog`` with loopback exempt from the per-client quotas (``BENCH_QUOTA_EXEMPT``)."""
    return replace(catalog, quota_exempt=BENCH_QUOTA_EXEMPT)


def write_toml(catalog: Catalog, path: Path) -> Path:
    """Write ``catalog`` as a catalog file that ``load_catalog`` reads back equal."""
    lines = [
        f"hold_ttl = {catalog.hold_ttl}",
        f"max_seats_per_booking = {catalog.max_seats_per_booking}",
        f"max_held_seats_per_client = {catalog.max_held_seats_per_client}",
        f"max_booked_seats_per_client = {catalog.max_booked_seats_per_client}",
        f"booking_quota_window = {catalog.booking_quota_window}",
        f"quota_exempt = [{', '.join(_text(n) for n in catalog.quota_exempt)}]",
    ]
    for theater in catalog.theaters:
        lines += ["", "[[theater]]", *_theater_keys(theater)]
        for event in theater.events:
            lines += [
                "",
                "[[theater.event]]",
                f"id = {_text(event.id)}",
                f"title = {_text(event.title)}",
                f"starts_at = {_text(event.starts_at)}",
            ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _theater_keys(theater: Theater) -> list[str]:
    return [
        f"id = {_text(theater.id)}",
        f"name = {_text(theater.name)}",
        f"city = {_text(theater.city)}",
        f"rows = {theater.rows}",
        f"seats_per_row = {theater.seats_per_row}",
        f"cluster = {_text(theater.cluster)}",
        *([] if theater.lock_group is None else [f"lock_group = {theater.lock_group}"]),
    ]


def _text(value: str) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(value, ensure_ascii=False)
