"""Attacks from the network on a real cluster while a legitimate user books.

Quotas: 30 concurrent holds from one address get exactly the per-address cap,
and 30 concurrent bookings from one address exactly the booking cap (the
attackers call from other loopback addresses than the user, see
``source_address``). Replays: a member's hello captured on its way to one
daemon is refused by another, and a hello stamped in the future by any.
Logs: a flood of garbage connections and bad serializer ids leaves the
attacked processes' log files under their cap.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from cluster_fixture import LocalCluster
from conftest import CATALOGS, poll
from Pyro5 import protocol
from Pyro5.api import URI, Proxy
from Pyro5.errors import CommunicationError
from source_address import bind_sources, from_address

from ticketing import names
from ticketing.catalog import load_catalog
from ticketing.client.connection import Connection
from ticketing.errors import InvalidRequest, TicketingError, Unavailable
from ticketing.security.handshake import client_hello, target
from ticketing.security.secret import ENV_VAR
from ticketing.server.logs import BACKUPS_ENV, MAX_BYTES_ENV

CATALOG = CATALOGS / "hostile.toml"
HELD_CAP = load_catalog(CATALOG).max_held_seats_per_client
BOOKED_CAP = load_catalog(CATALOG).max_booked_seats_per_client
ATTACKERS = 30
LOG_CAP, LOG_BACKUPS = 16_384, 2  # bytes a log file rotates at, old files kept (the cluster's)
LONGEST_RECORD = 3_000  # bytes: a file may pass the cap by the record that made it rotate
FLOOD = 300  # garbage connections to each attacked process


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    small_logs = {MAX_BYTES_ENV: str(LOG_CAP), BACKUPS_ENV: str(LOG_BACKUPS)}
    running = LocalCluster(
        tmp_path_factory.mktemp("hostile"), CATALOG, load_balancers=1, env=small_logs
    ).start()
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def legitimate_user(cluster: LocalCluster, event: str) -> Iterator[list[Any]]:
    """A person on 127.0.0.1 holding and booking 2 seats at a time until the block ends.

    Yields the outcome of each of its bookings (a ticket, or the error).
    """
    outcomes: list[Any] = []
    stop = threading.Event()

    def books() -> None:
        conn = Connection("127.0.0.1", cluster.ns_port, call_timeout=15.0)
        try:
            while not stop.is_set() and len(outcomes) < BOOKED_CAP // 2:
                try:
                    hold = conn.call("block_best_available", "ARENA", event, 2)
                    outcomes.append(conn.book_ticket(hold["hold_id"], "Ada", "ada@example.com"))
                except TicketingError as exc:
                    outcomes.append(exc)
        finally:
            conn.close()

    user = threading.Thread(target=books)
    user.start()
    try:
        yield outcomes
        poll(lambda: outcomes, timeout=60, message="the user's first booking")
    finally:
        stop.set()
        user.join(60)
    assert outcomes, "the user booked nothing while under attack"
    assert all(isinstance(o, dict) for o in outcomes), outcomes


def at_once(count: int, attack: Callable[[int], Any]) -> list[Any]:
    """Run ``attack(n)`` for n in range(count) on threads started together; their outcomes."""
    outcomes: list[Any] = [None] * count
    start = threading.Barrier(count, timeout=30)

    def one(n: int) -> None:
        start.wait()
        try:
            outcomes[n] = attack(n)
        except Exception as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def call_from(address: str, uri: str, method: str, *args: Any) -> Any:
    """``method(*args)`` on ``uri`` from ``address``; a shed call comes back when told."""
    with from_address(address), Proxy(uri) as proxy:
        proxy._pyroTimeout = 30.0
        for _ in range(20):
            try:
                return getattr(proxy, method)(*args)
            except Unavailable as exc:
                time.sleep(exc.retry_after or 0.5)  # the balancer's own retry hint
        raise AssertionError(f"{method} shed 20 times")


def test_concurrent_holds_from_one_address_get_exactly_the_cap(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    bind_sources(monkeypatch)
    uri = str(cluster.pool.resolve(names.load_balancer(1)))

    def hold(n: int) -> Any:
        return call_from("127.0.0.2", uri, "block_best_available", "ARENA", "holds", 5)

    with legitimate_user(cluster, "holds"):
        outcomes = at_once(ATTACKERS, hold)
    granted = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, InvalidRequest)]
    assert sum(len(g["seats"]) for g in granted) == HELD_CAP, outcomes
    assert len(refused) == ATTACKERS - len(granted), outcomes
    assert all("at most 10 at once from one address" in str(r) for r in refused), refused[0]


def test_concurrent_bookings_from_one_address_get_exactly_the_cap(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    bind_sources(monkeypatch)
    uri = str(cluster.pool.resolve(names.load_balancer(1)))
    # 30 one-seat holds, each from an address of its own (one address may hold 10 seats).
    holds = at_once(
        ATTACKERS,
        lambda n: call_from(f"127.0.1.{n + 1}", uri, "block_best_available", "ARENA", "books", 1),
    )
    assert all(isinstance(h, dict) for h in holds), holds

    def book(n: int) -> Any:
        return call_from("127.0.0.3", uri, "book_ticket", holds[n]["hold_id"], "Eve", "e@x.org")

    with legitimate_user(cluster, "books"):
        outcomes = at_once(ATTACKERS, book)
    booked = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, InvalidRequest)]
    assert len(booked) == BOOKED_CAP, outcomes
    assert len(refused) == ATTACKERS - BOOKED_CAP, outcomes
    assert all("booked from your address already" in str(r) for r in refused), refused[0]


# --- replayed and future-stamped handshakes ------------------------------------------------


def handshake_with(uri: Any, hello: dict[str, Any]) -> None:
    """Connect to ``uri`` sending ``hello`` as a member would, and ask its status."""
    with Proxy(uri) as proxy:
        proxy._pyroTimeout = 10.0
        proxy._pyroSerializer = "msgpack"  # what members speak
        proxy._pyroHandshake = hello
        proxy.status()


def test_a_captured_handshake_is_refused_by_another_member_and_a_future_one_by_all(
    cluster: LocalCluster,
) -> None:
    secret = os.environ[ENV_VAR]
    one, two = (URI(cluster.pool.resolve(names.lock_server(i), refresh=True)) for i in (1, 2))
    # What a member sends lock server 2 (an attacker on the path records it).
    captured = client_hello(secret, time.time(), target(two.object, two.location))
    with legitimate_user(cluster, "replays"):
        with pytest.raises(CommunicationError, match=r"meant for ticketing\.lock\.server\.2@"):
            handshake_with(one, captured)  # replayed to another member
        handshake_with(two, captured)  # the member's own connection
        with pytest.raises(CommunicationError, match="handshake replayed"):
            handshake_with(two, captured)  # replayed to the same one
        for uri in (one, two):
            future = client_hello(secret, time.time() + 299, target(uri.object, uri.location))
            with pytest.raises(CommunicationError, match=r"stamped \+\d+ s"):
                handshake_with(uri, future)


# --- log flooding ------------------------------------------------------------------------


def send_garbage(uri: URI, payload: bytes) -> None:
    """Open a connection to ``uri``, send ``payload`` and nothing more, read the answer, close.

    The write side is shut: a payload shorter than a message header is then
    seen whole at once, not waited for until the server's hello deadline.
    """
    # The server may have closed it already: OSError.
    with (
        socket.create_connection((uri.host, uri.port), timeout=10) as sock,
        contextlib.suppress(OSError),
    ):
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(4096)


def test_a_flood_of_garbage_connections_leaves_the_logs_under_their_cap(
    cluster: LocalCluster,
) -> None:
    """Each bad serializer id cost 2.7 KB of traceback in two files, without end."""
    attacked = {
        "lock server": URI(cluster.pool.resolve(names.lock_server(1))),
        "load balancer": URI(cluster.pool.resolve(names.load_balancer(1))),
    }
    bad_serializer = protocol.SendingMessage(protocol.MSG_CONNECT, 0, 1, 99, b"x" * 50).data
    payloads = [bad_serializer, b"GET / HTTP/1.0\r\n\r\n", b"PYRO" + bytes(range(256)) * 4]
    with legitimate_user(cluster, "floods"):
        for n in range(FLOOD):
            for uri in attacked.values():
                send_garbage(uri, payloads[n % len(payloads)])
    logs = cluster.data_dir / "logs"

    def logged(component: str) -> str:
        return "".join(f.read_text(errors="replace") for f in logs.glob(f"{component}*"))

    # A member's door refuses them unread and sums them up, a short line per
    # period (members_server): their counts add up to every bad serializer sent...
    bad_serializers = len(range(0, FLOOD, len(payloads)))

    def summaries() -> list[str]:
        return [
            line
            for line in logged("ticketing.lock.server.1.").splitlines()
            if "refused connections in the last" in line and "another serializer" in line
        ]

    def summed() -> int:
        counts = re.findall(r"(\d+) \(a hello in another serializer", "\n".join(summaries()))
        return sum(int(count) for count in counts)

    poll(lambda: summed() == bad_serializers, message="the lock server's refusal summaries")
    lines = summaries()
    assert len(lines) < bad_serializers, lines  # summed up, not a line each
    assert all(len(line) < 300 for line in lines), lines[0]
    assert "Traceback" not in logged("ticketing.lock.server.1.")
    assert "serving a request from 127.0.0.1 failed: KeyError: 99" in logged(
        "ticketing.loadbalancer.1."
    )
    # ... and every file (the launcher's .out files too) stays under the cap.
    files = sorted(logs.iterdir())
    too_big = {
        f.name: f.stat().st_size for f in files if f.stat().st_size > LOG_CAP + LONGEST_RECORD
    }
    assert not too_big, too_big
    kept = Counter(f.name.rsplit(".", 1)[0] if f.suffix[1:].isdigit() else f.name for f in files)
    assert max(kept.values()) <= LOG_BACKUPS + 1, kept
