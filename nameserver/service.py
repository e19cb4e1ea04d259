"""Pyro5's name server with SQLite storage in the data directory.

Components keep working on cached addresses while the name server is down;
keeping its entries in ``<data_dir>/nameserver.sqlite`` means a restarted name
server answers at once with every registration it had, instead of waiting for
each component to notice and register again.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from Pyro5.nameserver import start_ns

from ticketing.server import pyro_config
from ticketing.server.hosting import stop_on_signals
from ticketing.server.logs import setup_logging

log = logging.getLogger(__name__)

COMPONENT = "nameserver"
STORAGE_FILE = "nameserver.sqlite"


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
        uri, daemon, _ = start_ns(host, port, enableBroadcast=False, storage=f"sql:{storage}")
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
