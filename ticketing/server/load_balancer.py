"""The load balancer: the contract's remote API, over the lock store and the data store.

A seat is *held* in the lock store (a lease with a fencing token) and *booked*
in the data store (on the replicas the data store manager routes a theater
to, see ``data_routes``). The balancer keeps no
state of its own, so any number of them can run and a client may switch
between them at any call: everything it knows is in the replicated stores or
derived from the catalog.

Every argument is checked first (``validation``), so a refusal changes
nothing and costs no remote call. Booking is safe to repeat: a hold is
acquired under a fresh random id (idempotent per id on the lock servers), and
the data store answers a hold booked twice with its first ticket.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any

from Pyro5.api import expose

from ticketing import counters, names, settings
from ticketing.catalog import Catalog, CatalogError, Theater, load_catalog
from ticketing.domain.seat_store import BOOKED
from ticketing.domain.seats import SeatMap
from ticketing.errors import HoldNotFound, SeatsUnavailable, Unavailable
from ticketing.security import tls
from ticketing.security.fairness import Admission, HoldQuota, admitted, client_address
from ticketing.security.secret import require_secret
from ticketing.server import validation
from ticketing.server.boundary import contract_errors
from ticketing.server.cli import common_parser, positive_int
from ticketing.server.data_routes import DataRoutes
from ticketing.server.hosting import serve
from ticketing.server.proxies import ProxyPool
from ticketing.server.release_queue import ReleaseQueue
from ticketing.server.replica_group import ReplicaGroup

log = logging.getLogger(__name__)

TOKEN_BYTES = 16  # hold ids and ticket numbers: 128 random bits (the contract asks >= 96)

FREE_STATE, HELD_STATE, BOOKED_STATE = "free", "held", "booked"


def seat_states(seat_map: SeatMap, booked: str, held: Iterable[str]) -> list[str]:
    """The contract's state of every seat, in seat-map order.

    ``booked`` is the data store's ``seat_states`` string (one character a
    seat); ``held`` the lock store's held labels. A seat both booked and held
    (booked, its hold not yet released) is booked.
    """
    if len(booked) != len(seat_map):
        raise Unavailable(
            f"the data store reports {len(booked)} seats where the catalog has "
            f"{len(seat_map)}; do its catalog and ours differ?"
        )
    states = [BOOKED_STATE if state == BOOKED else FREE_STATE for state in booked]
    for label in held:
        index = seat_map.index(label)
        if states[index] == FREE_STATE:
            states[index] = HELD_STATE
    return states


def seat_rows(seat_map: SeatMap, states: list[str]) -> dict[str, list[list[dict[str, str]]]]:
    """``get_seat_map``'s answer: ``{"rows": [[{"seat", "state"}, ...], ...]}``."""
    width = seat_map.seats_per_row
    rows = [
        [{"seat": label, "state": states[row * width + col]} for col, label in enumerate(labels)]
        for row, labels in enumerate(seat_map.row_labels())
    ]
    return {"rows": rows}


def free_seats(seat_map: SeatMap, states: list[str]) -> list[str]:
    """The seats neither held nor booked, in seat-map order."""
    return [seat_map.label(i) for i, state in enumerate(states) if state == FREE_STATE]


@expose
class LoadBalancer:
    """The contract's API (section 2), served as ``ticketing.loadbalancer.<id>``."""

    def __init__(self, balancer_id: int | str, catalog: Catalog, pool: ProxyPool) -> None:
        self.name = names.load_balancer(balancer_id)
        self.catalog = catalog
        self.pool = pool
        self.locks = ReplicaGroup(pool, names.LOCK_SERVER_PREFIX, "lock server")
        self.data = DataRoutes(pool)
        self._releases = ReleaseQueue(self.locks)
        self.admission = Admission(settings.LB_MAX_CONCURRENT_CALLS, settings.LB_ADMISSION_WAIT)
        self._quota = HoldQuota(catalog.max_held_seats_per_client)

    def _hold_live(self, hold_id: str) -> bool:
        return self.locks.call("get_hold", hold_id) is not None

    def _states(self, theater: Theater, event: str) -> list[str]:
        booked = self.data.call(theater.id, "seat_states", theater.id, event)
        held = self.locks.call("held_seats", theater.id, event)
        return seat_states(theater.seat_map, booked, held)

    # -- the contract's API ------------------------------------------------

    @contract_errors
    @admitted
    def list_theaters(self) -> list[dict[str, Any]]:
        return self.catalog.to_plain()

    @contract_errors
    @admitted
    def get_available_seats(self, theater: str, event: str) -> list[str]:
        found = validation.theater_event(self.catalog, theater, event)
        return free_seats(found.seat_map, self._states(found, event))

    @contract_errors
    @admitted
    def get_seat_map(self, theater: str, event: str) -> dict[str, Any]:
        found = validation.theater_event(self.catalog, theater, event)
        return seat_rows(found.seat_map, self._states(found, event))

    @contract_errors
    @admitted
    def block_seats(self, theater: str, event: str, seats: list[str]) -> dict[str, Any]:
        """Hold all of ``seats`` for ``hold_ttl`` seconds, or none of them.

        Booked seats are refused here (the lock store only knows holds); a
        seat booked between this check and the hold is still caught when the
        hold is booked.
        """
        found = validation.theater_event(self.catalog, theater, event)
        wanted = validation.seat_list(found, seats, self.catalog.max_seats_per_booking)
        booked = self.data.call(found.id, "seat_states", found.id, event)
        states = seat_states(found.seat_map, booked, held=())
        taken = [seat for seat in wanted if states[found.seat_map.index(seat)] == BOOKED_STATE]
        if taken:
            raise SeatsUnavailable(
                f"seats already booked: {', '.join(taken)}; pick others from the seat map", taken
            )
        client = client_address()
        self._quota.check(client, found.id, event, len(wanted), time.time(), self._hold_live)
        hold_id = secrets.token_urlsafe(TOKEN_BYTES)
        hold = self.locks.call("acquire", hold_id, found.id, event, wanted, self.catalog.hold_ttl)
        self._quota.granted(client, found.id, event, hold_id, len(wanted), hold["expires_at"])
        return {key: hold[key] for key in ("hold_id", "seats", "expires_at")}

    @contract_errors
    @admitted
    def release_hold(self, hold_id: str) -> bool:
        """Give the seats back; an unknown or already released hold is fine (idempotent)."""
        self.locks.call("release", validation.hold_id(hold_id))
        self._quota.ended(hold_id)
        return True

    @contract_errors
    @admitted
    def book_ticket(self, hold_id: str, name: str, email: str) -> dict[str, Any]:
        """Book the seats of a live hold; the same hold booked twice answers the same ticket."""
        hold_id = validation.hold_id(hold_id)
        name = validation.person_name(name)
        email = validation.email(email)
        hold = self.locks.call("get_hold", hold_id)
        if hold is None:
            # Which theater the hold was for is gone with it: the manager asks every cluster.
            earlier = self.pool.call(names.DATASTORE_MANAGER, "ticket_for_hold", hold_id)
            if earlier is not None:
                return earlier
            raise HoldNotFound(
                f"hold {hold_id} has expired, was released or never existed; "
                "hold the seats again with block_seats"
            )
        ticket = self.data.call(
            hold["theater"],
            "book",
            secrets.token_urlsafe(TOKEN_BYTES),
            hold_id,
            hold["theater"],
            hold["event"],
            hold["seats"],
            name,
            email,
            hold["fence"],
            hold["expires_at"],
        )
        self._releases.put(hold_id)  # off the booking's path; it lapses if that fails
        self._quota.ended(hold_id)
        return ticket

    @contract_errors
    @admitted
    def get_ticket_details(self, theater: str, ticket_no: str) -> dict[str, Any]:
        found = validation.theater(self.catalog, theater)
        return self.data.call(found.id, "ticket", found.id, validation.ticket_no(ticket_no))

    @contract_errors
    @admitted
    def delete_ticket(self, theater: str, ticket_no: str) -> bool:
        """Cancel a ticket; its seats are free at once."""
        found = validation.theater(self.catalog, theater)
        hold_id = self.data.call(found.id, "cancel", found.id, validation.ticket_no(ticket_no))
        # Its hold may still be waiting in the release queue: release it now, so
        # the seats show free, not held, as soon as this returns.
        self.locks.call("release_all", [hold_id])
        return True

    @contract_errors
    @admitted
    def status(self) -> dict[str, Any]:
        """Who we are and which lock servers we know and prefer (no remote call)."""
        return {
            "name": self.name,
            "role": "loadbalancer",
            "pid": os.getpid(),
            "lock_servers": self.locks.known(),
            "preferred_lock_server": self.locks.preferred,
            "preferred_data_replicas": self.data.known(),
            **counters.snapshot(),
        }


def main(argv: Sequence[str] | None = None) -> None:
    """``run/load_balancer.py``: serve one load balancer until SIGINT/SIGTERM."""
    parser = common_parser(
        "Serve a load balancer: the ticketing API that clients call.", catalog=True
    )
    parser.add_argument("--id", type=positive_int, required=True, help="balancer id (1, 2, ...)")
    args = parser.parse_args(argv)
    try:
        catalog = load_catalog(args.catalog)
    except CatalogError as exc:
        raise SystemExit(str(exc)) from None
    # A member towards the lock servers and the manager; public itself (served
    # without the secret, and over TLS without asking for a client certificate).
    tls.serve_public()
    pool = ProxyPool(args.ns_host, args.ns_port, secret=require_secret(args.data_dir))
    try:
        balancer = LoadBalancer(args.id, catalog, pool)
        serve(balancer, balancer.name, args.host, args.ns_host, args.ns_port, args.data_dir)
    finally:
        pool.close()
