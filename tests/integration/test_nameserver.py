"""The name server keeps its entries in the data directory across restarts."""

from pathlib import Path

from conftest import NameServer

from nameserver import storage_path

ENTRY = "ticketing.test.entry"
URI = "PYRO:ticketing.test.entry@127.0.0.1:1"


def test_registrations_survive_a_crash_and_restart(nameserver: NameServer, data_dir: Path) -> None:
    with nameserver.proxy() as ns:
        ns.register(ENTRY, URI)
    assert storage_path(data_dir).is_file()

    nameserver.kill()
    nameserver.start()

    with nameserver.proxy() as ns:
        assert str(ns.lookup(ENTRY)) == URI


def test_sigterm_stops_it_cleanly(nameserver: NameServer) -> None:
    assert nameserver.stop() == 0
