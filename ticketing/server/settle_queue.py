"""Settling booked holds off the booking's path, many per round through the log.

Once the data store has booked a hold, the lock table turns it into a sold
mark (``settle``), so that later holds see those seats as taken without
asking the data store. ``book_ticket`` need not wait for that: until its
hold expires the hold itself keeps the seats, and a late settle is safe by
design (it still marks the seats; a cancel decided before it wins). So a
background thread gathers settlements for up to ``LINGER`` seconds, less
when a hold would expire within ``EXPIRY_MARGIN`` of it, and sends them to
the lock group as one ``settle_all`` call, which its log decides as one
batch: under load, one round through a group's log for dozens of bookings
rather than one each. Every round costs the group's coordinator and
replicas a few calls and disk syncs, so the linger is what keeps K groups
from costing K times the rounds of one: each balancer's settlements are split
K ways, and a short linger would send each group a round for every booking
or two.

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
from dataclasses import dataclass

from ticketing.errors import TicketingError
from ticketing.server.lock_routes import LockRoutes
from ticketing.server.replica_group import ReplicaGroup

log = logging.getLogger(__name__)

MAX_BATCH = 500
LINGER = 1.0  # seconds a settlement waits at most for others to share its round
EXPIRY_MARGIN = 1.0  # seconds before its hold expires by which a settlement is sent
ATTEMPTS = 5
RETRY_PAUSE = 1.0  # seconds between attempts

# [hold_id, theater, event, seats]: what ``LockServer.settle_all`` takes.
Settlement = list[str | list[str]]


@dataclass(frozen=True, slots=True)
class Pending:
    settlement: Settlement
    due: float  # time.monotonic() by which it is sent


class SettleQueue:
    def __init__(self, locks: LockRoutes) -> None:
        self._locks = locks
        self._queues: dict[int, queue.SimpleQueue[Pending]] = {}
        for number in locks.placement.numbers():
            pending: queue.SimpleQueue[Pending] = queue.SimpleQueue()
            self._queues[number] = pending
            name = f"settler-{number}"
            args = (locks.group(number), pending)
            threading.Thread(target=self._run, args=args, name=name, daemon=True).start()

    def put(
        self,
        hold_id: str,
        theater: str,
        event: str,
        seats: list[str],
        expires_at: float | None = None,
    ) -> None:
        """Settle a booked hold; ``expires_at`` (epoch seconds) is None once it is gone."""
        settlement: Settlement = [hold_id, theater, event, list(seats)]
        wait = 0.0
        if expires_at is not None:  # the log's stamp, so wall time; the due time is local
            wait = min(LINGER, max(0.0, expires_at - EXPIRY_MARGIN - time.time()))
        item = Pending(settlement, time.monotonic() + wait)
        self._queues[self._group_of(settlement)].put(item)

    def _run(self, group: ReplicaGroup, pending: queue.SimpleQueue[Pending]) -> None:
        """Send ``group``'s settlements, ``pending``, in batches, each by its due time."""
        while True:
            first = pending.get()
            batch, due = [first.settlement], first.due
            while len(batch) < MAX_BATCH:
                try:
                    item = pending.get(timeout=max(0.0, due - time.monotonic()))
                except queue.Empty:
                    break
                batch.append(item.settlement)
                due = min(due, item.due)
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
