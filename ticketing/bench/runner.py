"""``run/bench.py``: drive simulated users against a cluster, level by level, and report.

For each scale level (``--clusters`` data clusters, or the catalog's own, with
``--lock-groups`` lock groups: every combination, see ``scale``), a fresh local
cluster is started on a temporary data directory and a free port (or ``--attach``
reuses a running one), then:

* a probe books a few tickets one at a time, so the remote calls and disk
  syncs of one booking are counted exactly (idle traffic such as heartbeats,
  measured just before, is subtracted);
* each ``--users`` level runs for ``--seconds``: counters and CPU are read
  before and after, latencies recorded by every user;
* with ``--rush``, every user buys on one event of a big venue, best-available
  or explicit-seat (see ``rush``), and the tickets a level leaves are
  cancelled after it is measured;
* right after each level, this machine's ceiling is measured: empty Pyro5
  calls to an echo process from as many client threads.

With several scale levels, a table of them follows (``scale``: bookings/s,
the lock side's CPU, the hottest process and the projected ceiling of each),
with a text chart and issue 13's verdict. The JSON (``--out``) is rewritten
after every level, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from Pyro5.api import Proxy

import ticketing
from ticketing import catalog_files
from ticketing.bench import chart, report, scale
from ticketing.bench import rush as rush_profile
from ticketing.bench.catalogs import (
    events_per_group,
    for_benchmark,
    placed,
    regrouped,
    write_toml,
)
from ticketing.bench.ceiling import null_call_rate
from ticketing.bench.crowd import run as run_crowd
from ticketing.bench.projection import cpu_ms_per_booking, projected_ceiling
from ticketing.bench.stats import summary_ms
from ticketing.bench.system import LocalCluster, System, attached
from ticketing.bench.users import STEPS, Target, User, can_sell_out, keep_tickets
from ticketing.catalog import OPEN, Catalog, Event, Theater, load_catalog
from ticketing.errors import SeatsUnavailable
from ticketing.security.secret import ENV_VAR, SecretError
from ticketing.server import pyro_config

BIG_CATALOG = catalog_files.BENCH
RUSH_CATALOG = catalog_files.RUSH
RUSH_EXPLICIT_SHARE = 0.3  # of the rush's users who pick their seats on the map
PROBE_BOOKINGS = 20
IDLE_WINDOW = 1.0  # seconds of idle counters before the probe
SEAT_MAP_SAMPLES = 20
BIG_VENUE = 10_000  # seats; without --big, users book only the smaller theaters
PROGRESS_INTERVAL = 0.5
# Load balancers per data cluster or lock group of the widest level, with --lock-groups: see
# load_balancer_count.
BALANCERS_PER_STEP = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the ticketing cluster with simulated users: bookings/s, "
        "latency percentiles, CPU, remote calls and disk syncs per booking, "
        "and the ratio to this machine's empty-call ceiling."
    )
    parser.add_argument(
        "--users",
        type=_int_list,
        default=[1, 8, 32, 128],
        metavar="N,N,...",
        help="concurrent users of each level (default 1,8,32,128)",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="duration of each level (default 10)"
    )
    parser.add_argument(
        "--ceiling-seconds",
        type=float,
        default=None,
        metavar="S",
        help="duration of each ceiling measurement (default: min(seconds, 3))",
    )
    parser.add_argument(
        "--clusters",
        type=_int_list,
        default=None,
        metavar="K,K,...",
        help="run the whole benchmark with the theaters dealt into K data "
        "clusters, for each K (default: the catalog's own layout); with "
        "--lock-groups, for every combination",
    )
    parser.add_argument(
        "--lock-groups",
        type=_int_list,
        default=None,
        metavar="K,K,...",
        help="run the whole benchmark on a cluster of K lock groups, for each K, the booked "
        "theaters dealt evenly into them, with every level of --clusters (--clusters 1,3 "
        "--lock-groups 1,3 starts four clusters, 1+1, 1+3, 3+1 and 3+3: every combination, "
        "not pairs, so that the verdict compares K groups with 1 at the same data clusters, "
        "only the groups changed), then a table of the levels, a chart and issue 13's "
        "verdict (default: 1 group)",
    )
    parser.add_argument(
        "--load-balancers",
        type=int,
        default=None,
        metavar="N",
        help=f"load balancers of every started cluster (default: run/cluster.py's 2; with "
        f"--lock-groups {BALANCERS_PER_STEP} per data cluster or lock group of the widest "
        "level, the same at every level, so that balancers are not what limits it)",
    )
    parser.add_argument(
        "--big",
        action="store_true",
        help="book the 50,000-seat venue of the bench's catalog (bench.toml); also "
        "report its seat-map latency and the replicas' memory",
    )
    parser.add_argument(
        "--rush",
        action="store_true",
        help="an on-sale rush: every user on the first event of the catalog's biggest "
        "venue (default catalog rush.toml, a 5,000-seat arena), "
        "best-available and explicit-seat buyers mixed",
    )
    parser.add_argument(
        "--rush-explicit",
        type=float,
        default=None,
        metavar="F",
        help=f"share of the rush's users who look at the seat map and pick seats "
        f"themselves; the others ask for the best available (default {RUSH_EXPLICIT_SHARE})",
    )
    parser.add_argument(
        "--catalog",
        type=Path,
        default=None,
        metavar="FILE",
        help="catalog to run (default: the built-in one, bench.toml with --big, "
        "rush.toml with --rush)",
    )
    parser.add_argument(
        "--attach",
        metavar="HOST:PORT",
        help="use the cluster registered in this name server instead of "
        "starting one (its catalog is read from list_theaters())",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --attach: the cluster's data directory, where its secret is "
        f"(cluster.secret; ${ENV_VAR} wins)",
    )
    parser.add_argument(
        "--seat-map-share",
        type=float,
        default=0.2,
        metavar="F",
        help="share of looks that read the whole seat map (default 0.2)",
    )
    parser.add_argument(
        "--cancel-share",
        type=float,
        default=0.1,
        metavar="F",
        help="share of bookings cancelled at once (default 0.1)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the users (1)")
    parser.add_argument(
        "--out", type=Path, default=Path("bench.json"), help="JSON results (default bench.json)"
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=None,
        metavar="PNG",
        help="chart file (default: --out with .png); needs matplotlib",
    )
    parser.add_argument(
        "--serializer",
        choices=pyro_config.ACCEPTED_SERIALIZERS,
        default="serpent",
        help="what the simulated users speak to the load balancers: serpent, the "
        "contract's (default), or msgpack, which the balancers accept too",
    )
    parser.add_argument(
        "--crowd",
        type=int,
        default=None,
        metavar="N",
        help="instead of the levels: connect N people at once, each on its own "
        "connection, let all ask at once, and report refused connections, "
        "answers by kind and their latencies (ticketing/bench/crowd.py)",
    )
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the temporary data directories (logs) of started clusters",
    )
    args = parser.parse_args(argv)
    if args.attach and (args.clusters or args.lock_groups or args.load_balancers):
        parser.error(
            "--clusters, --lock-groups and --load-balancers shape the clusters the bench "
            "starts; they cannot be used with --attach"
        )
    if args.load_balancers is not None and args.load_balancers < 1:
        parser.error("--load-balancers wants a positive number")
    args.levels = scale.combined(args.clusters, args.lock_groups)
    if args.attach and args.attach.rpartition(":")[0] == "":
        parser.error("--attach wants HOST:PORT of the name server, e.g. 127.0.0.1:9090")
    if args.rush and args.big:
        parser.error("--rush and --big are two different profiles: choose one")
    if args.rush_explicit is not None and not args.rush:
        parser.error("--rush-explicit sets the mix of --rush; add --rush")
    if args.rush_explicit is None:
        args.rush_explicit = RUSH_EXPLICIT_SHARE
    if not 0.0 <= args.rush_explicit <= 1.0:
        parser.error(f"--rush-explicit {args.rush_explicit}: expected a share from 0 to 1")
    if args.crowd is not None and args.crowd < 1:
        parser.error("--crowd wants a positive number of people")
    if args.crowd and (args.clusters or args.lock_groups or args.load_balancers):
        parser.error(
            "--crowd starts one default cluster; --clusters, --lock-groups and "
            "--load-balancers shape the levels' clusters"
        )
    if args.ceiling_seconds is None:
        args.ceiling_seconds = min(args.seconds, 3.0)
    return args


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers such as 1,8,32") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected positive numbers such as 1,8,32")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    pyro_config.configure()
    try:
        return _run(args, argv)
    except SecretError as exc:  # attaching without the cluster's secret
        print(f"bench: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    if args.crowd:
        return run_crowd(args)
    results: dict[str, Any] = {
        "title": "ticketing benchmark" + _profile_note(args),
        "command": shlex.join(
            [
                Path(sys.argv[0]).name if argv is None else "bench.py",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "started_at": time.time(),
        "source": _source_version(),
        "load_average_at_start": os.getloadavg(),
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k != "levels"  # the runs say theirs
        },
        "runs": [],
    }
    if args.attach:
        print(report.table(run_attached(args, results)), flush=True)
    else:
        catalogs = [level_catalog(args, level) for level in args.levels]
        balancers = load_balancer_count(args, catalogs)
        for level, catalog in zip(args.levels, catalogs, strict=True):
            run = run_layout(args, catalog, level.groups, balancers, results)
            print(report.table(run), flush=True)
    if args.clusters or args.lock_groups:
        rows = scale.rows(results["runs"])
        verdicts = scale.verdicts(rows)
        results["scale"] = {"rows": rows, "verdicts": verdicts}
        report.write_json(results, args.out)
        print(report.scale_table(rows, verdicts), flush=True)
        print(chart.scale_text(rows), flush=True)
    chart_path = args.chart or args.out.with_suffix(".png")
    if chart.available():
        chart.write_chart(results, chart_path)
        print(f"wrote {args.out} and {chart_path}", file=sys.stderr)
    else:
        print(
            f"wrote {args.out}; no chart: matplotlib is not installed "
            "(pip install 'ticketing[bench]')",
            file=sys.stderr,
        )
    return 0


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
        # When it has sold out meanwhile, the probe counts the bookings it made.
        for _ in range(min(PROBE_BOOKINGS, len(free) // 2)):
            try:
                hold = lb.block_best_available(target.theater, target.event, 2)
            except SeatsUnavailable:
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


def run_level(
    args: argparse.Namespace,
    system: System,
    balancers: list[str],
    targets: list[Target],
    users: int,
    seed: int,
) -> dict[str, Any]:
    stop = threading.Event()
    if args.rush:
        crowd = rush_crowd(args, balancers, targets[0], users, seed, stop)
    else:
        seats = sum(target.seats for target in targets)
        crowd = [
            User(
                i,
                balancers[i % len(balancers)],
                targets,
                stop,
                args.seat_map_share,
                args.cancel_share,
                seed * 100_000 + i,
                args.serializer,
                keep=keep_tickets(seats, users),
                return_at_once=can_sell_out(seats, users),
            )
            for i in range(users)
        ]
    before = system.snapshot()
    started = time.monotonic()
    for user in crowd:
        user.start()
    deadline = started + args.seconds
    _progress(crowd, users, started, deadline, stop)
    stop.set()
    for user in crowd:
        user.join()
    work = system.snapshot().minus(before)
    # The next level starts on empty venues (see users).
    left = [ticket for user in crowd for ticket in user.tickets_left()]
    not_cancelled = rush_profile.cancel_all(balancers, left)
    ceilings = {
        serializer: null_call_rate(users, args.ceiling_seconds, serializer)
        for serializer in pyro_config.ACCEPTED_SERIALIZERS
    }
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


def rush_crowd(
    args: argparse.Namespace,
    balancers: list[str],
    target: Target,
    users: int,
    seed: int,
    stop: threading.Event,
) -> list[rush_profile.RushUser]:
    keep = keep_tickets(target.seats, users)
    kinds = rush_profile.buyer_kinds(users, args.rush_explicit)
    return [
        rush_profile.RushUser(
            i,
            balancers[i % len(balancers)],
            target,
            stop,
            buyer=kinds[i],
            keep=keep,
            cancel_share=args.cancel_share,
            seed=seed * 100_000 + i,
            serializer=args.serializer,
        )
        for i in range(users)
    ]


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


def _profile_note(args: argparse.Namespace) -> str:
    if args.big:
        return " (50,000-seat venue)"
    if args.rush:
        return f" (on-sale rush, {args.rush_explicit:.0%} explicit-seat buyers)"
    return ""


def _progress(
    crowd: list[User], users: int, started: float, deadline: float, stop: threading.Event
) -> None:
    """A plain progress bar on stderr until ``deadline`` (one final line when not a terminal)."""
    tty = sys.stderr.isatty()
    width = 30
    while True:
        now = time.monotonic()
        done = min(1.0, (now - started) / (deadline - started))
        booked = sum(u.tally.bookings for u in crowd)
        if tty or done >= 1.0:
            bar = "#" * int(done * width) + "." * (width - int(done * width))
            rate = booked / max(now - started, 1e-9)
            end = "\r" if tty and done < 1.0 else "\n"
            print(
                f"{users:>5} users [{bar}] {now - started:5.1f}/{deadline - started:.0f}s "
                f"{booked:>7} bookings {rate:8.1f}/s",
                end=end,
                file=sys.stderr,
                flush=True,
            )
        if done >= 1.0:
            return
        stop.wait(min(PROGRESS_INTERVAL, max(0.0, deadline - now)))


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


def _source_version() -> dict[str, Any]:
    """The commit benchmarked, and whether the work tree had uncommitted changes.

    Nothing when the package runs from an installation rather than a checkout.
    """
    repo = Path(ticketing.__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        return {}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit or None, "uncommitted_changes": bool(dirty)}
