"""The small cache the completer reads: theaters, free seats, the user's tickets, clusters.

Completion runs on every keystroke, so it must not call the cluster each time: the catalog is
read once and again whenever ``theaters`` or an ``admin`` change shows it changed, free seats
are kept for a couple of seconds (they change under other users' feet, so not longer) in the
compact form ``get_seat_states`` answers (a few milliseconds even at 50,000 seats), tickets
come from the local file, and the data clusters from the last ``admin clusters`` answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ticketing.client.load_balancer_api import LoadBalancerApi, catalog_of
from ticketing.client.operator_link import OperatorApi
from ticketing.client.seat_states import SeatStates
from ticketing.client.tickets_file import TicketsFile
from ticketing.errors import TicketingError

SEATS_TTL = 2.0


class Metadata:
    def __init__(
        self,
        api: LoadBalancerApi,
        tickets: TicketsFile,
        *,
        clock: Callable[[], float] = time.monotonic,
        seats_ttl: float = SEATS_TTL,
        operator: OperatorApi | None = None,
    ) -> None:
        self._api = api
        self._tickets = tickets
        self._clock = clock
        self._seats_ttl = seats_ttl
        self._theaters: list[dict] | None = None
        self._seats: dict[tuple[str, str], tuple[float, SeatStates]] = {}
        self._operator = operator
        self._clusters: list[dict] | None = None

    def theaters(self) -> list[dict]:
        if self._theaters is None:
            self._theaters = catalog_of(self._api)
        return self._theaters

    def catalog_seen(self, theaters: list[dict]) -> None:
        """Keep a catalog just read (by ``theaters``), so completion offers what it showed."""
        self._theaters = list(theaters)

    def catalog_changed(self) -> None:
        """Read the catalog again on next use: an operator just changed it."""
        self._theaters = None

    def clusters(self) -> list[dict]:
        """The data clusters as ``admin clusters`` answered; asked once if never seen."""
        if self._clusters is None:
            self._clusters = list(self._operator.call("admin_clusters")) if self._operator else []
        return self._clusters

    def clusters_seen(self, clusters: list[dict]) -> None:
        self._clusters = list(clusters)

    def theater(self, theater: str) -> dict | None:
        return next((t for t in self.theaters() if t["theater"] == theater), None)

    def resolve_theater(self, typed: str) -> str:
        """The catalog's id for ``typed`` if it matches one id ignoring case (and no other), else
        ``typed`` as it is: the cluster then judges, and its refusal lists the theaters."""
        try:
            ids = [t["theater"] for t in self.theaters()]
        except TicketingError:
            return typed
        return _one_match(typed, ids)

    def resolve_event(self, theater: str, typed: str) -> str:
        try:
            ids = [e["event"] for e in self.events(theater)]
        except TicketingError:
            return typed
        return _one_match(typed, ids)

    def events(self, theater: str) -> list[dict]:
        found = self.theater(theater)
        return list(found["events"]) if found else []

    def seat_states(self, theater: str, event: str) -> SeatStates:
        """The event's seats, fetched again when older than ``seats_ttl``."""
        key = (theater, event)
        now = self._clock()
        cached = self._seats.get(key)
        if cached is not None and now - cached[0] < self._seats_ttl:
            return cached[1]
        states = SeatStates.of(self._api.get_seat_states(theater, event))
        self._seats[key] = (now, states)
        return states

    def seats_changed(self, theater: str, event: str) -> None:
        """Forget the seats of an event after this client held, booked or freed some."""
        self._seats.pop((theater, event), None)

    def tickets(self, theater: str | None = None) -> list[dict]:
        tickets = self._tickets.load()
        if theater is not None:
            tickets = [ticket for ticket in tickets if ticket.get("theater") == theater]
        return tickets


def _one_match(typed: str, ids: list[str]) -> str:
    if typed in ids:
        return typed
    matches = [known for known in ids if known.casefold() == typed.casefold()]
    return matches[0] if len(matches) == 1 else typed
