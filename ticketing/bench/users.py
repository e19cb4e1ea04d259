"""Simulated people: view seats, hold 1-4 of them, book; now and then cancel.

Each user is a thread with its own Pyro5 proxy to one load balancer (a proxy
belongs to one thread), as a person's client would be. What a user does:

1. pick an event, look at it: the free seats (``get_available_seats``) or,
   for a share of users and in every venue of ``COMPACT_FROM`` seats or
   more, the whole seat map in the compact form our client draws
   (``get_seat_states``), the free seats read from it (up to 50,000 labels
   as a serpent list cost the load balancer most of a second each);
2. hold 1-4 random free seats (``block_seats``); seats taken by someone in
   between are a *conflict*: look again;
3. book the hold (``book_ticket``).

So that a long run does not sell every event out, a user cancels its oldest
ticket of an event that is more than half full before booking there, and a
share of bookings are cancelled at random (``delete_ticket``) for the mix.
Every step's duration is recorded; *booking* is hold + book, *flow* is view +
hold + book of a booking that went through.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError

from ticketing import backoff
from ticketing.domain import seat_codes
from ticketing.domain.seats import SeatMap
from ticketing.errors import (
    HoldExpired,
    HoldNotFound,
    SeatsUnavailable,
    TicketingError,
    Unavailable,
)

PROXY_TIMEOUT = 30.0  # seconds; an overloaded cluster is slow, not down
ERROR_PAUSE = 0.05  # seconds a user waits after an error before going on
MAX_HOLD = 4
COMPACT_FROM = 10_000  # seats: venues this big are always looked at compactly
REFILL_BELOW = 0.5  # an event with fewer free seats than this share gets a cancel first

STEPS = ("view", "seat_map", "hold", "book", "cancel", "booking", "flow")


@dataclass(frozen=True, slots=True)
class Target:
    """An event users book, with its size (to tell how full it is)."""

    theater: str
    event: str
    seats: int


@dataclass(slots=True)
class Tally:
    """What one user did; read by the progress bar while it runs (plain counts)."""

    bookings: int = 0
    booked_at: list[float] = field(default_factory=list)
    conflicts: int = 0
    errors: Counter = field(default_factory=Counter)
    samples: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})


class FreeSeats(Sequence[str]):
    """The free seats of a ``get_seat_states`` answer, labelled only when drawn.

    A user draws a few of them (``random.sample`` needs only ``len`` and
    indexing); making all 50,000 labels of a big venue on every look would make
    the load generator, not the cluster, the slow part.
    """

    def __init__(self, seat_map: SeatMap, states: str) -> None:
        self._seat_map = seat_map
        self._at = [i for i, code in enumerate(states) if code == seat_codes.FREE]

    def __len__(self) -> int:
        return len(self._at)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._seat_map.label(self._at[index])


class User(threading.Thread):
    def __init__(
        self,
        index: int,
        uri: str,
        targets: list[Target],
        stop: threading.Event,
        seat_map_share: float,
        cancel_share: float,
        seed: int,
        serializer: str = "serpent",
    ) -> None:
        super().__init__(name=f"user-{index}", daemon=True)
        self.uri = uri
        self.targets = targets
        self.stop = stop
        self.seat_map_share = seat_map_share
        self.cancel_share = cancel_share
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.person = (f"Bench User {index}", f"user{index}@bench.example")
        self._tickets: dict[Target, deque[str]] = {t: deque() for t in targets}
        self.serializer = serializer
        self._proxy: Proxy | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self._one_booking()
                except (TicketingError, CommunicationError) as exc:
                    self.tally.errors[type(exc).__name__] += 1
                    if isinstance(exc, CommunicationError):
                        self._drop_proxy()
                    if isinstance(exc, Unavailable):  # no quorum or no route for now
                        self.stop.wait(backoff.pause(exc.retry_after, self.rng))
                    else:
                        self.stop.wait(ERROR_PAUSE)
        finally:
            self._drop_proxy()

    def _one_booking(self) -> None:
        target = self.rng.choice(self.targets)
        lb = self._lb()
        started = time.monotonic()
        if target.seats >= COMPACT_FROM or self.rng.random() < self.seat_map_share:
            answer = self._timed("seat_map", lb.get_seat_states, target.theater, target.event)
            free = FreeSeats(SeatMap(answer["rows"], answer["seats_per_row"]), answer["states"])
        else:
            free = self._timed("view", lb.get_available_seats, target.theater, target.event)
        if len(free) < target.seats * REFILL_BELOW and self._tickets[target]:
            self._cancel(target, self._tickets[target].popleft())
        wanted = self.rng.randint(1, MAX_HOLD)
        if len(free) < wanted:
            return  # sold out for now: someone else's turn to cancel
        seats = self.rng.sample(free, wanted)
        hold_started = time.monotonic()
        try:
            hold = self._timed("hold", lb.block_seats, target.theater, target.event, seats)
        except SeatsUnavailable:
            self.tally.conflicts += 1
            return
        try:
            ticket = self._timed("book", lb.book_ticket, hold["hold_id"], *self.person)
        except (HoldExpired, HoldNotFound) as exc:
            self.tally.errors[type(exc).__name__] += 1
            return
        done = time.monotonic()
        self.tally.samples["booking"].append(done - hold_started)
        self.tally.samples["flow"].append(done - started)
        self.tally.booked_at.append(done)
        self.tally.bookings += 1
        self._tickets[target].append(ticket["ticket_no"])
        if self.rng.random() < self.cancel_share:
            self._cancel(target, self._tickets[target].popleft())

    def _cancel(self, target: Target, ticket_no: str) -> None:
        self._timed("cancel", self._lb().delete_ticket, target.theater, ticket_no)

    def _timed(self, step: str, method: object, *args: object) -> object:
        """Call and time ``method``; a call the balancer shed is retried after its hint."""
        while True:
            started = time.monotonic()
            try:
                result = method(*args)
            except Unavailable as exc:
                if exc.retry_after is None:
                    raise
                self.tally.errors["Unavailable (shed)"] += 1
                if self.stop.wait(backoff.pause(exc.retry_after, self.rng)):
                    raise
                continue
            self.tally.samples[step].append(time.monotonic() - started)
            return result

    def _lb(self) -> Proxy:
        if self._proxy is None:
            self._proxy = Proxy(self.uri)
            self._proxy._pyroTimeout = PROXY_TIMEOUT
            self._proxy._pyroSerializer = self.serializer
        return self._proxy

    def _drop_proxy(self) -> None:
        if self._proxy is not None:
            self._proxy._pyroRelease()
            self._proxy = None
