"""A real partition: one data replica on its own host (network namespace) is cut off.

The name server, the lock store, the coordinators, the manager, the load
balancers and cluster ``west`` run on host 0; each replica of cluster
``east`` runs on a host of its own (1..3), with the launcher's command line
(``ticketing.launcher.plan``) and its own ``--host``. Cutting host 3 leaves
``east`` a majority, so bookings must go on; once healed, replica 3 must catch
up (equal digests) and every acknowledged ticket must still be there.

Needs root and iproute2; skipped with the reason elsewhere. Slow: run with
``-m slow``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixture import SMALL_CATALOG
from conftest import pick_free_port, poll

from ticketing import names
from ticketing.catalog import load_catalog
from ticketing.errors import SeatsUnavailable, Unavailable
from ticketing.faults.netns import Hosts, HostsUnavailable, unavailable_reason
from ticketing.launcher import RUN_DIR, Component, plan
from ticketing.server.proxies import ProxyPool

pytestmark = pytest.mark.slow

CLUSTER = "east"  # hosts theater AMC in the small catalog
REPLICAS = 3
READY_TIMEOUT = 120.0
BOOK_TIMEOUT = 60.0  # seconds one booking may take while a replica is cut off
CONVERGE_TIMEOUT = 90.0
STOP_GRACE = 10.0
LB_PATIENCE = 60.0  # seconds to wait for the load balancer's own answer


def _with_host(args: tuple[str, ...], address: str) -> tuple[str, ...]:
    """The launcher's arguments with ``--host`` set to ``address``."""
    out = list(args)
    out[out.index("--host") + 1] = address
    return tuple(out)


class SpreadCluster:
    """The small catalog's cluster, ``east``'s replicas each on a host of its own."""

    def __init__(self, hosts: Hosts, data_dir: Path) -> None:
        self.hosts = hosts
        self.data_dir = data_dir
        hub = hosts.address(0)
        self.ns_port = pick_free_port()
        options = argparse.Namespace(
            ns_host=hub,
            ns_port=self.ns_port,
            host=hub,
            data_dir=data_dir,
            catalog=SMALL_CATALOG,
            lock_replicas=3,
            data_replicas=REPLICAS,
            load_balancers=2,
        )
        self.placed: list[tuple[int, Component]] = []
        for component in plan(options, load_catalog(SMALL_CATALOG).clusters()):
            host = self.replica_host(component.label)
            if host:
                args = _with_host(component.args, hosts.address(host))
                component = Component(component.label, component.script, args, component.name)
            self.placed.append((host, component))
        self.pool = ProxyPool(hub, self.ns_port, timeout=3.0)
        self.procs: list[subprocess.Popen] = []

    @staticmethod
    def replica_host(label: str) -> int:
        """Host of ``datastore-east-<i>`` is ``i``; everything else is on host 0."""
        prefix = f"datastore-{CLUSTER}-"
        return int(label.removeprefix(prefix)) if label.startswith(prefix) else 0

    def start(self) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # TICKETING_SECRET set by conftest
        for i, (host, component) in enumerate(self.placed):
            argv = [sys.executable, str(RUN_DIR / component.script), *component.args]
            with open(logs / f"{component.label}.out", "ab") as sink:
                self.procs.append(
                    subprocess.Popen(
                        self.hosts.command(host, argv),
                        stdin=subprocess.DEVNULL,
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                )
            if i == 0:  # the name server first: the others register there
                poll(
                    lambda: self.pool.list(names.ROOT, refresh=True) is not None,
                    timeout=READY_TIMEOUT,
                    message="the name server on host 0",
                )
        for _, component in self.placed[1:]:
            poll(
                lambda c=component: self._answers(c),
                timeout=READY_TIMEOUT,
                message=f"{component.label} to answer status()",
            )

    def _answers(self, component: Component) -> bool:
        for proc in self.procs:
            if proc.poll() is not None:
                raise AssertionError(f"a process exited with {proc.returncode}: {proc.args}")
        return bool(self.pool.call(component.name, "status"))

    def stop(self) -> None:
        """SIGTERM everything at once, then SIGKILL what is left (also if interrupted)."""
        try:
            for proc in self.procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in self.procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(STOP_GRACE)
        finally:
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self.pool.close()

    def cut_off(self, replica: int) -> bool:
        """Replica ``replica`` of east runs on, yet does not answer: a partition, not a crash."""
        label = f"datastore-{CLUSTER}-{replica}"
        index = next(i for i, (_, c) in enumerate(self.placed) if c.label == label)
        assert self.procs[index].poll() is None, f"{label} exited"
        try:
            self.pool.call(names.datastore_replica(CLUSTER, replica), "status")
        except Unavailable:
            return True
        return False

    def digests(self) -> list[tuple[int, str]]:
        states = []
        for i in range(1, REPLICAS + 1):
            status = self.pool.call(names.datastore_replica(CLUSTER, i), "status")
            states.append((int(status["applied_index"]), str(status["digest"])))
        return states


@pytest.fixture
def spread(tmp_path: Path) -> Iterator[SpreadCluster]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    try:
        hosts = Hosts(1 + REPLICAS)
    except HostsUnavailable as exc:
        pytest.skip(str(exc))
    try:
        cluster = SpreadCluster(hosts, tmp_path / "data")
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
    finally:
        hosts.teardown()


def _book(cluster: SpreadCluster, seat: str, who: str) -> dict:
    """Hold and book ``seat`` of AMC alien, retrying while the cluster is unavailable."""
    taken: list[SeatsUnavailable] = []
    balancer = names.load_balancer(1)

    def attempt() -> dict | bool:
        try:
            hold = cluster.pool.call(balancer, "block_seats", "AMC", "alien", [seat])
        except SeatsUnavailable as exc:
            # An attempt whose answer was lost may have booked it: not worth retrying.
            taken.append(exc)
            return True
        # Unavailable or a timeout here: poll() counts it as "not yet" and tries again.
        return cluster.pool.call(
            balancer, "book_ticket", hold["hold_id"], who, f"{who}@example.com"
        )

    ticket = poll(attempt, timeout=BOOK_TIMEOUT, message=f"a booking of {seat}", interval=0.2)
    assert not taken, f"{seat} was taken: {taken[0]}"
    return ticket


def test_minority_partition_books_and_heals(spread: SpreadCluster) -> None:
    tickets = [_book(spread, "A1", "before")]

    spread.hosts.cut(REPLICAS)  # replica 3 of east: a minority
    assert spread.cut_off(REPLICAS)
    tickets += [_book(spread, seat, f"cut{n}") for n, seat in enumerate(["A2", "A3", "B1"])]

    spread.hosts.heal(REPLICAS)
    tickets.append(_book(spread, "B2", "after"))

    poll(
        lambda: len(set(spread.digests())) == 1,
        timeout=CONVERGE_TIMEOUT,
        message="east's replicas to reach equal digests after the heal",
        interval=0.2,
    )
    for ticket in tickets:
        found = spread.pool.call(
            names.load_balancer(2), "get_ticket_details", "AMC", ticket["ticket_no"]
        )
        assert found == ticket
    free = spread.pool.call(names.load_balancer(2), "get_available_seats", "AMC", "alien")
    assert not {"A1", "A2", "A3", "B1", "B2"} & set(free)


def test_majority_partition_acknowledges_nothing_until_healed(spread: SpreadCluster) -> None:
    before = _book(spread, "A1", "before")

    for host in (2, 3):  # east keeps only replica 1: no quorum
        spread.hosts.cut(host)
    assert spread.cut_off(2) and spread.cut_off(3)
    hold = spread.pool.call(names.load_balancer(1), "block_seats", "AMC", "alien", ["A2"])
    patient = ProxyPool(spread.hosts.address(0), spread.ns_port, timeout=LB_PATIENCE)
    try:
        with pytest.raises(Unavailable) as refused:
            patient.call(
                names.load_balancer(1), "book_ticket", hold["hold_id"], "Nobody", "no@example.com"
            )
    finally:
        patient.close()

    # The load balancer's own refusal, not our impatience with it.
    assert names.load_balancer(1) not in str(refused.value)
    for host in (2, 3):
        spread.hosts.heal(host)
    after = _book(spread, "B1", "after")
    poll(
        lambda: len(set(spread.digests())) == 1,
        timeout=CONVERGE_TIMEOUT,
        message="east's replicas to reach equal digests after the heal",
        interval=0.2,
    )
    for ticket in (before, after):
        assert (
            spread.pool.call(
                names.load_balancer(2), "get_ticket_details", "AMC", ticket["ticket_no"]
            )
            == ticket
        )
