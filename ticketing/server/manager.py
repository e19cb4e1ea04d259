"""The data store manager: one front for every data cluster, routed by theater,
and the operator's way to change the catalog while sales go on.

Theaters are partitioned among data clusters; each cluster's log holds its
own theaters and events (``SeatStore``). The manager merges them
(``MergedCatalog``): it polls each cluster for a newer version, finds new
clusters in the name server, and learns every change it makes from the
change's result, so the followers (load balancers, lock servers, see
``CatalogFollower``) get it on their next ask.

It sends each of its calls to the cluster that owns the theater and, inside
it, to any live replica (``ReplicaGroup``: a sticky favourite, failover on
``Unavailable``; reports, behind a read barrier on the replica, spread over
all of them). Bookings, cancels, seat views and ticket lookups do not pass
through it: load balancers ask it for a theater's ``route`` once and then
call the replicas themselves (``data_routes``), which saves a hop per call.
Replicas replicate every write through their cluster's log before
answering, so whichever replica answers, the answer is the cluster's. The
manager keeps no state of its own beyond cached names and the merged
catalog, which it rebuilds from the clusters, so it can be restarted at any
time.

The operator API (``admin_*``) is served to members only, like everything
the manager serves: a caller proves the cluster secret (``members_server``).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from Pyro5.api import expose

from ticketing import counters, names
from ticketing.catalog import (
    Catalog,
    CatalogError,
    Event,
    Theater,
    event_from_table,
    theater_from_table,
)
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.domain.seat_commands import (
    AddEvent,
    AddTheater,
    CancelEvent,
    CatalogCommand,
    ResizeTheater,
    SetSales,
    UpdateEvent,
)
from ticketing.errors import InvalidRequest, Unavailable, UnknownTheater
from ticketing.security.secret import require_secret
from ticketing.server import validation
from ticketing.server.boundary import contract_errors
from ticketing.server.cli import common_parser, load_placement, lock_groups_flag
from ticketing.server.cluster_catalogs import ClusterCatalogs
from ticketing.server.hosting import serve
from ticketing.server.lock_routes import LockRoutes
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_group import ReplicaGroup

log = logging.getLogger(__name__)


@expose
class DataStoreManager:
    """Routes data-store calls to the replicas of the owning cluster; changes the catalog."""

    def __init__(self, clusters: ClusterCatalogs, lock_groups: int = 1) -> None:
        self._clusters = clusters
        self._lock_groups = lock_groups
        self._locks = LockRoutes(clusters.pool, lambda: LockPlacement(self._catalog, lock_groups))
        self._admin_lock = threading.Lock()  # one catalog change at a time (ids stay unique)

    @property
    def _catalog(self) -> Catalog:
        return self._clusters.merged.catalog

    def _cluster(self, cluster: str) -> ReplicaGroup:
        return self._clusters.group(cluster)

    def _group(self, theater: Any) -> ReplicaGroup:
        """The replicas of the cluster owning ``theater``; ``UnknownTheater`` if none does."""
        return self._cluster(self._theater(theater).cluster)

    @contract_errors
    def catalog_since(self, token: str) -> dict[str, Any] | None:
        """The merged catalog ``{"token", "theaters"}``, or None if ``token`` is current
        (or newer than ours in some cluster: we have not heard from it since a restart)."""
        if not isinstance(token, str):
            raise InvalidRequest("token must be the text an earlier answer gave, or ''")
        merged = self._clusters.merged
        if token == merged.token or merged.behind(token):
            return None
        return merged.to_plain()

    @contract_errors
    def route(self, theater: str) -> str:
        """The name prefix of the replicas hosting ``theater``.

        That is ``ticketing.datastore.<cluster>.replica.``; ``UnknownTheater``
        when no cluster hosts it.
        """
        return self._group(theater).prefix

    @contract_errors
    def ticket_for_hold(self, hold_id: str) -> dict[str, Any] | None:
        """The live ticket booked with ``hold_id`` in any cluster, or None.

        A hold does not say which theater it was for once it is gone, so every
        cluster is asked. None is only answered when every cluster answered:
        a cluster that could not be asked might hold the ticket.
        """
        hold_id = validation.hold_id(hold_id)
        unreachable: list[str] = []
        for cluster in self._clusters.merged.clusters():
            group = self._cluster(cluster)
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

    # -- the operator's API -------------------------------------------------------------

    @contract_errors
    def admin_clusters(self) -> list[dict[str, Any]]:
        """Every data cluster: its catalog version, theaters and registered replicas."""
        self._clusters.discover()
        self._clusters.refresh()
        by_cluster: dict[str, list[str]] = {}
        for theater in self._catalog.theaters:
            by_cluster.setdefault(theater.cluster, []).append(theater.id)
        return [
            {
                "cluster": cluster,
                "version": version,
                "theaters": by_cluster.get(cluster, []),
                "replicas": self._cluster(cluster).known(),
            }
            for cluster, version in self._clusters.merged.clusters().items()
        ]

    @contract_errors
    def admin_add_theater(self, table: dict[str, Any]) -> dict[str, Any]:
        """Add a theater (``Theater.to_table``'s keys, ``cluster`` required) to a running cluster.

        Its id must be new across every cluster: the manager makes one change
        at a time and asks every cluster first, so an unreachable cluster
        makes this ``Unavailable`` rather than risk a duplicate.
        """
        if not isinstance(table, dict) or "cluster" not in table:
            raise InvalidRequest("a theater needs a 'cluster': the data cluster to host it")
        theater = _checked_theater(table)
        with self._admin_lock:
            self._clusters.discover()
            if theater.cluster not in self._clusters.merged.clusters():
                known = ", ".join(self._clusters.merged.clusters()) or "none"
                raise InvalidRequest(
                    f"no data cluster {theater.cluster!r} is running (clusters: {known}); "
                    f"start its replicas and coordinator first"
                )
            silent = self._clusters.poll()
            if silent:
                raise Unavailable(
                    f"cannot tell whether theater {theater.id} exists: data cluster(s) "
                    f"{', '.join(silent)} unreachable; retry later"
                )
            if any(t.id == theater.id for t in self._catalog.theaters):
                where = self._catalog.theater(theater.id).cluster
                raise InvalidRequest(f"theater {theater.id} already exists (in cluster {where})")
            try:
                LockPlacement(self._catalog.with_theaters((theater,)), self._lock_groups)
            except PlacementError as exc:
                raise InvalidRequest(str(exc)) from None
            self._change(theater.cluster, AddTheater(theater))
        return self._catalog.theater(theater.id).to_listing()

    @contract_errors
    def admin_add_event(self, theater: str, table: dict[str, Any]) -> dict[str, Any]:
        """Add an event (``{"id", "title", "starts_at"}``) to a theater; it is on sale at once."""
        found = self._theater(theater)
        event = _checked_event(table)
        self._change(found.cluster, AddEvent(found.id, event))
        return self._catalog.theater(found.id).to_listing()

    @contract_errors
    def admin_update_event(
        self, theater: str, event: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Retitle or reschedule: ``changes`` has ``title`` and/or ``starts_at``.

        Tickets stay as they are: they name the event by its id.
        """
        found = self._theater(theater)
        current = found.event(validation.identifier(event, "event", "dune-1900"))
        if not isinstance(changes, dict) or not changes or set(changes) - {"title", "starts_at"}:
            raise InvalidRequest("changes must be a dict of 'title' and/or 'starts_at'")
        changed = _checked_event({**current.to_table(), **changes}, upcoming="starts_at" in changes)
        title = changed.title if "title" in changes else None
        starts_at = changed.starts_at if "starts_at" in changes else None
        self._change(found.cluster, UpdateEvent(found.id, current.id, title, starts_at))
        return self._catalog.theater(found.id).to_listing()

    @contract_errors
    def admin_stop_sales(self, theater: str, event: str) -> dict[str, Any]:
        """No new holds or bookings for the event until ``admin_resume_sales``."""
        return self._set_sales(theater, event, "stopped")

    @contract_errors
    def admin_resume_sales(self, theater: str, event: str) -> dict[str, Any]:
        return self._set_sales(theater, event, "open")

    def _set_sales(self, theater: str, event: str, sales: str) -> dict[str, Any]:
        found = self._theater(theater)
        event = found.event(validation.identifier(event, "event", "dune-1900")).id
        self._change(found.cluster, SetSales(found.id, event, sales))
        return self._catalog.theater(found.id).to_listing()

    @contract_errors
    def admin_cancel_event(self, theater: str, event: str) -> dict[str, Any]:
        """Cancel for good: every ticket is cancelled and listed for a refund (``refunds``)."""
        found = self._theater(theater)
        event = found.event(validation.identifier(event, "event", "dune-1900")).id
        result = self._change(found.cluster, CancelEvent(found.id, event))
        return {"theater": found.id, "event": event, "refunds": result.get("refunds", [])}

    @contract_errors
    def admin_resize_theater(self, theater: str, rows: int, seats_per_row: int) -> dict[str, Any]:
        """New seat-map size; refused while a booked seat would fall outside it."""
        found = self._theater(theater)
        resized = _checked_theater(
            {**found.to_table(), "rows": rows, "seats_per_row": seats_per_row}
        )
        command = ResizeTheater(found.id, resized.rows, resized.seats_per_row)
        self._change(found.cluster, command)
        return self._catalog.theater(found.id).to_listing()

    @contract_errors
    def admin_sales_report(self, theater: str, event: str) -> dict[str, Any]:
        """One event's sales: seats sold, held and free, its tickets and refunds.

        Tickets carry the buyer's name and e-mail (for export); ``held`` is what
        the lock store holds now, less what is booked.
        """
        found = self._theater(theater)
        listed = found.event(validation.identifier(event, "event", "dune-1900"))
        sales = self._cluster(found.cluster).read("sales_report", found.id, listed.id)
        held_seats = self._locks.for_event(found.id, listed.id).call(
            "held_seats", found.id, listed.id
        )
        sold = {seat for ticket in sales["tickets"] for seat in ticket["seats"]}
        held = len(set(held_seats) - sold)
        return {
            "theater": found.id,
            "event": listed.id,
            "title": listed.title,
            "starts_at": listed.starts_at,
            "sales": listed.sales,
            "seats": found.seat_count,
            "sold": len(sold),
            "held": held,
            "free": found.seat_count - len(sold) - held,
            "tickets": sales["tickets"],
            "refunds": sales["refunds"],
        }

    def _theater(self, theater: Any) -> Theater:
        """A theater of the catalog, asking the clusters again if it is not known here."""
        try:
            return validation.theater(self._catalog, theater)
        except UnknownTheater:
            self._clusters.refresh()
            return validation.theater(self._catalog, theater)

    def _change(self, cluster: str, command: CatalogCommand) -> dict[str, Any]:
        """Decide ``command`` in ``cluster``'s log; the merged catalog takes its result at once.

        One request id for the whole call: the failover of ``ReplicaGroup``
        re-sends it to another replica, and the log applies it once.
        """
        request_id = secrets.token_urlsafe(12)
        result = self._cluster(cluster).call("change_catalog", request_id, command.to_plain())
        self._clusters.merged.update(cluster, result["catalog"])
        return result

    @contract_errors
    def status(self) -> dict[str, Any]:
        """Who we are and which replicas we know and prefer (no remote call)."""
        versions = self._clusters.merged.clusters()
        clusters = {
            cluster: {
                "replicas": group.known(),
                "preferred": group.preferred,
                "catalog_version": versions.get(cluster, 0),
            }
            for cluster, group in ((c, self._cluster(c)) for c in versions)
        }
        return {
            "name": names.DATASTORE_MANAGER,
            "role": "datastore_manager",
            "pid": os.getpid(),
            "clusters": clusters,
            "catalog": self._clusters.merged.token,
            **counters.snapshot(),
        }


def _checked_theater(table: Any) -> Theater:
    """An operator's theater, checked as the catalog file's would be; its events upcoming."""
    try:
        theater = theater_from_table(table, "the new theater")
    except CatalogError as exc:
        raise InvalidRequest(str(exc)) from None
    for event in theater.events:
        _upcoming(event)
    return theater


def _checked_event(table: Any, upcoming: bool = True) -> Event:
    """An operator's event, checked as the catalog file's would be, and (with ``upcoming``)
    not in the past."""
    if not isinstance(table, dict) or set(table) - {"id", "title", "starts_at", "sales"}:
        raise InvalidRequest("an event is a dict of 'id', 'title' and 'starts_at'")
    try:
        event = event_from_table(table, "the event")
    except CatalogError as exc:
        raise InvalidRequest(str(exc)) from None
    return _upcoming(event) if upcoming else event


def _upcoming(event: Event) -> Event:
    """``event`` if it starts later than now (this host's local time, as the catalog's are)."""
    starts = datetime.fromisoformat(event.starts_at)
    now = datetime.now(starts.tzinfo) if starts.tzinfo else datetime.now()
    if starts <= now:
        raise InvalidRequest(
            f"event {event.id} would start at {event.starts_at}, which is in the past "
            f"(now {now.isoformat(timespec='minutes')})"
        )
    return event


def main(argv: Sequence[str] | None = None) -> None:
    """``run/datastore_manager.py``: serve the manager until SIGINT/SIGTERM."""
    parser = common_parser(
        "Serve the data store manager: routes bookings to the data cluster of each theater, "
        "and changes the catalog for the operator.",
        catalog=True,
    )
    lock_groups_flag(parser)
    args = parser.parse_args(argv)
    catalog, _ = load_placement(args)
    secret = require_secret(args.data_dir)
    pool = ProxyPool(args.ns_host, args.ns_port, secret=secret)
    clusters = ClusterCatalogs(pool, catalog)
    clusters.start()
    try:
        manager = DataStoreManager(clusters, args.lock_groups)
        name = names.DATASTORE_MANAGER
        serve(manager, name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret)
    finally:
        clusters.stop()
        pool.close()
