"""``run/bench.py``'s command line: its flags, checked together, and ``main``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ticketing.bench import scale
from ticketing.bench.layout import BALANCERS_PER_STEP
from ticketing.bench.runner import run
from ticketing.security.secret import ENV_VAR, SecretError
from ticketing.server import pyro_config

RUSH_EXPLICIT_SHARE = 0.3  # of the rush's users who pick their seats on the map


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
        return run(args, argv)
    except SecretError as exc:  # attaching without the cluster's secret
        print(f"bench: {exc}", file=sys.stderr)
        return 2
