"""Where each theater's data lives, asked of the data store manager once.

The manager routes by theater (the seed's layout), but a hop through it on
every call doubles the calls of the data path. So a load balancer asks the
manager once per theater which replicas host it (``DataStoreManager.route``),
keeps the answer for the life of the process (the catalog, hence the routing,
does not change while it runs) and calls those replicas itself, with the same
sticky-favourite failover the manager uses (and its views and lookups spread
over the replicas, ``ReplicaGroup.read``). Once a theater's route is known,
its bookings go on while the manager is down.
"""

from __future__ import annotations

import threading
from typing import Any

from ticketing import names
from ticketing.errors import Unavailable
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_group import ReplicaGroup


class DataRoutes:
    def __init__(self, pool: ProxyPool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._by_theater: dict[str, ReplicaGroup] = {}
        self._by_prefix: dict[str, ReplicaGroup] = {}

    def call(self, theater: str, method: str, *args: Any) -> Any:
        """``method(*args)`` on a replica of the cluster hosting ``theater``."""
        return self._group(theater).call(method, *args)

    def read(self, theater: str, method: str, *args: Any) -> Any:
        """``method(*args)`` on the next replica in turn of ``theater``'s cluster.

        Only for the replicas' reads behind a read barrier (see ``ReplicaGroup.read``).
        """
        return self._group(theater).read(method, *args)

    def _group(self, theater: str) -> ReplicaGroup:
        with self._lock:
            group = self._by_theater.get(theater)
        if group is not None:
            return group
        prefix = self._pool.call(names.DATASTORE_MANAGER, "route", theater)
        if not (isinstance(prefix, str) and prefix.startswith(names.DATASTORE_PREFIX)):
            raise Unavailable(f"the data store manager gave no usable route for {theater}; retry")
        with self._lock:
            group = self._by_prefix.get(prefix)
            if group is None:
                group = ReplicaGroup(self._pool, prefix, f"data store replica ({prefix}*)")
                self._by_prefix[prefix] = group
            self._by_theater[theater] = group
        return group

    def known(self) -> dict[str, str | None]:
        """Each routed theater's preferred replica (no remote call), for ``status``."""
        with self._lock:
            routed = dict(self._by_theater)
        return {theater: group.preferred for theater, group in sorted(routed.items())}
