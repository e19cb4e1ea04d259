"""hosting.serve: registers, keeps the entry, refuses a duplicate, stops cleanly."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import pytest
from conftest import NameServer, Processes, poll
from Pyro5.api import Proxy
from Pyro5.errors import NamingError
from Pyro5.errors import TimeoutError as PyroTimeoutError

from ticketing.server.logs import log_path, setup_logging

FAKE = "tests/fake_component.py"
NAME = "ticketing.fake.1"


def lookup(nameserver: NameServer, name: str) -> str | None:
    with nameserver.proxy() as ns:
        try:
            return str(ns.lookup(name))
        except NamingError:
            return None


def status_of(uri: str) -> dict:
    with Proxy(uri) as proxy:
        proxy._pyroTimeout = 2.0
        return proxy.status()


def start_fake(processes: Processes, nameserver: NameServer, *extra: str):
    proc = processes.spawn(FAKE, *nameserver.flags, "--id", "1", *extra)
    uri = poll(lambda: lookup(nameserver, NAME), message=f"{NAME} in the name server")
    return proc, uri


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_registers_and_stops_cleanly(
    processes: Processes, nameserver: NameServer, data_dir: Path, sig: int
) -> None:
    proc, uri = start_fake(processes, nameserver)
    assert uri.startswith(f"PYRO:{NAME}@127.0.0.1:")
    assert status_of(uri) == {"name": NAME, "role": "fake", "pid": proc.pid}

    assert processes.stop(proc, sig) == 0
    assert lookup(nameserver, NAME) is None
    log = log_path(data_dir, NAME).read_text()
    assert f"INFO {NAME} " in log and "stopped" in log


def test_registers_again_when_the_entry_is_lost(
    processes: Processes, nameserver: NameServer
) -> None:
    _, uri = start_fake(processes, nameserver)
    with nameserver.proxy() as ns:
        ns.remove(NAME)
    assert poll(lambda: lookup(nameserver, NAME) == uri, message="the entry to come back")


def test_registers_with_a_name_server_restarted_empty(
    processes: Processes, nameserver: NameServer, tmp_path: Path
) -> None:
    _, uri = start_fake(processes, nameserver)
    nameserver.kill()
    fresh = NameServer(processes, nameserver.port, tmp_path / "fresh-ns")
    fresh.start()
    assert poll(lambda: lookup(fresh, NAME) == uri, message="registration on the new name server")


def test_takes_over_a_stale_entry_but_not_a_live_one(
    processes: Processes, nameserver: NameServer
) -> None:
    first, first_uri = start_fake(processes, nameserver)

    duplicate = processes.spawn(FAKE, *nameserver.flags, "--id", "1")
    assert duplicate.wait(20) != 0
    assert "already served by a running process" in processes.output(duplicate)
    assert lookup(nameserver, NAME) == first_uri

    processes.kill(first)  # a crash: the entry stays behind, pointing at nobody
    assert lookup(nameserver, NAME) == first_uri
    second = processes.spawn(FAKE, *nameserver.flags, "--id", "1")
    new_uri = poll(
        lambda: (uri := lookup(nameserver, NAME)) != first_uri and uri,
        message="the restarted component to take its name back",
    )
    assert status_of(new_uri)["pid"] == second.pid


def test_logs_name_the_component_and_keep_idle_timeouts_off_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        path = setup_logging(tmp_path, "comp-1")
        logging.getLogger("some.module").warning("disk %s", "full")
        logging.getLogger("Pyro5.threadpoolserver").warning(
            "error during handleRequest: %s", PyroTimeoutError("receiving: timeout")
        )
        logging.getLogger("some.module").info("quiet")
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(before[1])
    assert path == log_path(tmp_path, "comp-1")
    lines = path.read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "WARNING comp-1 [MainThread] some.module: disk full",
        "INFO comp-1 [MainThread] Pyro5.threadpoolserver: "
        "error during handleRequest: receiving: timeout",
        "INFO comp-1 [MainThread] some.module: quiet",
    ]
    err = capsys.readouterr().err
    assert "disk full" in err
    assert "receiving: timeout" not in err and "quiet" not in err


def test_bound_to_all_interfaces_it_advertises_a_reachable_address(
    processes: Processes, nameserver: NameServer
) -> None:
    proc, uri = start_fake(processes, nameserver, "--host", "0.0.0.0")
    assert "@0.0.0.0:" not in uri
    assert status_of(uri)["pid"] == proc.pid
