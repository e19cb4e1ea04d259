"""The data store manager: one front for every data cluster, routed by theater.

Theaters are partitioned among data clusters (``Catalog.clusters()``); the
manager sends each call to the cluster that owns the theater and, inside it,
to any live replica (``ReplicaGroup``: a sticky favourite, failover on
``Unavailable``; views and ticket lookups, behind a read barrier on the
replica, spread over all of them). Load balancers ask it for a theater's ``route`` once and then
call the replicas themselves (``data_routes``), which saves a hop per call; the
routed methods stay for every other caller. Replicas replicate every write
through their cluster's log before answering, so whichever replica answers,
the answer is the cluster's. The manager keeps no state of its own beyond
cached names, so it can be restarted at any time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from Pyro5.api import expose

from ticketing import counters, names
from ticketing.catalog import Catalog, CatalogError, load_catalog
from ticketing.errors import Unavailable
from ticketing.security.secret import require_secret
from ticketing.server import validation
from ticketing.server.boundary import contract_errors
from ticketing.server.cli import common_parser
from ticketing.server.hosting import serve
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_group import ReplicaGroup


@expose
class DataStoreManager:
    """Routes data-store calls to the replicas of the owning cluster."""

    def __init__(self, catalog: Catalog, pool: ProxyPool) -> None:
        self.catalog = catalog
        self.pool = pool
        self._groups = {
            cluster: ReplicaGroup(
                pool, names.datastore_replica_prefix(cluster), f"data store replica of {cluster}"
            )
            for cluster in catalog.clusters()
        }

    def _group(self, theater: Any) -> ReplicaGroup:
        """The replicas of the cluster owning ``theater``; ``UnknownTheater`` if none does."""
        return self._groups[validation.theater(self.catalog, theater).cluster]

    @contract_errors
    def route(self, theater: str) -> str:
        """The name prefix of the replicas hosting ``theater``.

        That is ``ticketing.datastore.<cluster>.replica.``; ``UnknownTheater``
        when no cluster hosts it.
        """
        return self._group(theater).prefix

    @contract_errors
    def book(
        self,
        ticket_no: str,
        hold_id: str,
        theater: str,
        event: str,
        seats: list[str],
        name: str,
        email: str,
        fence: int,
        expires_at: float,
    ) -> dict[str, Any]:
        """Book the seats of a hold; the same ``hold_id`` booked again answers the first ticket."""
        return self._group(theater).call(
            "book", ticket_no, hold_id, theater, event, seats, name, email, fence, expires_at
        )

    @contract_errors
    def cancel(self, theater: str, ticket_no: str) -> dict[str, str]:
        """Cancel; the hold the ticket was booked with (see ``DataStore.cancel``)."""
        return self._group(theater).call("cancel", theater, ticket_no)

    @contract_errors
    def free_seats(self, theater: str, event: str) -> list[str]:
        return self._group(theater).read("free_seats", theater, event)

    @contract_errors
    def seat_states(self, theater: str, event: str) -> str:
        return self._group(theater).read("seat_states", theater, event)

    @contract_errors
    def ticket(self, theater: str, ticket_no: str) -> dict[str, Any]:
        return self._group(theater).read("ticket", theater, ticket_no)

    @contract_errors
    def ticket_for_hold(self, hold_id: str) -> dict[str, Any] | None:
        """The live ticket booked with ``hold_id`` in any cluster, or None.

        A hold does not say which theater it was for once it is gone, so every
        cluster is asked. None is only answered when every cluster answered:
        a cluster that could not be asked might hold the ticket.
        """
        hold_id = validation.hold_id(hold_id)
        unreachable: list[str] = []
        for cluster, group in self._groups.items():
            try:
                # On the favourite, not spread: a hit is answered without a
                # read barrier, so only where the writes went is it fresh.
                found = group.call("ticket_for_hold", hold_id)
            except Unavailable:
                unreachable.append(cluster)
                continue
            if found is not None:
                return found
        if unreachable:
            raise Unavailable(
                f"cannot tell whether hold {hold_id} was booked: data cluster(s) "
                f"{', '.join(unreachable)} unreachable; retry later"
            )
        return None

    @contract_errors
    def status(self) -> dict[str, Any]:
        """Who we are and which replicas we know and prefer (no remote call)."""
        clusters = {
            cluster: {"replicas": group.known(), "preferred": group.preferred}
            for cluster, group in self._groups.items()
        }
        return {
            "name": names.DATASTORE_MANAGER,
            "role": "datastore_manager",
            "pid": os.getpid(),
            "clusters": clusters,
            **counters.snapshot(),
        }


def main(argv: Sequence[str] | None = None) -> None:
    """``run/datastore_manager.py``: serve the manager until SIGINT/SIGTERM."""
    parser = common_parser(
        "Serve the data store manager: routes bookings to the data cluster of each theater.",
        catalog=True,
    )
    args = parser.parse_args(argv)
    try:
        catalog = load_catalog(args.catalog)
    except CatalogError as exc:
        raise SystemExit(str(exc)) from None
    secret = require_secret(args.data_dir)
    pool = ProxyPool(args.ns_host, args.ns_port, secret=secret)
    try:
        manager = DataStoreManager(catalog, pool)
        name = names.DATASTORE_MANAGER
        serve(manager, name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret)
    finally:
        pool.close()
