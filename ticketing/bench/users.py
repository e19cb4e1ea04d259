"""Simulated people: view seats, hold 1-4 of them, book; now and then cancel.

Each user is a thread with its own Pyro5 proxy to one load balancer (a proxy
belongs to one thread), as a person's client would be. What a user does:

1. pick an event, look at it: the free seats (``get_available_seats``) or,
   for a share of users and in every venue of ``COMPACT_FROM`` seats or
   more, the whole seat map in the compact form our client draws
   (``get_seat_states``), the free seats read from it (up to 50,000 labels
   as a serpent list cost the load balancer most of a second each);
2. hold 1-4 random free seats (``block_seats``); seats taken by someone in
   between are a *conflict* (a refused hold): the refusal offers the best
   free seats of the same count (``.alternative``), which the user accepts,
   one more call and no new look. It accepts by asking for that many best
   seats (``block_best_available``), which the log picks from its state at
   that moment: holding the offered labels instead would race every other
   buyer for the very seats the next best-available hold gets. Only a
   refusal that offers nothing (too few free) sends it back to look again;
3. book the hold (``book_ticket``).

Left alone, users sell every event out within seconds and then measure
refusals and looks at sold-out events. So that every level measures buying,
each user keeps at most ``keep_tickets`` tickets: before it buys another it
cancels its oldest, and when even that cannot keep the venues from filling
(``can_sell_out``: many users, few seats) it returns each ticket as soon as it
has it. Every booking in the steady state then pays one cancel, at every
level. A share of bookings are also cancelled at random (``delete_ticket``)
for the mix. A look that finds too few free seats is followed by a pause, not
by another look at once: people do not refresh a sold-out page ten times a
second, and a load generator that does measures its own loop.
Every step's duration is recorded; *booking* is the granted hold + book,
*flow* is the whole attempt of a booking that went through, from its first
call (the first look) to the ticket, refused holds and looks again included.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
KEEP_AT_MOST = 1  # tickets a user keeps: every booking after the first pays a cancel
SOLD_OUT_PAUSE = 0.2  # seconds (jittered) after a look that found too few free seats

STEPS = ("view", "seat_map", "hold", "book", "cancel", "booking", "flow")


def keep_tickets(seats: int, users: int) -> int:
    """How many tickets each of ``users`` may keep so that ``seats`` never run out.

    A user holding seats owns at most ``keep + 1`` blocks of at most
    ``MAX_HOLD`` seats (its kept tickets and the hold), so the venues cannot
    fill while ``users * (keep + 1) * MAX_HOLD <= seats``. Capped at
    ``KEEP_AT_MOST`` so that the venues are not near empty at a few users and
    every level, small or large, pays a cancel per booking in its steady state.
    """
    return max(0, min(KEEP_AT_MOST, seats // (users * MAX_HOLD) - 1))


def can_sell_out(seats: int, users: int) -> bool:
    """True when even ``keep_tickets`` of 0 cannot keep ``users`` from filling ``seats``."""
    return users * (keep_tickets(seats, users) + 1) * MAX_HOLD > seats


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
    conflicts: int = 0  # holds refused with SeatsUnavailable
    views: int = 0  # looks at an event: its free seats or its seat map
    alternatives: int = 0  # holds asked for on the seats a refusal offered
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
        keep: int = KEEP_AT_MOST,
        return_at_once: bool = False,
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
        self.keep = keep
        self.return_at_once = return_at_once
        self._tickets: deque[tuple[Target, str]] = deque()  # oldest first
        self.serializer = serializer
        self._proxy: Proxy | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self._one_booking()
                except (TicketingError, CommunicationError) as exc:
                    if self.stop.is_set():
                        return  # a call cut short by the end of the level is no error
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
        self._return_tickets_beyond(self.keep)
        target = self.rng.choice(self.targets)
        lb = self._lb()
        started = time.monotonic()
        wanted = self.rng.randint(1, MAX_HOLD)
        granted = self._hold_chosen(lb, target, lambda: self._look(lb, target, wanted))
        if granted is not None:
            self._book(lb, target, *granted, started)
        else:
            self.stop.wait(backoff.pause(SOLD_OUT_PAUSE, self.rng))

    def _return_tickets_beyond(self, keep: int) -> None:
        while len(self._tickets) > keep:
            self._cancel(*self._tickets.popleft())

    def _look(self, lb: Proxy, target: Target, wanted: int) -> list[str] | None:
        """Look at ``target`` and pick ``wanted`` random free seats (None: sold out for now)."""
        if target.seats >= COMPACT_FROM or self.rng.random() < self.seat_map_share:
            answer = self._timed("seat_map", lb.get_seat_states, target.theater, target.event)
            free = FreeSeats(SeatMap(answer["rows"], answer["seats_per_row"]), answer["states"])
        else:
            free = self._timed("view", lb.get_available_seats, target.theater, target.event)
        self.tally.views += 1
        if len(free) < wanted:
            return None  # someone else's turn to cancel
        return self.rng.sample(free, wanted)

    def _hold_chosen(
        self, lb: Proxy, target: Target, pick: Callable[[], list[str] | None]
    ) -> tuple[dict[str, Any], float] | None:
        """Hold the seats ``pick`` chooses, taking what each refusal offers instead.

        Returns the hold and when the call that got it started, or None when
        ``pick`` finds too few free seats (or the run ends). ``pick`` looks at
        the event, so it is called again only after a refusal that offers no
        alternative: refused holds do not multiply the looks.
        """
        seats: list[str] | None = pick()
        best_of: int | None = None  # after an offer: that many best seats, picked by the log
        while (seats or best_of) and not self.stop.is_set():
            started = time.monotonic()
            try:
                if best_of:
                    where = (target.theater, target.event, best_of)
                    hold = self._timed("hold", lb.block_best_available, *where)
                else:
                    hold = self._timed("hold", lb.block_seats, target.theater, target.event, seats)
            except SeatsUnavailable as refusal:
                self.tally.conflicts += 1
                best_of = len(refusal.alternative) or None
                if best_of:
                    self.tally.alternatives += 1
                else:
                    seats = pick()
                continue
            return hold, started
        return None

    def _book(
        self, lb: Proxy, target: Target, hold: dict[str, Any], hold_started: float, started: float
    ) -> None:
        """Book ``hold``; ``started`` is the attempt's first call, for the flow's duration."""
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
        self._tickets.append((target, ticket["ticket_no"]))
        if self.return_at_once:
            self._return_tickets_beyond(0)
        elif self.rng.random() < self.cancel_share:
            self._cancel(*self._tickets.pop())

    def tickets_left(self) -> list[tuple[str, str]]:
        """(theater, ticket number) of every ticket this user booked and did not cancel."""
        return [(target.theater, ticket_no) for target, ticket_no in self._tickets]

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
