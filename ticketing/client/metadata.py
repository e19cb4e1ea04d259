"""The small cache the completer reads: theaters, free seats, the user's tickets.

Completion runs on every keystroke, so it must not call the cluster each time: the catalog is
read once per session, free seats are kept for a couple of seconds (they change under other
users' feet, so not longer), and tickets come from the local file.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ticketing.client.load_balancer_api import LoadBalancerApi
from ticketing.client.tickets_file import TicketsFile

SEATS_TTL = 2.0


class Metadata:
    def __init__(
        self,
        api: LoadBalancerApi,
        tickets: TicketsFile,
        *,
        clock: Callable[[], float] = time.monotonic,
        seats_ttl: float = SEATS_TTL,
    ) -> None:
        self._api = api
        self._tickets = tickets
        self._clock = clock
        self._seats_ttl = seats_ttl
        self._theaters: list[dict] | None = None
        self._free: dict[tuple[str, str], tuple[float, list[str]]] = {}

    def theaters(self) -> list[dict]:
        if self._theaters is None:
            self._theaters = list(self._api.list_theaters())
        return self._theaters

    def theater(self, theater: str) -> dict | None:
        return next((t for t in self.theaters() if t["theater"] == theater), None)

    def events(self, theater: str) -> list[dict]:
        found = self.theater(theater)
        return list(found["events"]) if found else []

    def free_seats(self, theater: str, event: str) -> list[str]:
        key = (theater, event)
        now = self._clock()
        cached = self._free.get(key)
        if cached is not None and now - cached[0] < self._seats_ttl:
            return cached[1]
        seats = list(self._api.get_available_seats(theater, event))
        self._free[key] = (now, seats)
        return seats

    def seats_changed(self, theater: str, event: str) -> None:
        """Forget the free seats of an event after this client held, booked or freed some."""
        self._free.pop((theater, event), None)

    def tickets(self, theater: str | None = None) -> list[dict]:
        tickets = self._tickets.load()
        if theater is not None:
            tickets = [ticket for ticket in tickets if ticket.get("theater") == theater]
        return tickets
