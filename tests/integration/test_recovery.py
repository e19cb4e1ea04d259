"""Every recovery path, with real processes: what comes back, and what it must have kept.

Each test starts ``run/cluster.py`` with the small catalog, books through a
load balancer, hurts one component (SIGKILL, a fresh empty disk, a second
coordinator, the name server gone) and checks afterwards that the replicas of
the cluster agree (equal applied index and digest), that every acknowledged
ticket is still there and that no seat is in two tickets.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import poll
from Pyro5.api import Proxy

from ticketing import names
from ticketing.client.connection import Connection
from ticketing.errors import TicketNotFound, Unavailable
from ticketing.server.coordinator_identity import standby_name

EAST = ("AMC", "alien")
EAST_REPLICAS = [names.datastore_replica("east", i) for i in (1, 2, 3)]
EAST_COORDINATOR = names.datastore_coordinator("east")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    running = LocalCluster(tmp_path / "data").start()
    yield running
    running.stop()


def book(lb: Proxy | Connection, seats: list[str], who: str = "Rita") -> dict:
    hold = lb.block_seats(*EAST, seats)
    return lb.book_ticket(hold["hold_id"], who, "rita@example.com")


def seat_feed() -> Iterator[str]:
    """Every seat of the small catalog's AMC (4 rows of 6), once."""
    return (f"{row}{n}" for row, n in itertools.product("ABCD", range(1, 7)))


def east_agrees(cluster: LocalCluster) -> bool:
    return len(set(cluster.digests(EAST_REPLICAS).values())) == 1


def assert_intact(cluster: LocalCluster, tickets: list[dict], cancelled: list[dict] = ()) -> None:
    """Replicas agree, every acknowledged ticket is readable, no seat is sold twice,
    every acknowledged cancel stands."""
    poll(lambda: east_agrees(cluster), timeout=60, message="east replicas to agree")
    lb = cluster.load_balancer(2)
    # Ticket reads pass a read barrier: Unavailable (retry) until a coordinator leads.
    if tickets:
        first = tickets[0]["ticket_no"]
        poll(lambda: lb.get_ticket_details("AMC", first), timeout=60, message="a leader")
    for ticket in cancelled:
        with pytest.raises(TicketNotFound):
            lb.get_ticket_details("AMC", ticket["ticket_no"])
    seats = [seat for ticket in tickets for seat in ticket["seats"]]
    assert len(seats) == len(set(seats)), f"a seat is in two tickets: {tickets}"
    for ticket in tickets:
        assert lb.get_ticket_details("AMC", ticket["ticket_no"]) == ticket
    rows = lb.get_seat_map(*EAST)["rows"]
    booked = {s["seat"] for row in rows for s in row if s["state"] == "booked"}
    assert set(seats) <= booked  # plus, maybe, bookings whose reply was lost


class Bookers:
    """Clients booking one seat at a time in the background, cancelling three tickets in four.

    Cancelled seats go back to the pool, so the load lasts as long as the
    test needs it. ``tickets`` are the live acknowledged tickets,
    ``cancelled`` the ones whose cancel was acknowledged; a ticket whose
    cancel failed is in neither (it may or may not be live).
    """

    def __init__(self, cluster: LocalCluster, clients: int = 3) -> None:
        self.cluster = cluster
        self.free = list(seat_feed())
        self.tickets: list[dict] = []
        self.cancelled: list[dict] = []
        self.errors: list[Exception] = []
        self.booked = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(1 + n % 2,), daemon=True)
            for n in range(clients)
        ]

    def __enter__(self) -> Bookers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def count(self) -> int:
        """Bookings acknowledged so far."""
        with self._lock:
            return self.booked

    def _run(self, balancer: int) -> None:
        lb = self.cluster.load_balancer(balancer)
        while not self._stop.is_set():
            with self._lock:
                seat = self.free.pop(0) if self.free else None
            if seat is None:
                return
            try:
                ticket = book(lb, [seat])
            except Exception as exc:  # Unavailable or a timeout while something is down
                with self._lock:
                    self.errors.append(exc)
                    self.free.append(seat)  # held by a stray hold for now, or booked after all
                continue
            with self._lock:
                self.booked += 1
                keep = self.booked % 4 == 0
                if keep:
                    self.tickets.append(ticket)
            if keep:
                continue
            try:
                lb.delete_ticket("AMC", ticket["ticket_no"])
            except Exception as exc:  # its outcome is unknown: in neither list
                with self._lock:
                    self.errors.append(exc)
                continue
            with self._lock:
                self.cancelled.append(ticket)
                self.free.append(seat)


def test_replica_restarted_on_its_own_disk_catches_up(cluster: LocalCluster) -> None:
    lb = cluster.load_balancer(1)
    tickets = [book(lb, ["A1"]), book(lb, ["A2", "A3"])]
    cluster.kill("datastore-east-3")
    tickets += [book(lb, ["B1"]), book(lb, ["B2"])]  # decided without it
    cluster.restart("datastore-east-3")
    assert_intact(cluster, tickets)
    assert cluster.status(EAST_REPLICAS[2])["applied_index"] >= 4


def test_replica_with_an_empty_disk_recovers_from_a_running_one(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    lb = cluster.load_balancer(1)
    tickets = [book(lb, [seat]) for seat in ("A1", "A2", "A3")]
    cluster.kill("datastore-east-3")
    tickets.append(book(lb, ["A4"]))
    empty = tmp_path / "new-disk"
    empty.mkdir()
    cluster.restart(
        "datastore-east-3", "--data-dir", str(empty), "--recover-from", EAST_REPLICAS[0]
    )
    poll(lambda: east_agrees(cluster), timeout=60, message="the new replica to copy the state")
    assert (empty / "datastore" / "east" / "replica-3.sqlite").exists()
    # It now counts in the quorum: with replica 1 gone, 2 and 3 decide.
    cluster.kill("datastore-east-1")
    tickets.append(book(lb, ["C1"]))
    cluster.restart("datastore-east-1")
    assert_intact(cluster, tickets)


def test_coordinator_killed_mid_burst_and_restarted(cluster: LocalCluster) -> None:
    before = cluster.status(EAST_COORDINATOR)["ballot"]
    with Bookers(cluster) as bookers:
        poll(lambda: bookers.count() >= 3, message="bookings before the kill")
        cluster.kill("datastore_coordinator-east")
        cluster.restart("datastore_coordinator-east")
        after_restart = bookers.count()
        poll(lambda: bookers.count() >= after_restart + 3, timeout=60, message="writes to resume")
    assert_intact(cluster, bookers.tickets, bookers.cancelled)
    status = cluster.status(EAST_COORDINATOR)
    assert status["state"] == "leading"
    assert status["ballot"] != before, "the restarted coordinator reused its ballot"


def test_a_standby_coordinator_competes_through_ballots(cluster: LocalCluster) -> None:
    standby = standby_name(EAST_COORDINATOR)
    cluster.restart("datastore_coordinator-east", "--standby", as_label="standby-east")
    poll(lambda: cluster.status(standby)["state"], message="the standby to answer")
    assert cluster.status(EAST_COORDINATOR)["state"] == "leading"
    with Bookers(cluster) as bookers:
        poll(lambda: bookers.count() >= 3, message="bookings beside the standby")
        cluster.kill("datastore_coordinator-east")
        killed_at = bookers.count()
        poll(lambda: bookers.count() >= killed_at + 3, timeout=60, message="the standby to lead")
        assert cluster.status(standby)["state"] == "leading"
        cluster.restart("datastore_coordinator-east")  # both run again, ballots decide
        restarted_at = bookers.count()
        poll(lambda: bookers.count() >= restarted_at + 3, timeout=60, message="writes with both")
    assert_intact(cluster, bookers.tickets, bookers.cancelled)
    states = {cluster.status(name)["state"] for name in (EAST_COORDINATOR, standby)}
    assert "leading" in states, f"neither coordinator leads: {states}"


def test_manager_down_known_routes_book_on_and_restarts(cluster: LocalCluster) -> None:
    """A balancer asks the manager for a theater's route once, then books without it."""
    lb = cluster.load_balancer(1)
    tickets = [book(lb, ["A1"])]
    cluster.kill("datastore_manager")
    tickets.append(book(lb, ["A2"]))  # the route is known: no manager needed
    cluster.kill("load_balancer-1")
    cluster.restart("load_balancer-1")
    fresh = cluster.load_balancer(1)
    with pytest.raises(Unavailable, match="manager"):
        book(fresh, ["A3"])  # a new balancer has no route yet, and nothing is half-done
    cluster.restart("datastore_manager")
    tickets.append(poll(lambda: book(fresh, ["A3"]), message="a booking after the restarts"))
    assert_intact(cluster, tickets)


def test_name_server_stopped_and_started(cluster: LocalCluster) -> None:
    lb = cluster.load_balancer(1)
    tickets = [book(lb, ["A1"])]
    everyone = {c.name for c in cluster.components.values() if c.name is not None}
    cluster.kill_name_server()
    tickets.append(book(lb, ["A2"]))  # on cached proxies
    cluster.restart("nameserver")
    poll(
        lambda: everyone <= set(cluster.name_server().list(prefix=names.ROOT)),
        timeout=30,
        message="every component to register again",
    )
    tickets.append(book(cluster.load_balancer(2), ["A3"]))
    assert_intact(cluster, tickets)


def test_client_fails_over_between_load_balancers(cluster: LocalCluster) -> None:
    client = Connection("127.0.0.1", cluster.ns_port, call_timeout=10.0)
    try:
        tickets = [book(client, ["A1"])]
        first = client.current
        assert first is not None
        killed = f"load_balancer-{first.rsplit('.', 1)[-1]}"
        cluster.kill(killed)
        tickets.append(book(client, ["A2"]))
        assert client.current not in (None, first)
        assert client.get_ticket_details("AMC", tickets[0]["ticket_no"]) == tickets[0]
    finally:
        client.close()
    cluster.restart(killed)
    assert_intact(cluster, tickets)


def test_a_paused_coordinator_is_replaced_by_the_standby_and_rejoins(
    cluster: LocalCluster,
) -> None:
    """SIGSTOP longer than every timeout: the standby takes over, the old leader wakes up
    with a stale ballot and must not decide anything the others did not."""
    standby = standby_name(EAST_COORDINATOR)
    cluster.restart("datastore_coordinator-east", "--standby", as_label="standby-east")
    poll(lambda: cluster.status(standby)["state"], message="the standby to answer")
    with Bookers(cluster) as bookers:
        poll(lambda: bookers.count() >= 3, message="bookings before the pause")
        pid = cluster.pause("datastore_coordinator-east")
        try:
            paused_at = bookers.count()
            poll(lambda: bookers.count() >= paused_at + 3, timeout=60, message="the standby")
        finally:
            cluster.resume(pid)
        resumed_at = bookers.count()
        poll(lambda: bookers.count() >= resumed_at + 3, timeout=60, message="writes after SIGCONT")
    assert_intact(cluster, bookers.tickets, bookers.cancelled)
