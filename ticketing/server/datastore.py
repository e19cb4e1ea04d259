"""A data store replica: one copy of one data cluster's seats and bookings."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from Pyro5.api import expose

from ticketing import counters, names
from ticketing.catalog import Catalog, load_catalog
from ticketing.domain.seat_store import SeatStore
from ticketing.security.secret import require_secret
from ticketing.server import validation
from ticketing.server.boundary import contract_errors
from ticketing.server.cli import replica_parser
from ticketing.server.hosting import serve
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_host import ReplicaHost
from ticketing.server.replica_server import ReplicaServer

log = logging.getLogger(__name__)

# Set to "1" in a replica's environment to run the deliberately broken variant
# that books seats already booked: only for showing the fault checker at work.
UNSAFE_NO_SEAT_CHECK = "TICKETING_UNSAFE_NO_SEAT_CHECK"

T = TypeVar("T")


@expose
class DataStore(ReplicaServer):
    """Every argument is checked against the theaters this cluster hosts first."""

    role = "data store"

    def __init__(self, *args: Any, catalog: Catalog | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this cluster's theaters: others are UnknownTheater here.
        self._catalog = catalog if catalog is not None else load_catalog(None)
        # Views and lookups served behind the read barrier: callers spread them
        # over the replicas (``ReplicaGroup.read``), and ``status`` shows how.
        self._barrier_reads = counters.Counter()

    @contract_errors
    def book(
        self,
        ticket_no: str,
        hold_id: str,
        theater: str,
        event: str,
        seats: list[str],
        name: str,
        email: str,
        fence: int,
        expires_at: float,
    ) -> dict[str, Any]:
        """Book if every seat is free and the hold is current; the same hold books once."""
        ticket_no, hold_id, theater, event, seats, name, email, fence, expires_at = (
            validation.booking(
                self._catalog,
                ticket_no,
                hold_id,
                theater,
                event,
                seats,
                name,
                email,
                fence,
                expires_at,
            )
        )
        payload = {
            "op": "book",
            "ticket_no": ticket_no,
            "hold_id": hold_id,
            "theater": theater,
            "event": event,
            "seats": list(seats),
            "name": name,
            "email": email,
            "fence": fence,
            "expires_at": expires_at,
        }
        # Keyed by the ticket number too: retries of this call (same number) are
        # applied once, while a new booking with a hold whose ticket was cancelled
        # is a new command and is not answered with the cancelled ticket.
        return self._write(f"book:{hold_id}:{ticket_no}", payload)["ticket"]

    @contract_errors
    def cancel(self, theater: str, ticket_no: str) -> dict[str, str]:
        """Free the ticket's seats; ``{"hold_id", "event"}`` of the hold it was booked with.

        The load balancer frees that hold's sold mark at once, in the lock group
        of the event, so the seats can be held again as soon as the cancel returns.
        """
        theater = validation.theater(self._catalog, theater).id
        ticket_no = validation.ticket_no(ticket_no)
        payload = {"op": "cancel", "theater": theater, "ticket_no": ticket_no}
        result = self._write(f"cancel:{theater}:{ticket_no}", payload)
        return {key: result[key] for key in ("hold_id", "event") if key in result}

    # Seat views pass a read barrier: callers spread them over every replica
    # (and keep their own favourite for writes, which may differ after a
    # failover), and a replica that did not make a write learns it a little
    # later. The barrier's answer carries the chosen values this replica lacks,
    # so it rarely waits.

    @contract_errors
    def status(self) -> dict[str, Any]:
        return {**super().status(), "barrier_reads": self._barrier_reads.value}

    def _fresh_read(self, query: Callable[[SeatStore], T]) -> T:
        """``query`` on the state once everything acknowledged so far is applied here."""
        self._sync()
        self._barrier_reads.add()
        return self._host.read(query)

    @contract_errors
    def free_seats(self, theater: str, event: str) -> list[str]:
        theater = validation.theater_event(self._catalog, theater, event).id
        return self._fresh_read(lambda store: store.free_seats(theater, event))

    @contract_errors
    def seat_states(self, theater: str, event: str) -> str:
        theater = validation.theater_event(self._catalog, theater, event).id
        return self._fresh_read(lambda store: store.seat_states(theater, event))

    @contract_errors
    def ticket(self, theater: str, ticket_no: str) -> dict[str, Any]:
        theater = validation.theater(self._catalog, theater).id
        ticket_no = validation.ticket_no(ticket_no)
        # Always behind a read barrier: a replica that restarted a little behind
        # must not show a cancelled ticket as live, nor a booked one as missing.
        return self._fresh_read(lambda store: store.ticket(theater, ticket_no))

    @contract_errors
    def holds_booked_on(self, theater: str, event: str, seats: list[str]) -> list[dict[str, Any]]:
        """The holds whose tickets booked any of ``seats``: ``[{"hold_id", "seats"}]``.

        Behind a read barrier: it answers a load balancer whose booking was just
        refused for those seats, to re-send the lock store the sold marks it lacks.
        """
        found = validation.theater_event(self._catalog, theater, event)
        seats = validation.seat_list(found, seats, self._catalog.max_seats_per_booking)
        return self._fresh_read(lambda store: store.holds_booked_on(found.id, event, seats))

    @contract_errors
    def ticket_for_hold(self, hold_id: str) -> dict[str, Any] | None:
        hold_id = validation.hold_id(hold_id)
        return self._read(lambda store: store.ticket_for_hold(hold_id), lambda t: t is None)


def main(argv: list[str] | None = None) -> None:
    parser = replica_parser(
        "A data store replica: one copy of a data cluster's seats and bookings.",
        cluster=True,
        catalog=True,
    )
    parser.add_argument("--replicas", type=int, default=3, help="replicas in the cluster (3)")
    args = parser.parse_args(argv)
    catalog = load_catalog(args.catalog)
    clusters = catalog.clusters()
    if args.cluster not in clusters:
        parser.error(f"--cluster {args.cluster}: the catalog has clusters {', '.join(clusters)}")
    name = names.datastore_replica(args.cluster, args.id)
    peers = [names.datastore_replica(args.cluster, i) for i in range(1, args.replicas + 1)]
    data_dir = Path(args.data_dir) / "datastore" / args.cluster
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = require_secret(args.data_dir)
    pool = ProxyPool(args.ns_host, args.ns_port, secret=secret)
    broken = os.environ.get(UNSAFE_NO_SEAT_CHECK) == "1"
    if broken:
        log.warning(
            "%s=1: the free-seat check is OFF (a broken variant for tests)", UNSAFE_NO_SEAT_CHECK
        )
    store = SeatStore(clusters[args.cluster], check_free=not broken)
    db = data_dir / f"replica-{args.id}.sqlite"
    host = ReplicaHost(name, peers, store, db, pool, args.recover_from)
    coordinator = names.datastore_coordinator(args.cluster)
    hosted = dataclasses.replace(catalog, theaters=clusters[args.cluster])
    server = DataStore(name, host, coordinator, pool, catalog=hosted)
    host.start(also_resolve=[coordinator])
    try:
        serve(server, name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret)
    finally:
        host.stop()
        pool.close()
