"""Settling booked holds off the booking's path, many per round through the log.

Once the data store has booked a hold, the lock table turns it into a sold
mark (``settle``), so that later holds see those seats as taken without
asking the data store. ``book_ticket`` need not wait for that: a background
thread gathers settlements for up to ``LINGER`` seconds and sends them to
the lock group as one ``settle_all`` call, which its log decides as one
batch: under load, one round through a group's log for every few dozen
bookings rather than one each.

Each lock group has its own queue and thread. A group that cannot take its
settlements (its quorum or its coordinator gone) keeps its thread busy with
retries for half a minute; had the groups shared one thread, every other
group's sold marks would wait behind it, and booked seats of healthy groups
would look free once their holds expired.

A settlement that cannot be delivered is tried again (``ATTEMPTS`` times in
all, ``RETRY_PAUSE`` apart), since a lost one leaves booked seats looking free
to the lock store until a hold on them is refused by the data store. Settles
are idempotent, so sending one twice is harmless.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from ticketing.errors import TicketingError
from ticketing.server.lock_routes import LockRoutes
from ticketing.server.replica_group import ReplicaGroup

log = logging.getLogger(__name__)

MAX_BATCH = 500
LINGER = 0.2  # seconds a settlement waits for others to share its round
ATTEMPTS = 5
RETRY_PAUSE = 1.0  # seconds between attempts

# [hold_id, theater, event, seats]: what ``LockServer.settle_all`` takes.
Settlement = list[str | list[str]]


class SettleQueue:
    def __init__(self, locks: LockRoutes) -> None:
        self._locks = locks
        self._queues: dict[int, queue.SimpleQueue[Settlement]] = {}
        for number in locks.placement.numbers():
            pending: queue.SimpleQueue[Settlement] = queue.SimpleQueue()
            self._queues[number] = pending
            name = f"settler-{number}"
            args = (locks.group(number), pending)
            threading.Thread(target=self._run, args=args, name=name, daemon=True).start()

    def put(self, hold_id: str, theater: str, event: str, seats: list[str]) -> None:
        settlement: Settlement = [hold_id, theater, event, list(seats)]
        self._queues[self._group_of(settlement)].put(settlement)

    def _run(self, group: ReplicaGroup, pending: queue.SimpleQueue[Settlement]) -> None:
        """Send ``group``'s settlements, ``pending``, in batches, for ever."""
        while True:
            batch = [pending.get()]
            deadline = time.monotonic() + LINGER
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(pending.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self._send(group, batch)

    def _group_of(self, settlement: Settlement) -> int:
        _, theater, event, _ = settlement
        return self._locks.placement.event_group(str(theater), str(event))

    def _send(self, group: ReplicaGroup, batch: list[Settlement]) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                group.call("settle_all", batch)
                return
            except TicketingError as exc:
                if attempt == ATTEMPTS:
                    log.warning(
                        "could not settle %d booked holds (the data store still refuses "
                        "to book their seats twice): %s",
                        len(batch),
                        exc,
                    )
                    return
                time.sleep(RETRY_PAUSE)
