"""Supervision with real processes: what dies after READY comes back, and the standby leads.

One cluster (``run/cluster.py`` supervising, with the small catalog) serves a
user who books and cancels through the client library the whole time; the
tests SIGKILL a data replica, a load balancer and the lock coordinator, and
check that the launcher restarted each (a new pid answers), that the standby
lock coordinator took over, and that the user's bookings went on.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest
from cluster_fixture import LocalCluster
from conftest import poll
from Pyro5.errors import PyroError

from ticketing import names
from ticketing.client.connection import Connection
from ticketing.errors import TicketingError
from ticketing.server.coordinator_identity import standby_name

WHERE = ("AMC", "dune")
THINK_TIME = 0.1  # seconds between one booking of the user and the next
EAST_REPLICAS = [names.datastore_replica("east", i) for i in (1, 2, 3)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    data_dir = tmp_path_factory.mktemp("supervised") / "data"
    running = LocalCluster(data_dir, supervised=True).start()
    yield running
    running.stop()


class User:
    """A legitimate user booking one seat and cancelling it, again and again."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.connection = Connection("127.0.0.1", cluster.ns_port, call_timeout=5.0)
        self.errors: list[Exception] = []
        self._booked = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> User:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.connection.close()

    def booked(self) -> int:
        with self._lock:
            return self._booked

    def books_on(self, more: int = 2) -> None:
        """Wait until ``more`` bookings were acknowledged from now on."""
        start = self.booked()
        poll(lambda: self.booked() >= start + more, timeout=60, message=f"{more} more bookings")

    def _run(self) -> None:
        while not self._stop.wait(THINK_TIME):
            try:
                hold = self.connection.block_best_available(*WHERE, 1)
                ticket = self.connection.book_ticket(hold["hold_id"], "Rita", "rita@example.com")
                with self._lock:
                    self._booked += 1
                self.connection.delete_ticket(WHERE[0], ticket["ticket_no"])
            except (TicketingError, PyroError) as exc:  # while something is down
                self.errors.append(exc)


def restarted(cluster: LocalCluster, label: str) -> None:
    """SIGKILL ``label`` and wait until the launcher's restart of it answers."""
    name = cluster.components[label].name
    old = cluster.status(name)["pid"]
    cluster.kill(label)
    poll(lambda: cluster.status(name)["pid"] != old, timeout=60, message=f"{label} restarted")


def test_a_killed_replica_and_load_balancer_come_back_while_a_user_books(
    cluster: LocalCluster,
) -> None:
    with User(cluster) as user:
        user.books_on()
        restarted(cluster, "datastore-east-2")
        user.books_on()
        restarted(cluster, "load_balancer-1")
        user.books_on()
    # The replica recovered from its own disk and caught up with its peers.
    poll(
        lambda: (
            len({(s["applied_index"], s["digest"]) for s in map(cluster.status, EAST_REPLICAS)})
            == 1
        ),
        timeout=60,
        message="east replicas to agree",
    )
    with cluster.load_balancer(1) as balancer:  # the new balancer serves
        hold = balancer.block_best_available(*WHERE, 1)
        ticket = balancer.book_ticket(hold["hold_id"], "Rita", "rita@example.com")
        assert balancer.get_ticket_details(WHERE[0], ticket["ticket_no"]) == ticket
        balancer.delete_ticket(WHERE[0], ticket["ticket_no"])


def test_the_standby_lock_coordinator_takes_over_then_the_old_one_comes_back(
    cluster: LocalCluster,
) -> None:
    main = names.lock_coordinator()
    standby = standby_name(main)
    assert cluster.status(standby)["role"] == "lock coordinator (standby)"
    old = cluster.status(main)["pid"]
    launcher = cluster.launcher_pid()
    with User(cluster) as user:
        user.books_on()
        # Held back, the launcher cannot restart the main one: only the standby can lead.
        os.kill(launcher, signal.SIGSTOP)
        try:
            cluster.kill("lock_coordinator")
            poll(lambda: cluster.status(standby)["state"] == "leading", message="the standby")
            user.books_on()
        finally:
            os.kill(launcher, signal.SIGCONT)
        poll(lambda: cluster.status(main)["pid"] != old, timeout=60, message="main restarted")
        user.books_on()
