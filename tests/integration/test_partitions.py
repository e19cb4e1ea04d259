"""A real partition: one data replica on its own host (network namespace) is cut off.

The name server, the lock store, the coordinators, the manager, the load
balancers and cluster ``west`` run on host 0; each replica of cluster
``east`` runs on a host of its own (1..3), with the launcher's command line
(``ticketing.cluster.plan``) and its own ``--host``. Cutting host 3 leaves
``east`` a majority, so bookings must go on; once healed, replica 3 must catch
up (equal digests) and every acknowledged ticket must still be there.

The fault run of ``run/torture.py --netns`` (the harness's clients, nemesis
and checker against the spread cluster, partitions among its faults) must
also meet every kind of fault and end with no anomaly.

Needs root and iproute2; skipped with the reason elsewhere. Slow: run with
``-m slow``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixture import SMALL_CATALOG
from conftest import pick_free_port, poll

from ticketing import names
from ticketing.errors import HoldExpired, HoldNotFound, SeatsUnavailable, Unavailable
from ticketing.faults.history import BOOK, OK
from ticketing.faults.netns import Hosts, HostsUnavailable, unavailable_reason
from ticketing.faults.run import run
from ticketing.faults.schedule import NETNS_KINDS, PARTITION, plan_faults
from ticketing.faults.spread import SpreadTarget
from ticketing.server.proxies import ProxyPool

pytestmark = pytest.mark.slow

CLUSTER = "east"  # hosts theater AMC in the small catalog
REPLICAS = 3
BOOK_TIMEOUT = 60.0  # seconds one booking may take while a replica is cut off
CONVERGE_TIMEOUT = 90.0
LB_PATIENCE = 60.0  # seconds to wait for the load balancer's own answer


def _label(replica: int) -> str:
    return f"datastore-{CLUSTER}-{replica}"


@pytest.fixture
def spread(tmp_path: Path) -> Iterator[SpreadTarget]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    try:
        hosts = Hosts(1 + REPLICAS)
    except HostsUnavailable as exc:
        pytest.skip(str(exc))
    try:
        cluster = SpreadTarget(
            hosts, tmp_path / "data", SMALL_CATALOG, pick_free_port(), spread=CLUSTER
        )
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        hosts.teardown()


def _book(cluster: SpreadTarget, seat: str, who: str) -> dict:
    """Hold and book ``seat`` of AMC alien, retrying while the cluster is unavailable.

    A retry keeps a hold it got (booking one hold twice answers the same ticket). A hold
    whose answer was lost keeps the seat for ``hold_ttl`` (4 s in the small catalog): a
    refusal after such a loss is waited out; one with nothing lost means someone booked it.
    """
    taken: list[SeatsUnavailable] = []
    balancer = names.load_balancer(1)
    state: dict = {"hold": None, "lost": False}

    def attempt() -> dict | bool:
        if state["hold"] is None:
            try:
                state["hold"] = cluster.pool.call(balancer, "block_seats", "AMC", "alien", [seat])
            except SeatsUnavailable as exc:
                if state["lost"]:
                    return False  # most likely our own lost hold: wait until it expires
                taken.append(exc)
                return True
            except Exception:
                # Unavailable or a timeout: the hold may have been made all the same.
                state["lost"] = True
                raise
        try:
            return cluster.pool.call(
                balancer, "book_ticket", state["hold"]["hold_id"], who, f"{who}@example.com"
            )
        except (HoldExpired, HoldNotFound):
            state["hold"] = None  # not booked: hold again
            raise

    ticket = poll(attempt, timeout=BOOK_TIMEOUT, message=f"a booking of {seat}", interval=0.2)
    assert not taken, f"{seat} was taken: {taken[0]}"
    return ticket


def test_minority_partition_books_and_heals(spread: SpreadTarget) -> None:
    tickets = [_book(spread, "A1", "before")]

    spread.hosts.cut(REPLICAS)  # replica 3 of east: a minority
    assert spread.cut_off(_label(REPLICAS))
    tickets += [_book(spread, seat, f"cut{n}") for n, seat in enumerate(["A2", "A3", "B1"])]

    spread.hosts.heal(REPLICAS)
    tickets.append(_book(spread, "B2", "after"))

    poll(
        lambda: len(set(spread.digests()[CLUSTER])) == 1,
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


def test_majority_partition_acknowledges_nothing_until_healed(spread: SpreadTarget) -> None:
    before = _book(spread, "A1", "before")

    for host in (2, 3):  # east keeps only replica 1: no quorum
        spread.hosts.cut(host)
    assert spread.cut_off(_label(2)) and spread.cut_off(_label(3))
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
        lambda: len(set(spread.digests()[CLUSTER])) == 1,
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


FAULT_RUN_SEED = 4  # its 45 s plan holds every kind, a partition among them (seeded: fixed)


@pytest.mark.timeout(600)
def test_a_fault_run_over_hosts_with_partitions_has_no_anomaly(tmp_path: Path) -> None:
    """What ``python run/torture.py --netns --seconds 45 --seed 4`` does."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    result = run(
        tmp_path / "data", SMALL_CATALOG, pick_free_port(), seconds=45, seed=FAULT_RUN_SEED,
        netns=True,
    )  # fmt: skip
    history = result.history
    assert {f.kind for f in result.plan} == set(NETNS_KINDS), result.plan
    assert {f.kind for f in history.faults} == set(NETNS_KINDS), history.faults
    assert all(f.recovered is not None for f in history.faults), history.faults
    assert any(op.kind == BOOK and op.outcome == OK for op in history.operations)
    assert result.anomalies == [], result.anomalies
    for states in history.final.digests.values():
        assert len(set(states)) == 1


def test_partitions_are_planned_only_when_asked_and_only_on_cuttable_hosts() -> None:
    labels = ["nameserver", "lock_server-1", "lock_coordinator", "datastore-east-1"]
    labels += ["datastore_coordinator-east", "datastore_manager", "load_balancer-1"]
    assert PARTITION not in {f.kind for f in plan_faults(7, 600, labels)}
    with pytest.raises(ValueError):
        plan_faults(7, 60, labels, kinds=NETNS_KINDS)
    planned = plan_faults(7, 600, labels, kinds=NETNS_KINDS, cuttable=["datastore-east-1"])
    assert {f.target for f in planned if f.kind == PARTITION} == {"datastore-east-1"}
