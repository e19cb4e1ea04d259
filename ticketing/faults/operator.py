"""The fault run's operator: catalog changes through the manager while the clients book.

One thread calls the data store manager's operator API (``admin_*``, members
only) every ``every`` seconds or so: it adds events to the theaters of the
hot events (the clients then hold and book them too), retitles and
reschedules events, stops the sales of an open event and resumes them a
couple of seconds later, and, less often, cancels an event it added (never
one of the catalog's own hot events, so the run keeps booking plenty). Kinds
come from a shuffled bag, so even a short run meets each of them.

Each call is recorded like a client's (``Recorder.call``): ok, refused or
unknown. A call is sent once, never retried (``Operator._send``): a retry of a
call whose reply was lost could be refused while the first took effect (a
cancel: "already cancelled"), or be answered while the first still lingers
and lands later (a resume after the next stop). Sent once, a refused change
changed nothing and an acknowledged one was decided before its answer.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from Pyro5.errors import CommunicationError

from ticketing import names
from ticketing.errors import TicketingError
from ticketing.faults.history import (
    ADD_EVENT,
    CANCEL_EVENT,
    OK,
    OPERATOR,
    REFUSED,
    RESUME_SALES,
    STOP_SALES,
    UNKNOWN,
    UPDATE_EVENT,
)
from ticketing.server.proxies import ProxyPool

Where = tuple[str, str]
Hot = dict[Where, tuple[str, ...]]  # (theater, event) -> its hot seats
# ``recorder.Recorder.call``: (client, kind, where, action) -> (outcome, result or exception)
Record = Callable[..., tuple[str, Any]]

STOPPED_FOR = 2.0  # seconds an event's sales stay stopped before the operator resumes them
RETIRE_AFTER = 3.0  # seconds clients still try a cancelled event (and must be refused)
MAX_ADDED = 6  # added events open at once; more and the clients' bookings spread thin
# The bag of kinds: adds come most, a cancel least, so added events pile up to be cancelled.
BAG = (ADD_EVENT, ADD_EVENT, ADD_EVENT, UPDATE_EVENT, UPDATE_EVENT, STOP_SALES, CANCEL_EVENT)


class Events:
    """The events the clients book, with their hot seats; the operator adds and retires some.

    ``used`` keeps every event ever offered, for the end state's reads.
    """

    def __init__(self, hot: Hot) -> None:
        self._lock = threading.Lock()
        self._offered: Hot = dict(hot)
        self._retiring: dict[Where, float] = {}  # event -> when clients stop trying it
        self.used: Hot = dict(hot)

    def pick(self, rng: random.Random) -> tuple[Where, tuple[str, ...]]:
        """One offered event, drawn by ``rng``, and its hot seats."""
        with self._lock:
            now = time.monotonic()
            for where in [w for w, until in self._retiring.items() if until <= now]:
                del self._retiring[where]
                del self._offered[where]
            where = rng.choice(list(self._offered))
            return where, self._offered[where]

    def offered(self) -> list[Where]:
        """The events on offer and not being retired, in the order they were offered."""
        with self._lock:
            return [w for w in self._offered if w not in self._retiring]

    def add(self, where: Where, seats: tuple[str, ...]) -> None:
        with self._lock:
            self._offered[where] = seats
            self.used[where] = seats

    def retire(self, where: Where) -> None:
        """Clients go on trying ``where`` for ``RETIRE_AFTER`` seconds, then leave it."""
        with self._lock:
            if where in self._offered:
                self._retiring.setdefault(where, time.monotonic() + RETIRE_AFTER)


class Operator:
    """The operator's state: what it added, what it stopped; one change a ``step``."""

    def __init__(self, pool: ProxyPool, record: Record, events: Events, seed: int) -> None:
        self.pool = pool
        self.record = record
        self.events = events
        self.rng = random.Random(seed)
        # The theaters of the hot events, with the hot seats of each.
        self.seats: dict[str, tuple[str, ...]] = {}
        for (theater, _), seats in events.used.items():
            self.seats.setdefault(theater, seats)
        self.added: list[Where] = []  # acknowledged adds, not cancelled
        self.stopped: dict[Where, float] = {}  # stopped (or maybe) -> when
        self.bag: list[str] = []
        self.count = 0

    def step(self) -> None:
        due = [w for w, at in self.stopped.items() if time.monotonic() - at >= STOPPED_FOR]
        if due:
            self.resume(self.rng.choice(due))
            return
        if not self.bag:
            self.bag = list(BAG)
            self.rng.shuffle(self.bag)
        kind = self.bag.pop()
        open_events = [w for w in self.events.offered() if w not in self.stopped]
        if kind == CANCEL_EVENT and len(self.added) >= 2:
            self.cancel(self.rng.choice(self.added))
        elif kind == STOP_SALES and not self.stopped and open_events:
            self.stop_sales(self.rng.choice(open_events))
        elif kind in (ADD_EVENT, CANCEL_EVENT) and len(self.added) < MAX_ADDED:
            self.add()
        elif open_events:
            self.update(self.rng.choice(open_events))

    def _call(self, kind: str, where: Where, method: str, *args: Any) -> tuple[str, Any]:
        return self.record(OPERATOR, kind, where, partial(self._send, method, *args))

    def _send(self, method: str, *args: Any) -> Any:
        """``method`` on the manager, sent once (``ProxyPool.call`` would retry it)."""
        try:
            return getattr(self.pool.get(names.DATASTORE_MANAGER), method)(*args)
        except CommunicationError:
            with contextlib.suppress(TicketingError):  # it may be back at a new address
                self.pool.resolve(names.DATASTORE_MANAGER, refresh=True)
            raise

    def add(self) -> None:
        self.count += 1
        theater = self.rng.choice(sorted(self.seats))
        where = (theater, f"extra-{self.count}")
        table = {"id": where[1], "title": f"Extra show {self.count}", "starts_at": self._date()}
        outcome, _ = self._call(ADD_EVENT, where, "admin_add_event", theater, table)
        if outcome == OK:  # an unknown add is left alone: clients book only known events
            self.added.append(where)
            self.events.add(where, self.seats[theater])

    def update(self, where: Where) -> None:
        changes: dict[str, str] = {}
        choice = self.rng.random()
        if choice < 0.6:
            changes["starts_at"] = self._date()
        if choice > 0.3:
            changes["title"] = f"{where[1]} (revised {self.rng.randrange(1000)})"
        self._call(UPDATE_EVENT, where, "admin_update_event", *where, changes)

    def stop_sales(self, where: Where) -> None:
        outcome, _ = self._call(STOP_SALES, where, "admin_stop_sales", *where)
        if outcome != REFUSED:
            self.stopped[where] = time.monotonic()

    def resume(self, where: Where) -> None:
        outcome, _ = self._call(RESUME_SALES, where, "admin_resume_sales", *where)
        if outcome == UNKNOWN:
            self.stopped[where] = time.monotonic()  # try again later
        else:
            del self.stopped[where]

    def cancel(self, where: Where) -> None:
        """Cancel ``where`` (an added event) once, whatever the outcome: it is done with."""
        self._call(CANCEL_EVENT, where, "admin_cancel_event", *where)
        self.added.remove(where)
        self.stopped.pop(where, None)
        self.events.retire(where)

    def _date(self) -> str:
        """A start in 2027-2028: always in the future for the manager's check."""
        year, month = self.rng.choice((2027, 2028)), self.rng.randint(1, 12)
        day, hour = self.rng.randint(1, 28), self.rng.randint(12, 23)
        return f"{year}-{month:02d}-{day:02d}T{hour:02d}:00:00"


def operator_loop(
    ns_host: str,
    ns_port: int,
    record: Record,
    events: Events,
    stop: threading.Event,
    seed: int,
    every: float,
    timeout: float,
) -> None:
    """Catalog changes about every ``every`` seconds until ``stop`` is set."""
    pool = ProxyPool(ns_host, ns_port, timeout=timeout)
    operator = Operator(pool, record, events, seed)
    try:
        while not stop.wait(every * operator.rng.uniform(0.5, 1.5)):
            operator.step()
    finally:
        pool.close()
