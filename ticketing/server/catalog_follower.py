"""A process's view of the live catalog, kept in step with the data clusters' logs.

The theaters and events live in the data clusters' logs (``SeatStore``); the
data store manager merges them (``MergedCatalog``) and learns every change
it makes at once. Load balancers and lock servers check requests against the
catalog, so each follows the manager's: it polls ``catalog_since(token)``
every ``FOLLOW_INTERVAL`` seconds (a call that answers None while nothing
changed), and asks at once when a request names a theater or event it does
not know, or one whose sales it believes closed (asks stay ``REFRESH_GAP``
seconds apart). An event the operator adds is therefore bookable through
every balancer as soon as the operator's call returns; a stop of sales
reaches every balancer within ``FOLLOW_INTERVAL`` (the data store refuses
bookings from the moment it is decided, whatever the balancers believe).

While the manager cannot be reached, the last catalog stays in force; a
process that starts then begins with the catalog file's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ticketing import names
from ticketing.catalog import Catalog, CatalogError, theater_from_table
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.errors import TicketingError, UnknownEvent, UnknownTheater
from ticketing.server.proxies import ProxyPool
from ticketing.server.shared_ask import SharedAsk

log = logging.getLogger(__name__)

T = TypeVar("T")

FOLLOW_INTERVAL = 0.5  # seconds between polls of the manager
REFRESH_GAP = 0.1  # seconds between asks on a miss: a flood of unknown names costs little


class CatalogFollower:
    """The live catalog and the lock placement over it, swapped together on a change."""

    def __init__(self, pool: ProxyPool, initial: Catalog, lock_groups: int = 1) -> None:
        self._pool = pool
        self._lock_groups = lock_groups
        self._view = (initial, LockPlacement(initial, lock_groups))
        self._token = ""  # the manager's token of what we have; "" for the file's catalog
        self._stopping = threading.Event()
        self._asks = SharedAsk(self._ask, REFRESH_GAP, self._stopping)

    @property
    def catalog(self) -> Catalog:
        return self._view[0]

    @property
    def placement(self) -> LockPlacement:
        return self._view[1]

    def start(self) -> None:
        """Ask once now (a restarted process should not serve an old catalog), then poll."""
        self._asks.now()
        threading.Thread(target=self._poll, name="catalog-follower", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()

    def checked(self, check: Callable[[Catalog], T]) -> T:
        """``check(catalog)``; if it finds a theater or event unknown or closed, again on
        a fresh catalog (when one could be had)."""
        try:
            return check(self.catalog)
        except (UnknownTheater, UnknownEvent):  # SalesClosed is an UnknownEvent
            if not self.refresh():
                raise
            return check(self.catalog)

    def refresh(self) -> bool:
        """Ask the manager for anything newer than what we have; whether something came.

        The ask is shared and spaced (``SharedAsk``): a burst of misses costs one
        ask, a flood of unknown names costs the manager little.
        """
        token = self._token
        self._asks.fresh()
        return self._token != token

    def _ask(self) -> None:
        """One ask of the manager (made through ``_asks``, one at a time)."""
        try:
            answer = self._pool.call(names.DATASTORE_MANAGER, "catalog_since", self._token)
        except TicketingError as exc:
            log.debug("cannot ask the manager for the catalog: %s", exc)
            return
        if answer is not None:
            self._take(answer)

    def _take(self, answer: Any) -> None:
        """Install the manager's catalog; a malformed one is logged and left out."""
        try:
            token = str(answer["token"])
            theaters = tuple(theater_from_table(t, "the manager") for t in answer["theaters"])
            catalog = self.catalog.with_theaters(theaters)
            placement = LockPlacement(catalog, self._lock_groups)
        except (TypeError, KeyError, CatalogError, PlacementError) as exc:
            log.warning("ignoring a catalog the manager sent: %s", exc)
            return
        self._view = (catalog, placement)
        self._token = token
        log.info("catalog now %s", token)

    def _poll(self) -> None:
        while not self._stopping.wait(FOLLOW_INTERVAL):
            self._asks.now()
