"""The ticketing client: a Python library, and the interactive client built on it.

A program books through ``connect``, which gives the load balancer's API (the
contract's methods and our extensions) with failover across the cluster's
balancers and retries of ``Unavailable`` with backoff::

    from ticketing.client import connect
    from ticketing.errors import SeatsUnavailable

    with connect("127.0.0.1", 9090, data_dir="data") as cluster:
        hold = cluster.block_best_available("AMC", "dune-1900", 2)
        ticket = cluster.book_ticket(hold["hold_id"], "Ada Lovelace", "ada@example.org")

Importing this package registers the error classes of ``ticketing.errors``
with Pyro5, so refusals arrive as themselves (``SeatsUnavailable`` with its
``.seats``), not as a ``SerializeError``.
"""

from __future__ import annotations

from pathlib import Path

from ticketing.client.connection import Connection
from ticketing.errors import register_with_pyro
from ticketing.security.cluster_key import find_cluster_key

__all__ = ["Connection", "connect"]

register_with_pyro()

RETRY_PATIENCE = 10.0  # seconds a library call retries Unavailable before giving up


def connect(
    ns_host: str = "127.0.0.1",
    ns_port: int = 9090,
    *,
    data_dir: str | Path | None = None,
    cluster_key: str | Path | None = None,
    retry_patience: float = RETRY_PATIENCE,
    call_timeout: float = 10.0,
) -> Connection:
    """The cluster whose name server is at ``ns_host:ns_port``, as its load balancers' API.

    Only balancers that prove they are the cluster's are used: the cluster's public key is
    ``cluster_key`` (a ``cluster.pub`` file), else ``<data_dir>/cluster.pub``, else derived
    from the cluster secret when this user can read it (``$TICKETING_SECRET`` or
    ``<data_dir>/cluster.secret``). A call refused with ``Unavailable`` by every balancer is
    tried again with growing pauses for up to ``retry_patience`` seconds. Use it in a
    ``with`` block, or ``close()`` it.
    """
    return Connection(
        ns_host,
        ns_port,
        cluster_key=find_cluster_key(cluster_key, data_dir),
        retry_patience=retry_patience,
        call_timeout=call_timeout,
    )
