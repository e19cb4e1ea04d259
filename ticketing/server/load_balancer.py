"""The load balancer: the contract's remote API, over the lock store and the data store.

A seat is *held* in the lock store (a lease with a fencing token) and *booked*
in the data store (on the replicas the data store manager routes a theater
to, see ``data_routes``). The balancer keeps no
state of its own, so any number of them can run and a client may switch
between them at any call: everything it knows is in the replicated stores or
derived from the catalog, which it follows as the operator changes it
(``CatalogFollower``).

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
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from Pyro5.api import expose

from ticketing import counters, names, settings
from ticketing.catalog import Catalog, Theater
from ticketing.domain import seat_codes, seat_store
from ticketing.domain.seat_commands import Booking
from ticketing.domain.seats import SeatMap
from ticketing.errors import HoldNotFound, SeatsUnavailable, TicketingError, Unavailable
from ticketing.security import tls
from ticketing.security.cluster_key import SigningKey
from ticketing.security.fairness import (
    Admission,
    BookingQuota,
    HoldQuota,
    admitted,
    client_address,
    client_key,
)
from ticketing.security.secret import require_secret
from ticketing.server import validation
from ticketing.server.boundary import contract_errors
from ticketing.server.catalog_follower import CatalogFollower
from ticketing.server.cli import (
    common_parser,
    load_placement,
    lock_groups_flag,
    positive_int,
)
from ticketing.server.data_routes import DataRoutes
from ticketing.server.hosting import serve
from ticketing.server.lock_routes import LockRoutes
from ticketing.server.proxies import ProxyPool
from ticketing.server.settle_queue import SettleQueue

log = logging.getLogger(__name__)

TOKEN_BYTES = 16  # ticket numbers: 128 random bits (the contract asks >= 96)

_FROM_STORE = str.maketrans(
    {seat_store.FREE: seat_codes.FREE, seat_store.BOOKED: seat_codes.BOOKED}
)
_FREE_BYTE, _HELD_BYTE = ord(seat_codes.FREE), ord(seat_codes.HELD)


def compact_states(seat_map: SeatMap, booked: str, held: Iterable[str]) -> str:
    """Every seat's ``seat_codes`` character, in seat-map order: ``get_seat_states``'s string.

    ``booked`` is the data store's ``seat_states`` string (one character a
    seat); ``held`` the lock store's held labels. A seat both booked and held
    (booked, its hold not yet released) is booked. The string is mapped with
    ``str.translate`` and patched in a bytearray, so a 50,000-seat venue costs
    C loops, not a Python object a seat.
    """
    if len(booked) != len(seat_map):
        raise Unavailable(
            f"the data store reports {len(booked)} seats where the catalog has "
            f"{len(seat_map)}; do its catalog and ours differ?"
        )
    codes = booked.translate(_FROM_STORE)
    if codes.count(seat_codes.FREE) + codes.count(seat_codes.BOOKED) != len(codes):
        raise Unavailable("the data store answered seat states other than free and booked")
    cells = bytearray(codes, "ascii")
    for label in held:
        if not seat_map.contains(label):
            continue  # held before the theater shrank: the seat is gone from the map
        index = seat_map.index(label)
        if cells[index] == _FREE_BYTE:
            cells[index] = _HELD_BYTE
    return cells.decode("ascii")


def seat_rows(seat_map: SeatMap, codes: str) -> dict[str, list[list[dict[str, str]]]]:
    """``get_seat_map``'s answer: ``{"rows": [[{"seat", "state"}, ...], ...]}``."""
    words = seat_codes.STATE_NAMES
    return {
        "rows": [
            [{"seat": label, "state": words[code]} for label, code in zip(labels, row, strict=True)]
            for labels, row in seat_codes.rows(seat_map, codes)
        ]
    }


@expose
class LoadBalancer:
    """The contract's API (section 2), served as ``ticketing.loadbalancer.<id>``."""

    def __init__(self, balancer_id: int | str, follower: CatalogFollower, pool: ProxyPool) -> None:
        self.name = names.load_balancer(balancer_id)
        self.follower = follower
        catalog = follower.catalog  # its limits do not change while the process runs
        self.pool = pool
        self.locks = LockRoutes(pool, lambda: follower.placement)
        self.data = DataRoutes(pool)
        self._settles = SettleQueue(self.locks)
        self.admission = Admission(settings.LB_MAX_CONCURRENT_CALLS)
        self._quota = HoldQuota(catalog.max_held_seats_per_client)
        self._bookings = BookingQuota(
            catalog.max_booked_seats_per_client, catalog.booking_quota_window
        )
        self._exempt = catalog.quota_exempt_networks

    @property
    def _catalog(self) -> Catalog:
        return self.follower.catalog

    def _event(self, theater: Any, event: Any, on_sale: bool = False) -> Theater:
        """The checked theater of ``event`` (on sale, with ``on_sale``), on a fresh catalog
        if ours does not know it."""
        check = validation.theater_on_sale if on_sale else validation.theater_event
        return self.follower.checked(lambda catalog: check(catalog, theater, event))

    def _theater(self, theater: Any) -> Theater:
        return self.follower.checked(lambda catalog: validation.theater(catalog, theater))

    def _client(self) -> str | None:
        """The caller as the per-client quotas count it (``None``: exempt)."""
        return client_key(client_address(), self._exempt)

    def _hold_live(self, hold_id: str) -> bool:
        return self.locks.for_hold(hold_id).call("get_hold", hold_id) is not None

    def _codes(self, theater: Theater, event: str) -> str:
        """The event's compact seat states, which every seat view is made from."""
        booked = self.data.read(theater.id, "seat_states", theater.id, event)
        held = self.locks.for_event(theater.id, event).call("held_seats", theater.id, event)
        return compact_states(theater.seat_map, booked, held)

    # -- the contract's API ------------------------------------------------

    @contract_errors
    @admitted
    def list_theaters(self) -> list[dict[str, Any]]:
        return self._catalog.to_plain()

    @contract_errors
    @admitted
    def list_catalog(self) -> list[dict[str, Any]]:
        """``list_theaters`` with each seat map's size and every event's ``sales`` (``open``,
        ``stopped`` or ``cancelled``; cancelled events too): an extension of the contract.

        Asked of the manager first (``CatalogFollower.refresh``), so an operator
        sees a change of theirs at once, whichever balancer they ask.
        """
        self.follower.refresh()
        return [theater.to_listing() for theater in self._catalog.theaters]

    @contract_errors
    @admitted
    def get_available_seats(self, theater: str, event: str) -> list[str]:
        found = self._event(theater, event)
        return seat_codes.free_seats(found.seat_map, self._codes(found, event))

    @contract_errors
    @admitted
    def get_seat_map(self, theater: str, event: str) -> dict[str, Any]:
        found = self._event(theater, event)
        return seat_rows(found.seat_map, self._codes(found, event))

    @contract_errors
    @admitted
    def get_seat_states(self, theater: str, event: str) -> dict[str, Any]:
        """The seat map as one ``seat_codes`` character a seat (an extension of the contract).

        It carries what ``get_seat_map`` does, but as a single string: a big
        venue's map then costs serpent next to nothing to send and to read.
        """
        found = self._event(theater, event)
        return {
            "rows": found.seat_map.rows,
            "seats_per_row": found.seat_map.seats_per_row,
            "states": self._codes(found, event),
        }

    @contract_errors
    @admitted
    def block_seats(self, theater: str, event: str, seats: list[str]) -> dict[str, Any]:
        """Hold all of ``seats`` for ``hold_ttl`` seconds, or none of them.

        One call to the lock store: it knows booked seats by their sold marks
        (``settle``). A refusal offers, as ``.alternative``, the best free
        seats of the same count.
        """
        found = self._event(theater, event, on_sale=True)
        wanted = validation.seat_list(found, seats, self._catalog.max_seats_per_booking)
        return self._hold(found, event, len(wanted), "acquire", wanted)

    @contract_errors
    @admitted
    def block_best_available(self, theater: str, event: str, count: int) -> dict[str, Any]:
        """Hold the ``count`` best free seats (an extension of the contract).

        The lock store's log picks them from its applied state (adjacent in
        one row, nearest the centre first, see ``seat_chooser``), so buyers
        asking at once never collide: each gets seats, or all get
        ``SeatsUnavailable`` once fewer than ``count`` are free.
        """
        found = self._event(theater, event, on_sale=True)
        count = validation.seat_count(count, self._catalog.max_seats_per_booking)
        return self._hold(found, event, count, "acquire_best", count)

    def _hold(
        self, found: Theater, event: str, count: int, method: str, what: Any
    ) -> dict[str, Any]:
        """Hold through the lock store's ``method`` within this client's quotas.

        The seats are reserved in the hold quota before the lock store is
        asked and given back if it refuses, so concurrent holds from one
        address cannot together pass the cap.
        """
        hold_id = self.locks.new_hold_id(found.id, event)
        group = self.locks.for_event(found.id, event)
        client = self._client()
        if client is None:
            hold = group.call(method, hold_id, found.id, event, what, self._catalog.hold_ttl)
            return {key: hold[key] for key in ("hold_id", "seats", "expires_at")}
        self._bookings.refuse_hold(client, found.id, event, count, time.monotonic())
        # Wall time: the quota compares it with the lock store's ``expires_at``.
        with self._quota.reserving(
            client, found.id, event, count, time.time(), self._hold_live
        ) as reserved:
            hold = group.call(method, hold_id, found.id, event, what, self._catalog.hold_ttl)
            reserved.hold(hold["hold_id"], hold["expires_at"])
        return {key: hold[key] for key in ("hold_id", "seats", "expires_at")}

    @contract_errors
    @admitted
    def release_hold(self, hold_id: str) -> bool:
        """Give the seats back; an unknown or already released hold is fine (idempotent)."""
        hold_id = validation.hold_id(hold_id)
        self.locks.for_hold(hold_id).call("release", hold_id)
        self._quota.ended(hold_id)
        return True

    @contract_errors
    @admitted
    def book_ticket(self, hold_id: str, name: str, email: str) -> dict[str, Any]:
        """Book the seats of a live hold; the same hold booked twice answers the same ticket."""
        hold_id = validation.hold_id(hold_id)
        name = validation.person_name(name)
        email = validation.email(email)
        hold = self.locks.for_hold(hold_id).call("get_hold", hold_id)
        if hold is None:
            # Which theater the hold was for is gone with it: the manager asks every cluster.
            earlier = self.pool.call(names.DATASTORE_MANAGER, "ticket_for_hold", hold_id)
            if earlier is not None:
                # A retry after the hold lapsed: its settle may have been lost
                # with the balancer that booked it, so send it (again).
                self._settles.put(hold_id, earlier["theater"], earlier["event"], earlier["seats"])
                return earlier
            raise HoldNotFound(
                f"hold {hold_id} has expired, was released or never existed; "
                "hold the seats again with block_seats"
            )
        booking = Booking(
            ticket_no=secrets.token_urlsafe(TOKEN_BYTES),
            hold_id=hold_id,
            theater=hold["theater"],
            event=hold["event"],
            seats=tuple(hold["seats"]),
            name=name,
            email=email,
            fence=hold["fence"],
            expires_at=hold["expires_at"],
        )
        # The seats count against this address's booking quota before the data
        # store is asked, and are given back if it refuses.
        client = self._client()
        quota: AbstractContextManager[None] = nullcontext()
        if client is not None:
            count = len(booking.seats)
            quota = self._bookings.reserving(
                client, booking.theater, booking.event, hold_id, count, time.monotonic()
            )
        try:
            with quota:
                ticket = self.data.call(booking.theater, "book", booking.to_plain())
        except SeatsUnavailable as refusal:
            self._mend_sold_marks(booking.theater, booking.event, refusal.seats)
            raise
        # Off the booking's path: the seats become sold marks in the lock store.
        self._settles.put(
            hold_id, booking.theater, booking.event, list(booking.seats), booking.expires_at
        )
        self._quota.ended(hold_id)
        return ticket

    def _mend_sold_marks(self, theater: str, event: str, seats: list[str]) -> None:
        """Settle again the bookings on ``seats``: the lock store granted a hold on them.

        That happens only when a settle was lost (a balancer died between a
        booking and its settle): without this, best-available would offer those
        booked seats to buyer after buyer. The marks wait behind the refused
        hold and take its seats when it ends. Best effort: the refusal stands
        either way.
        """
        try:
            owners = self.data.read(theater, "holds_booked_on", theater, event, list(seats))
            settlements = [[o["hold_id"], theater, event, o["seats"]] for o in owners]
            if settlements:
                self.locks.for_event(theater, event).call("settle_all", settlements)
                log.info("re-sent %d lost sold marks of %s %s", len(settlements), theater, event)
        except TicketingError as exc:
            log.warning("could not mend the sold marks of %s %s: %s", theater, event, exc)

    @contract_errors
    @admitted
    def get_ticket_details(self, theater: str, ticket_no: str) -> dict[str, Any]:
        found = self._theater(theater)
        return self.data.read(found.id, "ticket", found.id, validation.ticket_no(ticket_no))

    @contract_errors
    @admitted
    def delete_ticket(self, theater: str, ticket_no: str) -> bool:
        """Cancel a ticket; its seats are free at once."""
        found = self._theater(theater)
        booked = self.data.call(found.id, "cancel", found.id, validation.ticket_no(ticket_no))
        # The seats' sold mark (or the hold, if its settle is still queued) goes
        # now, so they can be held again as soon as this returns. It lives in the
        # event's lock group; a cancel decided before this version did not say
        # the event, and its hold id names the group.
        hold_id = booked["hold_id"]
        if "event" in booked:
            group = self.locks.for_event(found.id, booked["event"])
        else:
            group = self.locks.for_hold(hold_id)
        group.call("free_all", [hold_id])
        self._bookings.cancelled(hold_id)
        return True

    @contract_errors
    @admitted
    def status(self) -> dict[str, Any]:
        """Who we are and which lock servers we know and prefer (no remote call)."""
        return {
            "name": self.name,
            "role": "loadbalancer",
            "pid": os.getpid(),
            **self.locks.status(),
            "preferred_data_replicas": self.data.known(),
            **counters.snapshot(),
        }


def main(argv: Sequence[str] | None = None) -> None:
    """``run/load_balancer.py``: serve one load balancer until SIGINT/SIGTERM."""
    parser = common_parser(
        "Serve a load balancer: the ticketing API that clients call.", catalog=True
    )
    parser.add_argument("--id", type=positive_int, required=True, help="balancer id (1, 2, ...)")
    lock_groups_flag(parser)
    args = parser.parse_args(argv)
    catalog, _ = load_placement(args)
    # A member towards the lock servers and the manager; public itself (served
    # without the secret, and over TLS without asking for a client certificate).
    tls.serve_public()
    # It proves to clients that it is the cluster's with the key derived from the secret.
    secret = require_secret(args.data_dir)
    pool = ProxyPool(args.ns_host, args.ns_port, secret=secret)
    follower = CatalogFollower(pool, catalog, args.lock_groups)
    follower.start()
    try:
        balancer = LoadBalancer(args.id, follower, pool)
        serve(
            balancer,
            balancer.name,
            args.host,
            args.ns_host,
            args.ns_port,
            args.data_dir,
            balancer_key=SigningKey.from_secret(secret),
        )
    finally:
        follower.stop()
        pool.close()
