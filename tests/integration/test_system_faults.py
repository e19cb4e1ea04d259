"""The whole system under load and failure: real processes, real name server, real SQLite.

Each test starts ``run/cluster.py`` on its own data directory with the small
test catalog (two data clusters, holds of a few seconds).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import poll
from Pyro5.api import Proxy

from ticketing import names
from ticketing.domain.seat_commands import Booking
from ticketing.errors import HoldExpired, HoldNotFound, SeatsUnavailable, TicketingError
from ticketing.server.data_routes import DataRoutes

CLUSTERS = {"east": ("AMC", "dune"), "west": ("REG", "arrival")}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    running = LocalCluster(tmp_path / "data").start()
    yield running
    running.stop()


def replicas_agree(cluster: LocalCluster, replica_names: list[str]) -> bool:
    states = set(cluster.digests(replica_names).values())
    return len(states) == 1


def all_replicas_agree(cluster: LocalCluster, data_replicas: int = 3) -> bool:
    groups = [[names.lock_server(i) for i in range(1, 4)]]
    groups += [
        [names.datastore_replica(c, i) for i in range(1, data_replicas + 1)] for c in CLUSTERS
    ]
    return all(replicas_agree(cluster, group) for group in groups)


def booked_seats(lb: Proxy, theater: str, event: str) -> set[str]:
    rows = lb.get_seat_map(theater, event)["rows"]
    return {s["seat"] for row in rows for s in row if s["state"] == "booked"}


def test_concurrent_clients_never_double_book(cluster: LocalCluster) -> None:
    """16 clients fight over 8 seats; every seat ends in at most one live booking."""
    hot = ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4"]
    tickets: list[dict] = []
    refusals: list[Exception] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def client(n: int) -> None:
        lb = cluster.load_balancer(1 + n % 2)
        rng = random.Random(n)
        start.wait()
        for _ in range(4):
            seats = rng.sample(hot, 2)
            try:
                hold = lb.block_seats("AMC", "alien", seats)
                ticket = lb.book_ticket(hold["hold_id"], f"client {n}", f"c{n}@example.com")
            except (SeatsUnavailable, HoldExpired, HoldNotFound) as exc:
                with lock:
                    refusals.append(exc)
                continue
            with lock:
                tickets.append(ticket)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    seats = [seat for ticket in tickets for seat in ticket["seats"]]
    assert len(seats) == len(set(seats)), f"a seat is in two bookings: {tickets}"
    assert tickets, "nobody managed to book"
    assert any(isinstance(r, SeatsUnavailable) for r in refusals), "no contention happened"
    lb = cluster.load_balancer(1)
    assert booked_seats(lb, "AMC", "alien") == set(seats)
    for ticket in tickets:
        assert lb.get_ticket_details("AMC", ticket["ticket_no"]) == ticket
    poll(lambda: all_replicas_agree(cluster), message="replicas to reach equal digests")


def test_abandoned_hold_frees_its_seats_and_cannot_book(cluster: LocalCluster) -> None:
    lb = cluster.load_balancer(1)
    hold = lb.block_seats("REG", "arrival", ["C1", "C2"])
    assert "C1" not in lb.get_available_seats("REG", "arrival")
    # The catalog's hold_ttl is 4 s: no client action frees the seats.
    poll(
        lambda: {"C1", "C2"} <= set(lb.get_available_seats("REG", "arrival")),
        timeout=30,
        message="the abandoned hold to expire",
    )
    with pytest.raises((HoldExpired, HoldNotFound)):
        lb.book_ticket(hold["hold_id"], "Late Larry", "larry@example.com")
    assert not {"C1", "C2"} & booked_seats(lb, "REG", "arrival")


def test_data_store_refuses_expired_and_superseded_holds(cluster: LocalCluster) -> None:
    """Even if a load balancer misbehaves, the data store checks expiry and fencing itself.

    Played by booking as a balancer does (``DataRoutes``), with holds the lock store never granted.
    """
    data = DataRoutes(cluster.pool)
    lb = cluster.load_balancer(1)
    future = time.time() + 600

    def book(ticket_no: str, hold_id: str, seat: str, fence: int, expires_at: float) -> None:
        booking = Booking(
            ticket_no, hold_id, "REG", "arrival", (seat,), "X", "x@y.z", fence, expires_at
        )
        data.call("REG", "book", booking.to_plain())

    with pytest.raises(HoldExpired):  # expiry decided at the coordinator's stamped time
        book("t-expired", "h-expired", "A1", 1, 1.0)

    hold = lb.block_seats("REG", "arrival", ["A2"])
    ticket = lb.book_ticket(hold["hold_id"], "New Nina", "nina@example.com")
    lb.delete_ticket("REG", ticket["ticket_no"])
    stale_fence = 0  # older than the token the last booking of A2 used
    with pytest.raises(HoldExpired, match="superseded"):
        book("t-stale", "h-stale", "A2", stale_fence, future)
    assert "A2" in lb.get_available_seats("REG", "arrival")


def test_sigkill_of_replicas_and_a_lock_server_loses_no_booking(cluster: LocalCluster) -> None:
    acknowledged: list[dict] = []
    failures: list[Exception] = []
    booked_after_kill = threading.Event()
    killed = threading.Event()
    stop = threading.Event()
    lock = threading.Lock()
    free = {
        theater: [s for s in cluster.load_balancer(1).get_available_seats(theater, event)]
        for theater, event in CLUSTERS.values()
    }

    def client(n: int, theater: str, event: str) -> None:
        lb = cluster.load_balancer(1 + n % 2)
        while not stop.is_set():
            with lock:
                if not free[theater]:
                    return
                seat = free[theater].pop()
            try:
                hold = lb.block_seats(theater, event, [seat])
                ticket = lb.book_ticket(hold["hold_id"], f"c{n}", f"c{n}@example.com")
            except TicketingError as exc:  # Unavailable while a replica is down is fine
                with lock:
                    failures.append(exc)
                continue
            with lock:
                acknowledged.append(ticket)
            if killed.is_set():
                booked_after_kill.set()

    threads = [
        threading.Thread(target=client, args=(n, *CLUSTERS[c]))
        for n, c in enumerate(["east", "west"] * 3)
    ]
    for thread in threads:
        thread.start()
    poll(lambda: len(acknowledged) >= 4, message="some bookings before the kills")
    for label in ("datastore-east-2", "datastore-west-3", "lock_server-2"):
        cluster.kill(label)
    killed.set()
    booked_after_kill.wait(timeout=60)
    stop.set()
    for thread in threads:
        thread.join()
    assert booked_after_kill.is_set(), f"no booking after the kills; failures: {failures[-3:]}"

    for label in ("datastore-east-2", "datastore-west-3", "lock_server-2"):
        cluster.restart(label)
    poll(lambda: all_replicas_agree(cluster), timeout=60, message="restarted replicas to catch up")
    lb = cluster.load_balancer(2)
    for ticket in acknowledged:
        assert lb.get_ticket_details(ticket["theater"], ticket["ticket_no"]) == ticket


def test_whole_cluster_restart_keeps_acknowledged_bookings(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = LocalCluster(data_dir).start()
    try:
        lb = first.load_balancer(1)
        kept = []
        for seats in (["A1"], ["A2", "A3"], ["B1"]):
            hold = lb.block_seats("AMC", "dune", seats)
            kept.append(lb.book_ticket(hold["hold_id"], "Keeper", "keep@example.com"))
        hold = lb.block_seats("REG", "arrival", ["A1"])
        cancelled = lb.book_ticket(hold["hold_id"], "Canceller", "cancel@example.com")
        assert lb.delete_ticket("REG", cancelled["ticket_no"]) is True
    finally:
        assert first.stop() == 0

    second = LocalCluster(data_dir).start()
    try:
        lb = second.load_balancer(2)
        # Unavailable (safe to retry) until the restarted coordinators lead again.
        poll(lambda: lb.get_ticket_details("AMC", kept[0]["ticket_no"]), message="a leader")
        for ticket in kept:
            assert lb.get_ticket_details("AMC", ticket["ticket_no"]) == ticket
        assert booked_seats(lb, "AMC", "dune") == {"A1", "A2", "A3", "B1"}
        with pytest.raises(TicketingError):
            lb.get_ticket_details("REG", cancelled["ticket_no"])
        assert "A1" in lb.get_available_seats("REG", "arrival")
    finally:
        assert second.stop() == 0


def test_serves_on_cached_proxies_while_the_name_server_is_down(cluster: LocalCluster) -> None:
    lb = cluster.load_balancer(1)
    hold = lb.block_seats("AMC", "dune", ["D1"])  # warms every cache on the path
    lb.book_ticket(hold["hold_id"], "Warm", "warm@example.com")
    cluster.status(names.datastore_replica("east", 1))  # the test, too, knows where it is
    replicas = [names.datastore_replica("east", i) for i in (2, 3)]
    poll(
        lambda: all(cluster.status(n)["peers_resolved"] for n in replicas),
        message="replicas to have looked up their coordinator and peers",
    )

    cluster.kill_name_server()
    assert [t["theater"] for t in lb.list_theaters()] == ["AMC", "REG"]
    # With the replica the manager prefers gone too, another replica must reach
    # its coordinator on an address it looked up at start, never having called it.
    cluster.kill("datastore-east-1")
    hold = lb.block_seats("AMC", "dune", ["D2"])
    ticket = lb.book_ticket(hold["hold_id"], "Offline", "offline@example.com")
    assert lb.get_ticket_details("AMC", ticket["ticket_no"]) == ticket

    cluster.restart("nameserver")
    poll(
        lambda: names.load_balancer(1) in cluster.name_server().list(prefix=names.ROOT),
        message="components to register again with the restarted name server",
    )
