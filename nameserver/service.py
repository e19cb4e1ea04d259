"""Pyro5's name server with SQLite storage in the data directory.

Components keep working on cached addresses while the name server is down;
keeping its entries in ``<data_dir>/nameserver.sqlite`` means a restarted name
server answers at once with every registration it had, instead of waiting for
each component to notice and register again.

It is served by the load balancers' ``Multiplexer``, not Pyro5's thread pool:
on the pool every connected client holds a thread, so 300 idle connections
kept new clients out for as long as they stayed; and Pyro5's own multiplex
server reads each message to its end on its one thread, so one client sending
a byte every few seconds stalls every other. On the multiplexer an idle or
trickling connection costs a socket and a buffer until its deadline, and the
name server's calls (short SQLite reads and writes) run on a few workers.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from Pyro5.nameserver import NameServerDaemon

from ticketing import settings
from ticketing.server import pyro_config
from ticketing.server.hosting import stop_on_signals
from ticketing.server.logs import setup_logging
from ticketing.server.multiplexer import CrowdDaemon, CrowdLimits

log = logging.getLogger(__name__)

COMPONENT = "nameserver"
STORAGE_FILE = "nameserver.sqlite"
LIMITS = CrowdLimits(
    workers=settings.NS_WORKERS,
    deadline=settings.HELLO_DEADLINE,
    max_request_bytes=settings.NS_MAX_REQUEST_BYTES,
)


class CrowdNameServerDaemon(CrowdDaemon, NameServerDaemon):
    """Pyro5's name server daemon, its connections served by a ``Multiplexer``.

    ``CrowdDaemon`` makes the daemon under the multiplex server type and takes
    it over; its ``super().__init__`` is ``NameServerDaemon``'s (the MRO).
    """

    def __init__(self, limits: CrowdLimits = LIMITS, **kwargs: object) -> None:
        super().__init__(limits, None, **kwargs)


def storage_path(data_dir: str | Path) -> Path:
    """The SQLite file holding the name server's entries."""
    return Path(data_dir) / STORAGE_FILE


def run_name_server(host: str, port: int, data_dir: str | Path) -> None:
    """Serve the name server on ``host:port`` until SIGINT or SIGTERM."""
    setup_logging(data_dir, COMPONENT)
    pyro_config.configure()
    storage = storage_path(data_dir)
    storage.parent.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    stop_on_signals(stopping)
    try:
        daemon = CrowdNameServerDaemon(host=host, port=port, storage=f"sql:{storage}")
        uri = daemon.uriFor(daemon.nameserver)
        try:
            entries = daemon.nameserver.count()
            log.info("name server at %s with %d entries from %s", uri, entries, storage)
            print(f"name server running at {uri} (storage {storage})", flush=True)
            daemon.requestLoop(loopCondition=lambda: not stopping.is_set())
        finally:
            daemon.close()
    except KeyboardInterrupt:
        pass  # a signal arrived before the request loop started
    log.info("name server stopped")
