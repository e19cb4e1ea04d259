"""Releasing booked holds off the booking's path, many per round through the log.

Once a hold is booked its seats are booked: releasing it only tidies the lock
table, so ``book_ticket`` need not wait for it. A background thread gathers
the holds to release for up to ``LINGER`` seconds and sends them as one
``release_all`` call, which the lock store decides as one batch: under load,
one round through the lock store's log for every few dozen bookings rather than
one each. If the lock store cannot be reached the hold simply lapses at its
expiry, as every hold does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from ticketing.errors import TicketingError
from ticketing.server.replica_group import ReplicaGroup

log = logging.getLogger(__name__)

MAX_BATCH = 500
LINGER = 0.2  # seconds a release waits for others to share its round


class ReleaseQueue:
    def __init__(self, locks: ReplicaGroup) -> None:
        self._locks = locks
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="releaser", daemon=True)
        self._thread.start()

    def put(self, hold_id: str) -> None:
        self._queue.put(hold_id)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + LINGER
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            try:
                self._locks.call("release_all", batch)
            except TicketingError as exc:
                log.warning("could not release %d booked holds (they lapse): %s", len(batch), exc)
