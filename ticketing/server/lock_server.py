"""A lock server: one replica of the lock store (holds as leases with fencing tokens)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from Pyro5.api import expose

from ticketing import counters, names
from ticketing.catalog import Catalog, load_catalog
from ticketing.domain.lock_table import LockTable, seats_held
from ticketing.errors import InvalidRequest
from ticketing.security.secret import require_secret
from ticketing.server import validation
from ticketing.server.boundary import contract_errors
from ticketing.server.cli import replica_parser
from ticketing.server.hosting import serve
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_host import ReplicaHost
from ticketing.server.replica_server import ReplicaServer


@expose
class LockServer(ReplicaServer):
    """Every argument is checked against the catalog before anything is proposed.

    The lock table trusts its commands to name real seats; callers are members
    of the cluster, but a bug or a stale peer must not put garbage in the log.
    """

    role = "lock server"

    # A hold ending this soon is left to the log to judge: the coordinator's
    # stamped time, not this replica's clock, says when a hold has expired.
    CLOCK_MARGIN = 1.0

    def __init__(self, *args: Any, catalog: Catalog | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._catalog = catalog if catalog is not None else load_catalog(None)
        self._refused_locally = counters.Counter()  # holds refused without a log round

    @contract_errors
    def acquire(
        self, hold_id: str, theater: str, event: str, seats: list[str], ttl: float
    ) -> dict[str, Any]:
        """All-or-nothing hold of ``seats`` for ``ttl`` seconds; SeatsUnavailable if taken."""
        hold_id = validation.hold_id(hold_id)
        found = validation.theater_event(self._catalog, theater, event)
        seats = validation.seat_list(found, seats, self._catalog.max_seats_per_booking)
        ttl = validation.seconds(ttl, "ttl", positive=True)
        if ttl > self._catalog.hold_ttl:
            raise InvalidRequest(f"ttl {ttl}s is longer than the catalog's hold_ttl")
        self._refuse_if_held(hold_id, theater, event, seats)
        payload = {
            "op": "acquire",
            "hold_id": hold_id,
            "theater": theater,
            "event": event,
            "seats": list(seats),
            "ttl": ttl,
        }
        result = self._write(f"acquire:{hold_id}", payload)
        return {k: v for k, v in result.items() if k != "ok"}

    def _refuse_if_held(self, hold_id: str, theater: str, event: str, seats: list[str]) -> None:
        """Refuse seats held by a live hold without a round through the log.

        In an on-sale rush most failed holds are seats someone else holds; the
        log would refuse them too, at the cost of a consensus round. What this
        replica has applied may lag, so a refusal is confirmed behind a read
        barrier first; seats that look free go to the log, which decides.
        """

        def held(table: LockTable) -> list[str]:
            now = time.time() + self.CLOCK_MARGIN
            return table.held_among(theater, event, seats, hold_id, now)

        taken = self._read(held, missing=bool)  # a non-empty answer is confirmed
        if taken:
            self._refused_locally.add()
            raise seats_held(taken)

    @contract_errors
    def status(self) -> dict[str, Any]:
        return {**super().status(), "holds_refused_locally": self._refused_locally.value}

    @contract_errors
    def release(self, hold_id: str) -> bool:
        return self.release_all([hold_id])

    @contract_errors
    def release_all(self, hold_ids: list[str]) -> bool:
        """Release many holds in one round through the log (idempotent)."""
        hold_ids = validation.hold_ids(hold_ids)
        commands = [(f"release:{h}", {"op": "release", "hold_id": h}) for h in hold_ids]
        if commands:
            self._write_many(commands)
        return True

    @contract_errors
    def get_hold(self, hold_id: str) -> dict[str, Any] | None:
        hold_id = validation.hold_id(hold_id)
        return self._read(lambda table: table.hold(hold_id, time.time()), lambda h: h is None)

    @contract_errors
    def held_seats(self, theater: str, event: str) -> list[str]:
        """Seats on hold now; read locally (the lock table is the guard, not this view)."""
        theater = validation.theater_event(self._catalog, theater, event).id
        return sorted(self._host.read(lambda table: table.held_seats(theater, event, time.time())))


def main(argv: list[str] | None = None) -> None:
    parser = replica_parser(
        "A lock server: one replica of the replicated lock table.", catalog=True
    )
    parser.add_argument("--replicas", type=int, default=3, help="lock servers in all (3)")
    args = parser.parse_args(argv)
    name = names.lock_server(args.id)
    peers = [names.lock_server(i) for i in range(1, args.replicas + 1)]
    data_dir = Path(args.data_dir) / "lock"
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = require_secret(args.data_dir)
    pool = ProxyPool(args.ns_host, args.ns_port, secret=secret)
    host = ReplicaHost(
        name, peers, LockTable(), data_dir / f"server-{args.id}.sqlite", pool, args.recover_from
    )
    catalog = load_catalog(args.catalog)
    server = LockServer(name, host, names.LOCK_COORDINATOR, pool, catalog=catalog)
    host.start(also_resolve=[names.LOCK_COORDINATOR])
    try:
        serve(server, name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret)
    finally:
        host.stop()
        pool.close()
