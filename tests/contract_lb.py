"""An in-memory load balancer that keeps the contract (sections 2 and 3), for client tests.

The real cluster is not needed to test the client: this object answers every load-balancer
method with the contract's shapes and errors, from one `ContractStore` that several balancers
share (so a client can fail over between them). Our balancers' extensions are here too
(`get_seat_states`, `block_best_available`, the `.alternative` of a refused hold), with the real
seat chooser and the real refusals, so the client meets what the cluster would answer.
`serve_balancers` serves them from a real Pyro5 daemon in this process and registers them in a
real name server.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import Pyro5.api

from ticketing.catalog import Catalog, parse_catalog
from ticketing.domain import seat_chooser
from ticketing.domain.lock_table import too_few_free
from ticketing.domain.seat_codes import STATE_NAMES
from ticketing.domain.seats import SeatMap
from ticketing.errors import (
    HoldExpired,
    HoldNotFound,
    InvalidRequest,
    SeatsUnavailable,
    TicketNotFound,
    Unavailable,
)
from ticketing.names import load_balancer
from ticketing.security.balancer_proof import BalancerDaemon, entry_metadata
from ticketing.security.cluster_key import SigningKey
from ticketing.security.secret import ENV_VAR
from ticketing.server import validation

CATALOG = """
hold_ttl = 300
max_seats_per_booking = 5

[[theater]]
id = "AMC"
name = "AMC Cinemas"
city = "Boston"
rows = 4
seats_per_row = 6

[[theater.event]]
id = "dune-1900"
title = "Dune: Part Three"
starts_at = "2026-12-01T19:00:00"

[[theater.event]]
id = "arrival-2130"
title = "Arrival"
starts_at = "2026-12-01T21:30:00"

[[theater]]
id = "REG"
name = "Regal"
city = "Seattle"
rows = 3
seats_per_row = 5

[[theater.event]]
id = "inception-2100"
title = "Inception"
starts_at = "2026-12-02T21:00:00"
"""


@dataclass
class _Hold:
    theater: str
    event: str
    seats: list[str]
    expires_at: float


class ContractStore:
    """Seats, holds and tickets of every theater, behind one lock (the daemon is threaded)."""

    def __init__(self, catalog: Catalog, clock: Callable[[], float] = time.time) -> None:
        self.catalog = catalog
        self.clock = clock
        self.lock = threading.Lock()
        self.holds: dict[str, _Hold] = {}
        self.tickets: dict[tuple[str, str], dict] = {}
        self.booked_holds: dict[str, dict] = {}

    def grant(self, theater: str, event: str, seats: list[str]) -> dict:
        """A new hold on ``seats``; the caller holds the lock and checked they are free."""
        hold_id = secrets.token_hex(12)
        expires_at = self.clock() + self.catalog.hold_ttl
        self.holds[hold_id] = _Hold(theater, event, seats, expires_at)
        return {"hold_id": hold_id, "seats": seats, "expires_at": expires_at}

    @staticmethod
    def best_free(seat_map: SeatMap, taken: dict[str, str], count: int) -> list[str] | None:
        """The seats the real lock store would choose for a best-available hold of ``count``."""
        grid = bytes(
            seat_chooser.TAKEN if seat in taken else seat_chooser.FREE for seat in seat_map.labels()
        )
        chosen = seat_chooser.choose(grid, seat_map.seats_per_row, count)
        return None if chosen is None else [seat_map.label(index) for index in chosen]

    def taken(self, theater: str, event: str) -> dict[str, str]:
        """Seat -> "held" or "booked" for one event; expired holds no longer count."""
        now = self.clock()
        states: dict[str, str] = {}
        for hold in self.holds.values():
            if (hold.theater, hold.event) == (theater, event) and hold.expires_at > now:
                states.update(dict.fromkeys(hold.seats, "held"))
        for ticket in self.tickets.values():
            if (ticket["theater"], ticket["event"]) == (theater, event):
                states.update(dict.fromkeys(ticket["seats"], "booked"))
        return states


@Pyro5.api.expose
class ContractLB:
    def __init__(self, store: ContractStore, name: str) -> None:
        self.store = store
        self.name = name
        self.unavailable = False
        """Set by a test: every call then answers Unavailable, as without a quorum."""
        self.dead = False
        """Set by `ServedBalancers.kill`: connected callers are cut off as by a crash."""

    def _check(self) -> None:
        if self.dead:
            # Drop the caller's connection: it sees what a crashed process gives it.
            Pyro5.api.current_context.client.close()
            raise Unavailable("unreachable")
        if self.unavailable:
            raise Unavailable(f"{self.name} has no quorum right now; retry in a moment")

    def _seat_map(self, theater: str, event: str):
        found = self.store.catalog.theater(theater)
        found.event(event)
        return found.seat_map

    def status(self) -> dict:
        return {"name": self.name, "role": "loadbalancer", "pid": os.getpid(), "state": "up"}

    def list_theaters(self) -> list[dict]:
        self._check()
        return self.store.catalog.to_plain()

    def get_available_seats(self, theater: str, event: str) -> list[str]:
        self._check()
        seat_map = self._seat_map(theater, event)
        with self.store.lock:
            taken = self.store.taken(theater, event)
        return [seat for seat in seat_map.labels() if seat not in taken]

    def get_seat_map(self, theater: str, event: str) -> dict:
        self._check()
        seat_map = self._seat_map(theater, event)
        with self.store.lock:
            taken = self.store.taken(theater, event)
        rows = [
            [{"seat": seat, "state": taken.get(seat, "free")} for seat in row]
            for row in seat_map.row_labels()
        ]
        return {"rows": rows}

    def get_seat_states(self, theater: str, event: str) -> dict:
        """Our balancers' compact seat map (``ticketing.domain.seat_codes``)."""
        self._check()
        seat_map = self._seat_map(theater, event)
        with self.store.lock:
            taken = self.store.taken(theater, event)
        code = {word: code for code, word in STATE_NAMES.items()}
        states = "".join(code[taken.get(seat, "free")] for seat in seat_map.labels())
        return {"rows": seat_map.rows, "seats_per_row": seat_map.seats_per_row, "states": states}

    def block_seats(self, theater: str, event: str, seats: list[str]) -> dict:
        self._check()
        seat_map = self._seat_map(theater, event)
        if not isinstance(seats, list) or not seats:
            raise InvalidRequest("name at least one seat, such as ['A1']")
        wanted = seat_map.normalize(seats)
        limit = self.store.catalog.max_seats_per_booking
        if len(wanted) > limit:
            raise InvalidRequest(f"at most {limit} seats per booking; hold fewer")
        with self.store.lock:
            taken = self.store.taken(theater, event)
            busy = [seat for seat in wanted if seat in taken]
            if busy:
                # As the real lock store does: offer what a best-available hold would get.
                offer = self.store.best_free(seat_map, taken, len(wanted)) or []
                raise SeatsUnavailable(
                    f"seats {', '.join(busy)} are taken; pick others from the seat map",
                    busy,
                    offer,
                )
            return self.store.grant(theater, event, wanted)

    def block_best_available(self, theater: str, event: str, count: int) -> dict:
        """Our balancers' best-available hold, chosen by the real ``seat_chooser``."""
        self._check()
        seat_map = self._seat_map(theater, event)
        count = validation.seat_count(count, self.store.catalog.max_seats_per_booking)
        with self.store.lock:
            taken = self.store.taken(theater, event)
            chosen = self.store.best_free(seat_map, taken, count)
            if chosen is None:
                raise too_few_free(seat_map.rows * seat_map.seats_per_row - len(taken), count)
            return self.store.grant(theater, event, chosen)

    def release_hold(self, hold_id: str) -> bool:
        self._check()
        with self.store.lock:
            self.store.holds.pop(hold_id, None)
        return True

    def book_ticket(self, hold_id: str, name: str, email: str) -> dict:
        self._check()
        if not name.strip() or "@" not in email:
            raise InvalidRequest("give a name and an e-mail address such as ada@example.org")
        with self.store.lock:
            if hold_id in self.store.booked_holds:
                return self.store.booked_holds[hold_id]
            hold = self.store.holds.get(hold_id)
            if hold is None:
                raise HoldNotFound("that hold is gone; hold the seats again")
            if hold.expires_at <= self.store.clock():
                del self.store.holds[hold_id]
                raise HoldExpired("your hold expired; hold the seats again")
            del self.store.holds[hold_id]
            ticket = {
                "ticket_no": secrets.token_hex(12),
                "theater": hold.theater,
                "event": hold.event,
                "seats": hold.seats,
                "name": name,
                "email": email,
            }
            self.store.tickets[(hold.theater, ticket["ticket_no"])] = ticket
            self.store.booked_holds[hold_id] = ticket
        return ticket

    def get_ticket_details(self, theater: str, ticket_no: str) -> dict:
        self._check()
        self.store.catalog.theater(theater)
        with self.store.lock:
            ticket = self.store.tickets.get((theater, ticket_no))
        if ticket is None:
            raise TicketNotFound(f"no ticket {ticket_no} at {theater}; check the number")
        return ticket

    def delete_ticket(self, theater: str, ticket_no: str) -> bool:
        self._check()
        self.store.catalog.theater(theater)
        with self.store.lock:
            if self.store.tickets.pop((theater, ticket_no), None) is None:
                raise TicketNotFound(f"no ticket {ticket_no} at {theater}; check the number")
        return True


def contract_store(clock: Callable[[], float] = time.time) -> ContractStore:
    return ContractStore(parse_catalog(CATALOG, "<contract_lb>"), clock)


@dataclass
class ServedBalancers:
    store: ContractStore
    balancers: dict[str, ContractLB]
    daemons: dict[str, Pyro5.api.Daemon]
    ns_host: str
    ns_port: int

    def kill(self, name: str) -> None:
        """Stop serving one balancer, as if its process died (it stays in the name server).

        Shutting the daemon down refuses new connections; open ones are cut on their next call.
        """
        self.balancers[name].dead = True
        self.daemons[name].shutdown()


@contextmanager
def serve_balancers(ns_host: str, ns_port: int, count: int = 2) -> Iterator[ServedBalancers]:
    """Serve `count` balancers over one store, each from its own daemon thread in this process."""
    from ticketing.server import pyro_config

    pyro_config.configure()
    store = contract_store()
    served = ServedBalancers(store, {}, {}, ns_host, ns_port)
    threads = []
    # Signed like real balancers, so the client (which checks) uses them.
    key = SigningKey.from_secret(os.environ[ENV_VAR])
    with Pyro5.api.locate_ns(ns_host, ns_port) as ns:
        for index in range(1, count + 1):
            name = load_balancer(index)
            balancer = ContractLB(store, name)
            daemon = BalancerDaemon(host="127.0.0.1", port=0)
            daemon.prove_as(key, name)
            uri = str(daemon.register(balancer, objectId=name))
            ns.register(name, uri, metadata=entry_metadata(key, name, uri))
            served.balancers[name] = balancer
            served.daemons[name] = daemon
            thread = threading.Thread(target=daemon.requestLoop, daemon=True, name=name)
            thread.start()
            threads.append(thread)
    try:
        yield served
    finally:
        for daemon in served.daemons.values():
            daemon.shutdown()
        for thread in threads:
            thread.join(10)
