"""The on-sale rush of ``run/bench.py --rush``: everyone on one event of a big venue.

Two kinds of buyer share the event:

* *best-available* buyers ask for 1-4 seats and let the system pick them
  (``block_best_available``): no look at the seats first, and no collision,
  since the lock store's log picks from its applied state; such a hold is
  refused only when fewer seats are free than asked;
* *explicit-seat* buyers look at the seat map (``get_seat_states``, as our
  client draws it) and pick like people do: a block of adjacent seats among
  the best few blocks on offer (``front_block``). They collide with each other
  and with the best-available buyers, and take what a refusal offers instead.

Left alone, a rush sells the venue out within seconds and then measures
refusals. So that every level measures buying, each user keeps at most
``keep_tickets`` tickets: before it buys another, it cancels its oldest ones.
``keep_tickets`` is chosen so that all users' tickets and holds together can
never fill the venue (see there): a refused best-available hold then means
something is wrong, not that the show sold out. Each level starts on an
empty venue: the tickets a level leaves are cancelled after it is measured.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError

from ticketing.bench.users import ERROR_PAUSE, MAX_HOLD, PROXY_TIMEOUT, Target, User
from ticketing.domain import seat_chooser, seat_codes
from ticketing.domain.seats import SeatMap
from ticketing.errors import SeatsUnavailable, TicketingError

BEST_AVAILABLE, EXPLICIT = "best_available", "explicit"
BUYERS = (BEST_AVAILABLE, EXPLICIT)
FRONT_CHOICES = 5  # an explicit buyer picks among this many of the best blocks
DRAIN_THREADS = 16

# One byte a seat for seat_chooser: FREE for a free seat's code, TAKEN for any other.
_TAKEN = bytes(
    seat_chooser.FREE if chr(code) == seat_codes.FREE else seat_chooser.TAKEN for code in range(256)
)


def buyer_kinds(users: int, explicit_share: float) -> list[str]:
    """Each user's kind: ``round(users * explicit_share)`` explicit buyers, spread evenly.

    Spread rather than grouped, since users are dealt round-robin to the load
    balancers: each balancer gets its share of both kinds.
    """
    explicit = round(users * explicit_share)
    return [
        EXPLICIT if (i + 1) * explicit // users > i * explicit // users else BEST_AVAILABLE
        for i in range(users)
    ]


def front_block(seat_map: SeatMap, states: str, count: int, rng: random.Random) -> list[str] | None:
    """``count`` seats an explicit buyer picks from a seat map; None if fewer are free.

    The best block of adjacent free seats of each row, ranked as
    ``seat_chooser`` ranks blocks (centre first, then the front), and one of
    the ``FRONT_CHOICES`` best at random: people want the seats
    best-available buyers get, but not all the very same ones. With no such
    block left, the best free seats one by one, as best-available would.
    """
    width = seat_map.seats_per_row
    taken = states.encode("ascii").translate(_TAKEN)
    blocks = []
    for row in range(seat_map.rows):
        start = seat_chooser.best_block(taken[row * width : (row + 1) * width], width, count)
        if start is not None:
            blocks.append((abs(2 * start + count - width), row, start))  # off centre, in half seats
    if not blocks:
        singles = seat_chooser.best_singles(taken, width, count)
        return None if singles is None else [seat_map.label(i) for i in singles]
    _, row, start = rng.choice(sorted(blocks)[:FRONT_CHOICES])
    return [seat_map.label(row * width + start + k) for k in range(count)]


class RushUser(User):
    """A buyer of the rush: best-available or explicit-seat, keeping ``keep`` tickets at most."""

    def __init__(
        self,
        index: int,
        uri: str,
        target: Target,
        stop: threading.Event,
        *,
        buyer: str,
        keep: int,
        cancel_share: float,
        seed: int,
        serializer: str = "serpent",
    ) -> None:
        super().__init__(index, uri, [target], stop, 0.0, cancel_share, seed, serializer, keep=keep)
        self.buyer = buyer

    def _one_booking(self) -> None:
        target = self.targets[0]
        self._return_tickets_beyond(self.keep)
        lb = self._lb()
        started = time.monotonic()
        wanted = self.rng.randint(1, MAX_HOLD)
        if self.buyer == BEST_AVAILABLE:
            try:
                hold = self._timed(
                    "hold", lb.block_best_available, target.theater, target.event, wanted
                )
            except SeatsUnavailable:
                self.tally.conflicts += 1  # fewer than ``wanted`` seats free
                self.stop.wait(ERROR_PAUSE)
                return
            self._book(lb, target, hold, started, started)
            return
        granted = self._hold_chosen(lb, target, lambda: self._look_at_map(lb, target, wanted))
        if granted is not None:
            self._book(lb, target, *granted, started)

    def _look_at_map(self, lb: Proxy, target: Target, wanted: int) -> list[str] | None:
        answer = self._timed("seat_map", lb.get_seat_states, target.theater, target.event)
        self.tally.views += 1
        seat_map = SeatMap(answer["rows"], answer["seats_per_row"])
        return front_block(seat_map, answer["states"], wanted, self.rng)


def cancel_all(balancers: Sequence[str], tickets: Sequence[tuple[str, str]]) -> int:
    """Cancel ``tickets`` (theater, ticket number) over a few threads; how many failed.

    Run between levels, outside what is measured, so that the next level
    starts on an empty venue.
    """
    shares = [tickets[i::DRAIN_THREADS] for i in range(min(DRAIN_THREADS, len(tickets)))]

    def cancel(index: int) -> int:
        failed = 0
        with Proxy(balancers[index % len(balancers)]) as lb:
            lb._pyroTimeout = PROXY_TIMEOUT
            for theater, ticket_no in shares[index]:
                try:
                    lb.delete_ticket(theater, ticket_no)
                except (TicketingError, CommunicationError):
                    failed += 1
        return failed

    with ThreadPoolExecutor(len(shares) or 1) as pool:
        return sum(pool.map(cancel, range(len(shares))))
