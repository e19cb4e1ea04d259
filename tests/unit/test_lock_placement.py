"""Every event's holds live in exactly one lock group, the same in every process and restart."""

from __future__ import annotations

import secrets
import subprocess
import sys
from itertools import count

import pytest

from ticketing import catalog_files
from ticketing.catalog import load_catalog, parse_catalog
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.errors import InvalidRequest

BENCH = catalog_files.BENCH

PLACED = """
[[theater]]
id = "AMC"
name = "AMC"
city = "Boston"
rows = 2
seats_per_row = 2
lock_group = 2
[[theater.event]]
id = "a"
title = "A"
starts_at = "2026-12-01T19:00:00"
[[theater.event]]
id = "b"
title = "B"
starts_at = "2026-12-01T21:00:00"
"""


def test_one_group_places_everything_in_it() -> None:
    placement = LockPlacement(load_catalog(None))
    events = [(t.id, e.id) for t in placement.catalog.theaters for e in t.events]
    assert {placement.event_group(*where) for where in events} == {1}
    assert placement.label(1) is None  # the contract's one-group names


def test_a_catalog_lock_group_places_every_event_of_its_theater() -> None:
    placement = LockPlacement(parse_catalog(PLACED), 3)
    assert placement.event_group("AMC", "a") == placement.event_group("AMC", "b") == 2
    assert placement.label(2) == 2


def test_a_lock_group_beyond_the_cluster_is_refused_with_the_fix() -> None:
    with pytest.raises(PlacementError, match="--lock-groups 2"):
        LockPlacement(parse_catalog(PLACED), 1)


def test_hashed_placement_uses_every_group() -> None:
    catalog = load_catalog(BENCH)
    placement = LockPlacement(catalog, 3)
    groups = [placement.event_group(t.id, e.id) for t in catalog.theaters for e in t.events]
    assert set(groups) == {1, 2, 3}


def test_placement_is_the_same_in_another_process() -> None:
    """Python's own ``hash`` of a string changes per process; the placement must not."""
    script = (
        "from ticketing.catalog import load_catalog\n"
        "from ticketing.domain.lock_placement import LockPlacement\n"
        f"c = load_catalog({str(BENCH)!r}); p = LockPlacement(c, 3)\n"
        "print([p.event_group(t.id, e.id) for t in c.theaters for e in t.events])\n"
        "print(p.hold_group('some-hold-id'))\n"
    )
    catalog = load_catalog(BENCH)
    placement = LockPlacement(catalog, 3)
    here = [placement.event_group(t.id, e.id) for t in catalog.theaters for e in t.events]
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [str(here), str(placement.hold_group("some-hold-id"))]


def test_a_new_hold_id_routes_to_the_group_asked() -> None:
    placement = LockPlacement(load_catalog(BENCH), 3)
    for group in (1, 2, 3):
        for _ in range(20):
            hold_id = placement.new_hold_id(group, lambda: secrets.token_urlsafe(16))
            assert placement.hold_group(hold_id) == group


def test_a_new_hold_id_keeps_drawing_until_it_fits() -> None:
    placement = LockPlacement(load_catalog(BENCH), 3)
    drawn = count()
    candidates = [f"id{n}" for n in range(50)]
    wanted = placement.hold_group(candidates[7])
    first = next(c for c in candidates if placement.hold_group(c) == wanted)
    assert placement.new_hold_id(wanted, lambda: candidates[next(drawn)]) == first


def test_no_such_group_is_refused() -> None:
    placement = LockPlacement(load_catalog(BENCH), 3)
    with pytest.raises(InvalidRequest, match="no lock group 4"):
        placement.new_hold_id(4, lambda: "x")
