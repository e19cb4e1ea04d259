"""One cluster layout's run: its catalog, the cluster started (or attached), probe then levels.

A layout is one scale level (``scale.Level``): the catalog's theaters dealt
into data clusters and lock groups. Each runs on a fresh cluster of its own,
or on the running one of ``--attach``, whose catalog is read from its
balancers; every users level of ``--users`` then runs on it (``level``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from Pyro5.api import Proxy

from ticketing import catalog_files
from ticketing.bench import report, scale
from ticketing.bench.catalogs import (
    events_per_group,
    for_benchmark,
    placed,
    regrouped,
    write_toml,
)
from ticketing.bench.level import run_level
from ticketing.bench.probe import probe, seat_map_latency
from ticketing.bench.system import LocalCluster, System, attached
from ticketing.bench.users import Target
from ticketing.catalog import OPEN, Catalog, Event, Theater, load_catalog

BIG_CATALOG = catalog_files.BENCH
RUSH_CATALOG = catalog_files.RUSH
BIG_VENUE = 10_000  # seats; without --big, users book only the smaller theaters
# Load balancers per data cluster or lock group of the widest level, with --lock-groups: see
# load_balancer_count.
BALANCERS_PER_STEP = 2


def run_attached(args: argparse.Namespace, results: dict) -> dict[str, Any]:
    """Every level on the cluster of ``--attach``; appended to ``results``, saved as it goes."""
    system = attached(args.attach, args.data_dir)
    try:
        catalog = _catalog_of(system)
        return _measure(args, system, catalog, f"attached to {args.attach}", None, None, results)
    finally:
        system.close()


def level_catalog(args: argparse.Namespace, level: scale.Level) -> Catalog:
    """The catalog of one scale level: theaters dealt into its data clusters and lock groups."""
    default = BIG_CATALOG if args.big else RUSH_CATALOG if args.rush else None
    base = load_catalog(args.catalog or default)
    if level.clusters is not None:
        base = regrouped(base, level.clusters)
    booked = {target.theater for target in _targets(args, base)}
    return for_benchmark(placed(base, level.groups, booked))


def load_balancer_count(args: argparse.Namespace, catalogs: Sequence[Catalog]) -> int | None:
    """How many load balancers every level runs; None leaves run/cluster.py's default.

    Balancers share no state, so a deployment adds them as it adds machines;
    with too few, one becomes the hottest process by construction and the
    projected ceiling measures the bench's choice, not the lock groups. A scale
    run (``--lock-groups``) therefore sizes them for its widest level,
    ``BALANCERS_PER_STEP`` per data cluster or lock group, and keeps that number
    at every level, so that levels differ only in clusters and groups.
    """
    if args.load_balancers is not None:
        return args.load_balancers
    if not args.lock_groups:
        return None
    widest = max(
        max(len(catalog.clusters()), level.groups)
        for catalog, level in zip(catalogs, args.levels, strict=True)
    )
    return BALANCERS_PER_STEP * widest


def run_layout(
    args: argparse.Namespace,
    catalog: Catalog,
    groups: int,
    balancers: int | None,
    results: dict,
) -> dict[str, Any]:
    """Every users level on a fresh cluster of ``catalog`` and ``groups`` lock groups.

    Appended to ``results`` and saved as it goes.
    """
    count = len(catalog.clusters())
    label = f"{count} data cluster{'s' if count > 1 else ''}"
    if args.lock_groups:
        label += f", {groups} lock group{'s' if groups > 1 else ''}"
    data_dir = Path(tempfile.mkdtemp(prefix="ticketing-bench-"))
    catalog_file = write_toml(catalog, data_dir / "catalog.toml")
    cluster = LocalCluster(data_dir / "cluster", catalog_file, groups, balancers)
    print(f"starting a local cluster ({label}) in {data_dir} ...", file=sys.stderr, flush=True)
    try:
        system = cluster.start()
        try:
            return _measure(args, system, catalog, label, count, groups, results)
        finally:
            system.close()
    finally:
        cluster.stop()
        if not args.keep_data:
            _remove_tree(data_dir)


def _targets(args: argparse.Namespace, catalog: Catalog) -> list[Target]:
    """The events the users book: the small theaters', the big venue's, or the rush's one."""
    big = max(catalog.theaters, key=lambda t: t.seat_count)
    if args.rush:
        return [Target(big.id, big.events[0].id, big.seat_count)]
    small = [t for t in catalog.theaters if t.seat_count < BIG_VENUE] or [big]
    theaters = [big] if args.big else small
    return [Target(t.id, e.id, t.seat_count) for t in theaters for e in t.events]


def _measure(
    args: argparse.Namespace,
    system: System,
    catalog: Catalog,
    label: str,
    clusters: int | None,
    groups: int | None,
    results: dict,
) -> dict[str, Any]:
    """Probe, then each users level; ``groups`` None: an attached cluster's, not known here."""
    balancers = system.load_balancers()
    big = max(catalog.theaters, key=lambda t: t.seat_count)
    targets = _targets(args, catalog)
    run: dict[str, Any] = {
        "label": label,
        "clusters": clusters,
        "lock_groups": groups,
        "events_per_lock_group": None
        if groups is None
        else events_per_group(catalog, groups, [(t.theater, t.event) for t in targets]),
        "big": args.big,
        "rush": args.rush,
        "load_balancers": len(balancers),
        "targets": [f"{t.theater}/{t.event}" for t in targets],
        "levels": [],
    }
    if args.rush:
        run["rush_explicit_share"] = args.rush_explicit
    results["runs"].append(run)
    run["probe"] = probe(system, balancers[0], targets[0])
    if args.big:
        run["big_venue"] = big.id
        for key, method in report.SEAT_MAP_METHODS:
            run[key] = seat_map_latency(balancers[0], targets[0], method)
    report.write_json(results, args.out)
    for index, users in enumerate(args.users):
        level = run_level(args, system, balancers, targets, users, seed=args.seed * 1000 + index)
        run["levels"].append(level)
        run["replica_rss_mb"] = system.snapshot().rss_mb
        report.write_json(results, args.out)
    return run


def _catalog_of(system: System) -> Catalog:
    """The catalog of an attached cluster as its balancers list it, events on sale only.

    ``list_catalog`` (our balancers' extension) gives the seat maps' shape and
    each event's sales; a balancer without it gives ``list_theaters``, whose
    events are taken as on sale and whose venues as one row.
    """
    with Proxy(system.load_balancers()[0]) as lb:
        lb._pyroTimeout = 30.0
        try:
            theaters = lb.list_catalog()
        except AttributeError:  # Pyro5: no such remote method
            theaters = lb.list_theaters()
    built = []
    for t in theaters:
        events = tuple(
            Event(e["event"], e["title"], e["starts_at"])
            for e in t["events"]
            if e.get("sales", OPEN) == OPEN
        )
        rows, width = t.get("rows", 1), t.get("seats_per_row", t["seats"])
        built.append(Theater(t["theater"], t["name"], t["city"], rows, width, "", events))
    return Catalog(theaters=tuple(built))


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
