"""The contract's name-server names, built in one place.

Every component finds its peers only through these names, so a typo here would
split the cluster silently; building them in one module keeps the scheme (and
the prefixes used to list a group of peers) consistent between servers, the
launcher and tests.
"""

from __future__ import annotations

ROOT = "ticketing."

LOCK_PREFIX = "ticketing.lock."
DATASTORE_PREFIX = "ticketing.datastore."
DATASTORE_MANAGER = "ticketing.datastore.manager"
LOAD_BALANCER_PREFIX = "ticketing.loadbalancer."


def lock_group_prefix(group: int | None = None) -> str:
    """Prefix of lock group ``group``'s names; ``None`` is the only group of a one-group store.

    With one group the names keep the contract's first form
    (``ticketing.lock.server.<id>``), with several each carries its group
    (``ticketing.lock.<group>.server.<id>``).
    """
    return LOCK_PREFIX if group is None else f"{LOCK_PREFIX}{_part(group)}."


def lock_server_prefix(group: int | None = None) -> str:
    """Prefix that lists exactly the lock servers of ``group``."""
    return f"{lock_group_prefix(group)}server."


def lock_server(server_id: int | str, group: int | None = None) -> str:
    """Name of lock server ``server_id`` of ``group``."""
    return f"{lock_server_prefix(group)}{_part(server_id)}"


def lock_coordinator(group: int | None = None) -> str:
    """Name of the coordinator of lock group ``group``."""
    return f"{lock_group_prefix(group)}coordinator"


def datastore_cluster_prefix(cluster: str) -> str:
    """Prefix shared by a data cluster's replicas and coordinator."""
    return f"{DATASTORE_PREFIX}{_part(cluster)}."


def datastore_replica_prefix(cluster: str) -> str:
    """Prefix that lists exactly the replicas of ``cluster``."""
    return f"{datastore_cluster_prefix(cluster)}replica."


def datastore_replica(cluster: str, replica_id: int | str) -> str:
    """Name of data-store replica ``replica_id`` of ``cluster``."""
    return f"{datastore_replica_prefix(cluster)}{_part(replica_id)}"


def datastore_coordinator(cluster: str) -> str:
    """Name of the coordinator of data cluster ``cluster``."""
    return f"{datastore_cluster_prefix(cluster)}coordinator"


def load_balancer(balancer_id: int | str) -> str:
    """Name of load balancer ``balancer_id``."""
    return f"{LOAD_BALANCER_PREFIX}{_part(balancer_id)}"


def _part(value: int | str) -> str:
    """One dot-free, non-empty segment: a dot inside an id would make prefixes ambiguous."""
    text = str(value)
    if not text or "." in text or any(ch.isspace() for ch in text):
        raise ValueError(f"invalid name segment {text!r}: needs text without dots or spaces")
    return text
