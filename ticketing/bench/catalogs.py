"""Catalogs for the benchmark: the same theaters spread over 1, 2 or 3 data clusters."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ticketing.catalog import Catalog, Theater


def regrouped(catalog: Catalog, clusters: int) -> Catalog:
    """``catalog`` with its theaters dealt round-robin into ``clusters`` data clusters."""
    theaters = tuple(
        replace(theater, cluster=f"part{i % clusters + 1}")
        for i, theater in enumerate(catalog.theaters)
    )
    return replace(catalog, theaters=theaters)


# The benchmark's simulated users all reach the load balancers from 127.0.0.1, which
# the per-client hold quota would take for one greedy client.
BENCH_MAX_HELD = 1_000_000


def for_benchmark(catalog: Catalog) -> Catalog:
    """``catalog`` with the per-client hold quota lifted (see ``BENCH_MAX_HELD``)."""
    return replace(catalog, max_held_seats_per_client=BENCH_MAX_HELD)


def write_toml(catalog: Catalog, path: Path) -> Path:
    """Write ``catalog`` as a catalog file that ``load_catalog`` reads back equal."""
    lines = [
        f"hold_ttl = {catalog.hold_ttl}",
        f"max_seats_per_booking = {catalog.max_seats_per_booking}",
        f"max_held_seats_per_client = {catalog.max_held_seats_per_client}",
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
    ]


def _text(value: str) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(value, ensure_ascii=False)
