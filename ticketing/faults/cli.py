"""``run/torture.py``: one fault run from the command line, its figures and anomalies printed."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ticketing import catalog_files
from ticketing.cluster.processes import free_port
from ticketing.domain.lock_placement import PlacementError
from ticketing.faults import history_file
from ticketing.faults.checker import check
from ticketing.faults.report import anomaly_lines, report_lines
from ticketing.faults.run import CATALOG_EVERY, run
from ticketing.server.cli import positive_int

SMALL_CATALOG = catalog_files.SMALL
# The small catalog's events and two more: its hot events reach every one of 2-4 lock groups.
GROUPS_CATALOG = catalog_files.GROUPS
HISTORY_FILE = "history.json"  # in the run's data dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run clients on a hot set of seats against a local cluster while a seeded "
        "nemesis kills, pauses and restarts its processes; then check the history. "
        "Exit status 1 when the checker finds an anomaly."
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="length of the fault phase")
    length.add_argument("--seconds", type=float, help="length of the fault phase (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the nemesis and clients (1)")
    parser.add_argument(
        "--catalog",
        type=Path,
        help=f"catalog TOML ({SMALL_CATALOG.name}; with --lock-groups above 1, "
        f"{GROUPS_CATALOG.name}, whose hot events reach every group)",
    )
    parser.add_argument(
        "--lock-groups",
        type=positive_int,
        default=1,
        metavar="K",
        help="run the lock store as K independent groups (1)",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="where the cluster keeps its state (a temp dir)"
    )
    parser.add_argument("--ns-port", type=int, help="name server port (a free one)")
    parser.add_argument(
        "--broken",
        action="store_true",
        help="run the data store without its free-seat check (and a rogue load balancer): "
        "the checker must report it",
    )
    parser.add_argument(
        "--forget-sold",
        action="store_true",
        help="run the lock store without sold marks (booked seats look free to it once their "
        "hold ends): the checker must report holds granted on booked seats",
    )
    parser.add_argument(
        "--ignore-sales",
        action="store_true",
        help="run the data store booking events whatever their sales (stopped, cancelled), "
        "with a rogue load balancer: the checker must report bookings of closed events",
    )
    changes = parser.add_mutually_exclusive_group()
    changes.add_argument(
        "--catalog-every",
        type=_positive_float,
        default=CATALOG_EVERY,
        metavar="SECONDS",
        help="mean seconds between the operator's catalog changes: add, retitle and "
        "reschedule events, stop and resume sales, cancel an added event "
        f"({CATALOG_EVERY:g})",
    )
    changes.add_argument(
        "--no-catalog-changes",
        action="store_true",
        help="no operator: the catalog stays as the file seeds it",
    )
    parser.add_argument(
        "--check",
        type=Path,
        metavar="FILE",
        help="run no cluster: judge the history a run saved (its data dir's history.json) "
        "again and print its anomalies",
    )
    parser.add_argument(
        "--rogue",
        action="store_true",
        help="clients also book at the data store replicas with made-up holds",
    )
    parser.add_argument(
        "--no-faults",
        action="store_true",
        help="clients only, no nemesis (with --broken, --forget-sold or --ignore-sales)",
    )
    parser.add_argument(
        "--netns",
        action="store_true",
        help="spread the cluster over hosts (network namespaces; needs root and iproute2), "
        "each replica of one data cluster on its own, and add partitions to the faults: "
        "a replica's host cut off for a few seconds, then healed",
    )
    args = parser.parse_args(argv)
    if args.check:
        return _check_again(args.check)
    signal.signal(signal.SIGTERM, _interrupt)  # so the cluster is stopped on the way out
    seconds = args.minutes * 60 if args.minutes else args.seconds or 60.0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    catalog = args.catalog or (GROUPS_CATALOG if args.lock_groups > 1 else SMALL_CATALOG)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="torture-")) / "data"
    began = time.monotonic()
    try:
        result = run(
            data_dir,
            catalog.resolve(),
            args.ns_port or free_port(),
            seconds=seconds,
            clients=args.clients,
            seed=args.seed,
            broken=args.broken,
            forget_sold=args.forget_sold,
            ignore_sales=args.ignore_sales,
            rogue=args.rogue,
            faults=not args.no_faults,
            netns=args.netns,
            lock_groups=args.lock_groups,
            catalog_every=None if args.no_catalog_changes else args.catalog_every,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except PlacementError as exc:
        print(f"torture: {exc}", file=sys.stderr)
        return 2
    print(f"torture: seed {args.seed}, {args.clients} clients, {args.lock_groups} lock "
          f"group(s), {seconds:.0f}s of faults, {time.monotonic() - began:.0f}s in all; "
          f"catalog {catalog}; data in {data_dir}")  # fmt: skip
    for line in report_lines(result):
        print(line)
    saved = data_dir / HISTORY_FILE
    history_file.save(result.history, saved)
    print(f"  history saved in {saved} (judge it again: run/torture.py --check {saved})")
    return 1 if result.anomalies else 0


def _check_again(path: Path) -> int:
    """The checker on a saved history: 0 without anomalies, 1 with, 2 if unreadable."""
    try:
        history = history_file.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"torture: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    anomalies = check(history)
    print(f"torture: {len(history.operations)} operations from {path}")
    for line in anomaly_lines(history, anomalies):
        print(line)
    return 1 if anomalies else 0


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
