"""The coordinators' command lines: the lock coordinator's and a data store coordinator's.

Both serve a ``Coordinator`` under the contract's name for its cluster, or,
with ``--standby``, beside the main one under ``standby_name`` with state of
its own (``coordinator_identity``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ticketing import names
from ticketing.security.secret import require_secret
from ticketing.server.cli import (
    LockGroupsChanged,
    cluster_name,
    common_parser,
    lock_data_dir,
    lock_group_of,
    lock_groups_flag,
    pin_lock_groups,
    positive_int,
)
from ticketing.server.coordinator import Coordinator
from ticketing.server.coordinator_identity import STANDBY_SUFFIX, standby_name
from ticketing.server.hosting import serve
from ticketing.server.proxies import ProxyPool

CONSENSUS_TIMEOUT = 2.0  # seconds for one call to a replica


def _serve(role: str, name: str, replica_names: list[str], data_dir: Path, args: Any) -> None:
    if args.standby:
        # Beside the main coordinator: its own name (hosting refuses a second live
        # process under one name) and its own proposer id and round on disk, so the
        # two compete through ballots and never share a ballot.
        role, name = f"{role} (standby)", standby_name(name)
        data_dir = data_dir.with_name(data_dir.name + STANDBY_SUFFIX)
    secret = require_secret(args.data_dir)
    pool = ProxyPool(args.ns_host, args.ns_port, timeout=CONSENSUS_TIMEOUT, secret=secret)
    coordinator = Coordinator(name, replica_names, data_dir, pool, role)
    try:
        serve(
            coordinator, name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret
        )
    finally:
        coordinator.close()
        pool.close()


def lock_main(argv: list[str] | None = None) -> None:
    parser = common_parser("The lock coordinator: leads consensus among the lock servers.")
    parser.add_argument("--replicas", type=positive_int, default=3, help="lock servers (3)")
    lock_groups_flag(parser, group=True)
    _standby_flag(parser)
    args = parser.parse_args(argv)
    group = lock_group_of(parser, args)
    try:
        pin_lock_groups(Path(args.data_dir), args.lock_groups)
    except LockGroupsChanged as exc:
        raise SystemExit(str(exc)) from None
    replicas = [names.lock_server(i, group) for i in range(1, args.replicas + 1)]
    data_dir = lock_data_dir(Path(args.data_dir), group) / "coordinator"
    role = "lock coordinator" if group is None else f"lock coordinator of group {group}"
    _serve(role, names.lock_coordinator(group), replicas, data_dir, args)


def datastore_main(argv: list[str] | None = None) -> None:
    parser = common_parser("A data store coordinator: leads consensus in one data cluster.")
    parser.add_argument(
        "--cluster", required=True, type=cluster_name, help="the data cluster it coordinates"
    )
    parser.add_argument("--replicas", type=positive_int, default=3, help="replicas (3)")
    _standby_flag(parser)
    args = parser.parse_args(argv)
    replicas = [names.datastore_replica(args.cluster, i) for i in range(1, args.replicas + 1)]
    data_dir = Path(args.data_dir) / "datastore" / args.cluster / "coordinator"
    name = names.datastore_coordinator(args.cluster)
    _serve("data store coordinator", name, replicas, data_dir, args)


def _standby_flag(parser: Any) -> None:
    parser.add_argument(
        "--standby",
        action="store_true",
        help="run beside the main coordinator as '<name>.standby' with its own state; "
        "ballots decide which one leads, replicas fail over to it",
    )
