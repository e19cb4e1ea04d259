"""A data store replica: one copy of one data cluster's seats, bookings and theaters.

The cluster's theaters and events are replicated state (``SeatStore``): this
replica checks requests against what it applied, and when a theater or event
is unknown here it first passes a read barrier (a replica a little behind
may not have applied the command that added it). A new cluster is seeded
from the catalog file by one ``bootstrap`` command, which every replica
submits at start under the same request id, so it is applied once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from Pyro5.api import expose

from ticketing import counters, names
from ticketing.catalog import Catalog, Theater, load_catalog
from ticketing.domain import seat_commands
from ticketing.domain.seat_commands import CATALOG_OPS, Book, Bootstrap, Cancel
from ticketing.domain.seat_store import SeatStore
from ticketing.errors import InvalidRequest, TicketingError, UnknownEvent, UnknownTheater
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
# The same, for the variant that books events whatever their sales (stopped, cancelled).
UNSAFE_IGNORE_SALES = "TICKETING_UNSAFE_IGNORE_SALES"

T = TypeVar("T")

BOOTSTRAP_RETRY = 0.2  # seconds between tries to seed the catalog while there is no quorum
BOOTSTRAP_REQUEST = "catalog:bootstrap"  # one request id for every replica's bootstrap


@expose
class DataStore(ReplicaServer):
    """Every argument is checked against the theaters this cluster hosts first."""

    role = "data store"

    def __init__(
        self,
        *args: Any,
        limits: Catalog | None = None,
        seed: tuple[Theater, ...] = (),
        **kwargs: Any,
    ) -> None:
        """``limits``: the catalog file's cluster-wide settings (its theaters are not used);
        ``seed``: the theaters a new cluster starts with (see ``_seed_catalog``)."""
        super().__init__(*args, **kwargs)
        self._limits = limits if limits is not None else load_catalog(None)
        self._seed = seed
        self._hosted: tuple[int, Catalog] = (-1, self._limits.with_theaters(()))
        # Views and lookups served behind the read barrier: callers spread them
        # over the replicas (``ReplicaGroup.read``), and ``status`` shows how.
        self._barrier_reads = counters.Counter()

    # -- the catalog --------------------------------------------------------------

    @property
    def _catalog(self) -> Catalog:
        """The limits over the theaters this cluster's log holds now (rebuilt on change)."""
        version, catalog = self._hosted
        if self._host.read(lambda store: store.catalog_version) != version:
            version, theaters = self._host.read(lambda s: (s.catalog_version, s.theaters()))
            catalog = self._limits.with_theaters(theaters)
            self._hosted = (version, catalog)
        return catalog

    def _checked(self, check: Callable[[Catalog], T]) -> T:
        """``check(catalog)``; on an unknown theater or event, again after a read barrier."""
        try:
            return check(self._catalog)
        except (UnknownTheater, UnknownEvent):
            self._sync()
            return check(self._catalog)

    def _seed_catalog(self, stopping: threading.Event) -> None:
        """Seed a new cluster's catalog from the file, retrying until a quorum decides it.

        Every replica submits the same request; the first one decided seeds
        the catalog, later ones change nothing (``SeatStore``), so it is safe
        at every start, and a cluster that already has a catalog keeps it.
        """
        command = Bootstrap(self._seed).to_plain()
        while not stopping.is_set():
            if self._host.read(lambda store: store.catalog_version) > 0:
                return
            try:
                self._write(BOOTSTRAP_REQUEST, command)
                return
            except TicketingError as exc:
                log.debug("catalog bootstrap not decided yet: %s", exc)
            stopping.wait(BOOTSTRAP_RETRY)

    @contract_errors
    def catalog_since(self, version: int) -> dict[str, Any] | None:
        """The cluster's catalog (``{"version", "theaters"}``) if not at ``version``; else None.

        From this replica's applied state, without a barrier: the manager polls
        it, and learns the changes it makes itself from their results.
        """
        return self._host.read(
            lambda store: None if store.catalog_version == version else store.catalog_plain()
        )

    @contract_errors
    def change_catalog(self, request_id: str, command: dict[str, Any]) -> dict[str, Any]:
        """Decide one catalog command (``SeatStore``'s) in the log: its result.

        Only the data store manager calls this, for the operator; the state
        machine checks the command against the catalog and the bookings as
        they are at its slot, so two operators at once get one outcome each.
        """
        request_id = validation.token(request_id, "request id", "a random id")
        if not isinstance(command, dict) or command.get("op") not in CATALOG_OPS:
            raise InvalidRequest(f"not a catalog command: {sorted(CATALOG_OPS)}")
        checked = seat_commands.from_plain(command)
        return self._write(f"catalog:{request_id}", checked.to_plain())

    @contract_errors
    def sales_report(self, theater: str, event: str) -> dict[str, Any]:
        """``{"sold", "tickets", "refunds"}`` of one event, behind a read barrier."""
        found = self._checked(lambda c: validation.theater_event(c, theater, event))
        return self._fresh_read(lambda store: store.sales_report(found.id, event))

    @contract_errors
    def book(self, booking: dict[str, Any]) -> dict[str, Any]:
        """Book a ``Booking`` (its plain form) if every seat is free and the hold is current;
        the same hold books once."""
        checked = self._checked(lambda catalog: validation.booking(catalog, booking))
        # Keyed by the ticket number too: retries of this call (same number) are
        # applied once, while a new booking with a hold whose ticket was cancelled
        # is a new command and is not answered with the cancelled ticket.
        request_id = f"book:{checked.hold_id}:{checked.ticket_no}"
        return self._write(request_id, Book(checked).to_plain())["ticket"]

    @contract_errors
    def cancel(self, theater: str, ticket_no: str) -> dict[str, str]:
        """Free the ticket's seats; ``{"hold_id", "event"}`` of the hold it was booked with.

        The load balancer frees that hold's sold mark at once, in the lock group
        of the event, so the seats can be held again as soon as the cancel returns.
        """
        theater = self._checked(lambda c: validation.theater(c, theater)).id
        ticket_no = validation.ticket_no(ticket_no)
        result = self._write(f"cancel:{theater}:{ticket_no}", Cancel(theater, ticket_no).to_plain())
        return {key: result[key] for key in ("hold_id", "event") if key in result}

    # Seat views pass a read barrier: callers spread them over every replica
    # (and keep their own favourite for writes, which may differ after a
    # failover), and a replica that did not make a write learns it a little
    # later. The barrier's answer carries the chosen values this replica lacks,
    # so it rarely waits.

    @contract_errors
    def status(self) -> dict[str, Any]:
        return {
            **super().status(),
            "barrier_reads": self._barrier_reads.value,
            "catalog_version": self._host.read(lambda store: store.catalog_version),
        }

    def _fresh_read(self, query: Callable[[SeatStore], T]) -> T:
        """``query`` on the state once everything acknowledged so far is applied here."""
        self._sync()
        self._barrier_reads.add()
        return self._host.read(query)

    @contract_errors
    def seat_states(self, theater: str, event: str) -> str:
        theater = self._checked(lambda c: validation.theater_event(c, theater, event)).id
        return self._fresh_read(lambda store: store.seat_states(theater, event))

    @contract_errors
    def ticket(self, theater: str, ticket_no: str) -> dict[str, Any]:
        theater = self._checked(lambda c: validation.theater(c, theater)).id
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
        found = self._checked(lambda c: validation.theater_event(c, theater, event))
        seats = validation.seat_list(found, seats, self._limits.max_seats_per_booking)
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
    seed = catalog.clusters().get(args.cluster, ())
    if not seed:
        log.info("cluster %s is not in the catalog file: a new cluster starts empty", args.cluster)
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
    ignore_sales = os.environ.get(UNSAFE_IGNORE_SALES) == "1"
    if ignore_sales:
        log.warning(
            "%s=1: bookings ignore stopped and cancelled sales (a broken variant for tests)",
            UNSAFE_IGNORE_SALES,
        )
    # Its catalog comes from the log.
    store = SeatStore(check_free=not broken, check_sales=not ignore_sales)
    db = data_dir / f"replica-{args.id}.sqlite"
    host = ReplicaHost(name, peers, store, db, pool, args.recover_from)
    coordinator = names.datastore_coordinator(args.cluster)
    server = DataStore(name, host, coordinator, pool, limits=catalog, seed=seed)
    host.start(also_resolve=[coordinator])
    stopping = threading.Event()
    seeding = threading.Thread(target=server._seed_catalog, args=(stopping,), daemon=True)
    seeding.start()
    try:
        serve(server, name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret)
    finally:
        stopping.set()
        host.stop()
        pool.close()
