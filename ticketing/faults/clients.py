"""The fault run's clients: random user flows on the hot seats, each call recorded.

Clients use the real client connection (``ticketing.client.connection``,
failing over between load balancers) and run random user flows: view the
seat map, hold one or two seats (hot seats they name, or half the time the
best available ones, which the system picks; an explicit hold refused with
an alternative takes it now and then), then book, release or abandon the
hold, and cancel their own tickets now and then so the seats come back
(each client's first ticket, and a few others, only after their hold would
have expired: the lock store then knows their seats by sold marks alone).
Every call goes through the ``Recorder``.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from functools import partial
from typing import Any

from ticketing.client.connection import Connection
from ticketing.domain.seat_commands import Booking
from ticketing.faults.history import BOOK, CANCEL, HOLD, OK, READ, REFUSED, RELEASE
from ticketing.faults.operator import Events
from ticketing.faults.recorder import Recorder
from ticketing.server.data_routes import DataRoutes

HOLD_TTL = 4.0  # the small catalog's hold_ttl
CALL_TIMEOUT = 8.0  # seconds a client waits for one load balancer's answer
KEEP_SHARE = 0.05  # of later tickets kept past their hold's expiry before they may be cancelled
KEEP_FOR = HOLD_TTL + 2.0  # seconds such a ticket is kept
ROGUE_EMAIL = "rogue@example.com"


def client_loop(
    client: int,
    ns_host: str,
    ns_port: int,
    recorder: Recorder,
    stop: threading.Event,
    seed: int,
    events: Events,
    rogue: DataRoutes | None = None,
) -> None:
    """One user's random flows on the hot seats of the ``events`` until ``stop`` is set.

    With ``rogue`` (a member's routes to the data replicas) the user also
    books now and then straight at the data store with no hold at all, as a
    misbehaving load balancer would: the data store alone must then keep
    seats from being sold twice.
    """
    rng = random.Random(seed)
    conn = Connection(ns_host, ns_port, call_timeout=CALL_TIMEOUT, rng=rng)
    tickets: list[tuple[tuple[str, str], str, float]] = []  # where, number, kept until
    who = (f"client {client}", client_email(client))
    booked = 0

    def keep(where: tuple[str, str], ticket: str) -> None:
        """A client's first ticket, and one in ``1 / KEEP_SHARE`` later, lives on for a while."""
        nonlocal booked
        kept = KEEP_FOR if booked == 0 or rng.random() < KEEP_SHARE else 0.0
        tickets.append((where, ticket, time.monotonic() + kept))
        booked += 1

    try:
        while not stop.is_set():
            where, hot_seats = events.pick(rng)
            ready = [n for n, (_, _, kept) in enumerate(tickets) if kept <= time.monotonic()]
            if ready and rng.random() < 0.35:
                place, ticket, _ = tickets.pop(rng.choice(ready))
                cancel = partial(conn.delete_ticket, place[0], ticket)
                recorder.call(client, CANCEL, place, cancel, ticket_no=ticket)
                continue
            recorder.call(client, READ, where, partial(conn.get_seat_map, *where))
            seats = tuple(rng.sample(hot_seats, rng.choice((1, 1, 2))))
            if rogue is not None and rng.random() < 0.3:
                forged = secrets.token_urlsafe(16)
                book = partial(_rogue_book, rogue, where, seats, forged)
                outcome, made = recorder.call(
                    client, BOOK, where, book, seats=seats, hold_id=forged
                )
                if outcome == OK:
                    keep(where, made["ticket_no"])
                continue
            outcome, hold = _hold(conn, recorder, client, where, seats, rng)
            if outcome != OK:
                continue
            hold_id, seats = hold["hold_id"], tuple(hold["seats"])
            choice = rng.random()
            if choice < 0.7:
                book = partial(conn.book_ticket, hold_id, *who)
                outcome, made = recorder.call(
                    client, BOOK, where, book, seats=seats, hold_id=hold_id
                )
                if outcome == OK:
                    keep(where, made["ticket_no"])
            elif choice < 0.9:
                release = partial(conn.release_hold, hold_id)
                recorder.call(client, RELEASE, where, release, hold_id=hold_id)
    finally:
        conn.close()


def _hold(
    conn: Connection,
    recorder: Recorder,
    client: int,
    where: tuple[str, str],
    seats: tuple[str, ...],
    rng: random.Random,
) -> tuple[str, Any]:
    """Half the time the ``len(seats)`` best available seats, else ``seats`` themselves.

    An explicit hold refused with an alternative (the best free seats of the
    same count) takes it half the time, as a buyer offered it would.
    """
    if rng.random() < 0.5:
        best = partial(conn.call, "block_best_available", *where, len(seats))
        return recorder.call(client, HOLD, where, best, count=len(seats))
    block = partial(conn.block_seats, *where, list(seats))
    outcome, hold = recorder.call(client, HOLD, where, block, seats=seats)
    offered = tuple(getattr(hold, "alternative", ()))
    if outcome == REFUSED and offered and rng.random() < 0.5:
        block = partial(conn.block_seats, *where, list(offered))
        outcome, hold = recorder.call(client, HOLD, where, block, seats=offered)
    return outcome, hold


def client_email(client: int) -> str:
    """The e-mail client ``client`` books with: the end state matches refunds by it."""
    return f"c{client}@example.com"


def _rogue_book(
    routes: DataRoutes, where: tuple[str, str], seats: tuple[str, ...], forged: str
) -> Any:
    """A booking with a made-up hold id: the newest fence, far from expiry."""
    booking = Booking(
        ticket_no=secrets.token_urlsafe(16),
        hold_id=forged,
        theater=where[0],
        event=where[1],
        seats=seats,
        name="Rogue",
        email=ROGUE_EMAIL,
        fence=2**40,
        expires_at=time.time() + 3600,  # on the log's wall clock
    )
    return routes.call(booking.theater, "book", booking.to_plain())
