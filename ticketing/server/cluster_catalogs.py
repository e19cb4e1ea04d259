"""The data store manager's reach into the data clusters: their replicas and their catalogs.

Each data cluster's log holds its own theaters (``SeatStore``). This keeps
one ``ReplicaGroup`` per cluster and the merge of their catalogs
(``MergedCatalog``) fresh: every ``POLL_INTERVAL`` it asks each cluster for
a catalog newer than the one it has, every ``DISCOVER_INTERVAL`` it looks in
the name server for clusters started since (an operator adding capacity),
and a caller that meets an unknown theater can ask for a ``refresh`` at once.
The manager's own changes do not wait for a poll: it takes their results.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from ticketing import names
from ticketing.catalog import Catalog
from ticketing.errors import TicketingError
from ticketing.server.merged_catalog import MergedCatalog
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_group import ReplicaGroup
from ticketing.server.shared_ask import SharedAsk

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5  # seconds between asks of every cluster for a newer catalog
DISCOVER_INTERVAL = 2.0  # seconds between looks in the name server for new clusters
REFRESH_GAP = 0.1  # seconds between asks on a miss: a flood of unknown theaters costs little
_REPLICA_NAME = re.compile(re.escape(names.DATASTORE_PREFIX) + r"([A-Za-z0-9_-]+)\.replica\.")


class ClusterCatalogs:
    def __init__(self, pool: ProxyPool, catalog: Catalog) -> None:
        """``catalog``: the catalog file, for its limits and as the first guess of theaters."""
        self.pool = pool
        self.merged = MergedCatalog(catalog)
        self._groups: dict[str, ReplicaGroup] = {}
        self._groups_lock = threading.Lock()
        self._stopping = threading.Event()
        self._polls = SharedAsk(self._poll, REFRESH_GAP, self._stopping)

    def group(self, cluster: str) -> ReplicaGroup:
        """The replicas of ``cluster`` (made on first use)."""
        with self._groups_lock:
            group = self._groups.get(cluster)
            if group is None:
                prefix = names.datastore_replica_prefix(cluster)
                group = ReplicaGroup(self.pool, prefix, f"data store replica of {cluster}")
                self._groups[cluster] = group
            return group

    def start(self) -> None:
        threading.Thread(target=self._follow, name="catalog-poll", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()

    def _follow(self) -> None:
        discovered = -float("inf")
        while not self._stopping.is_set():
            if time.monotonic() - discovered >= DISCOVER_INTERVAL:
                self.discover()
                discovered = time.monotonic()
            self._polls.now()
            self._stopping.wait(POLL_INTERVAL)

    def discover(self) -> None:
        """Add the clusters registered in the name server (one started beside the others)."""
        try:
            registered = self.pool.list(names.DATASTORE_PREFIX, refresh=True)
        except TicketingError as exc:
            log.debug("cannot list the data clusters: %s", exc)
            return
        by_cluster: dict[str, list[str]] = {}
        for name in registered:
            match = _REPLICA_NAME.match(name)
            if match:
                by_cluster.setdefault(match.group(1), []).append(name)
        for cluster, replicas in by_cluster.items():
            self.merged.add_cluster(cluster)
            # A new cluster's replicas register one by one: a group listed
            # between two of them would never learn of the later ones.
            self.group(cluster).relisted(replicas)

    def poll(self) -> list[str]:
        """Ask every cluster for a catalog newer than ours now; the clusters that did not answer."""
        return self._polls.now()

    def _poll(self) -> list[str]:
        silent = []
        for cluster, version in self.merged.clusters().items():
            try:
                newer = self.group(cluster).call("catalog_since", version)
            except TicketingError:
                silent.append(cluster)
                continue
            if newer is not None:
                self.merged.update(cluster, newer)
        return silent

    def refresh(self) -> None:
        """Ask every cluster now: a theater may have been added to one since our last poll.

        The ask is shared and spaced (``SharedAsk``), so a flood of unknown
        theaters costs the clusters little.
        """
        self._polls.fresh()
