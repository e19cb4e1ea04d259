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

A deposed leader's side refuses reads: east's coordinator runs beside replica
3 on host 3, a standby on host 0. Cutting host 3 leaves the old coordinator
leading replica 3 alone (it believes it still leads), while the standby takes
replicas 1 and 2 over and books a seat. A caller on host 3 asks replica 3 for
that ticket: its read barrier must be refused (``Unavailable``), not answered
with the old leader's index (a wrong "not found").

Needs root and iproute2; skipped with the reason elsewhere. Slow: run with
``-m slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_fixture import SMALL_CATALOG
from conftest import CATALOGS, ROOT, pick_free_port, poll

from ticketing import names
from ticketing.errors import HoldExpired, HoldNotFound, SeatsUnavailable, Unavailable
from ticketing.faults.history import BOOK, OK
from ticketing.faults.netns import Hosts, HostsUnavailable, unavailable_reason
from ticketing.faults.run import run
from ticketing.faults.schedule import NETNS_KINDS, PARTITION, plan_faults
from ticketing.faults.spread import SpreadTarget
from ticketing.server.coordinator_identity import standby_name
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
    yield from _spread_cluster(tmp_path)


@pytest.fixture
def deposable(tmp_path: Path) -> Iterator[SpreadTarget]:
    """East's coordinator beside replica 3 (host 3), its standby on host 0; holds that
    outlast the replicas' failover to the standby (connections to a cut host hang)."""
    yield from _spread_cluster(
        tmp_path, CATALOGS / "long_holds.toml", coordinator_with=REPLICAS, standby=True
    )


def _spread_cluster(
    tmp_path: Path, catalog: Path = SMALL_CATALOG, **placement: Any
) -> Iterator[SpreadTarget]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    try:
        hosts = Hosts(1 + REPLICAS)
    except HostsUnavailable as exc:
        pytest.skip(str(exc))
    try:
        cluster = SpreadTarget(
            hosts, tmp_path / "data", catalog, pick_free_port(), spread=CLUSTER, **placement
        )
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        hosts.teardown()


def _book(cluster: SpreadTarget, seat: str, who: str, pool: ProxyPool | None = None) -> dict:
    """Hold and book ``seat`` of AMC alien, retrying while the cluster is unavailable.

    A retry keeps a hold it got (booking one hold twice answers the same ticket). A hold
    whose answer was lost keeps the seat for ``hold_ttl`` (4 s in the small catalog): a
    refusal after such a loss is waited out; one with nothing lost means someone booked it.
    ``pool`` calls the load balancer (the cluster's own, with its short timeout, if None).
    """
    pool = pool or cluster.pool
    taken: list[SeatsUnavailable] = []
    balancer = names.load_balancer(1)
    state: dict = {"hold": None, "lost": False}

    def attempt() -> dict | bool:
        if state["hold"] is None:
            try:
                state["hold"] = pool.call(balancer, "block_seats", "AMC", "alien", [seat])
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
            return pool.call(
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


class HostCaller:
    """Calls made from inside one host (``tests/host_caller.py``), which a cut leaves behind."""

    def __init__(self, cluster: SpreadTarget, host: int, timeout: float) -> None:
        script = ROOT / "tests" / "host_caller.py"
        argv = [sys.executable, str(script), cluster.ns_host, str(cluster.ns_port), str(timeout)]
        self._proc = subprocess.Popen(
            cluster.hosts.command(host, argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=cluster.env,
            text=True,
        )

    def call(self, name: str, method: str, *args: Any) -> dict[str, Any]:
        """``{"ok": result}`` or ``{"error": class name, "message": ...}``."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps([name, method, *args]) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        assert line, f"the caller on the host exited with {self._proc.wait()}"
        return json.loads(line)

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


HOST_CALL_TIMEOUT = 30.0  # a read barrier refused on the cut side waits out the name server


def test_a_deposed_leaders_side_refuses_reads_instead_of_answering_stale(
    deposable: SpreadTarget,
) -> None:
    coordinator = names.datastore_coordinator(CLUSTER)
    replica = names.datastore_replica(CLUSTER, REPLICAS)  # beside the coordinator, on host 3
    before = _book(deposable, "A1", "before")
    inside = HostCaller(deposable, REPLICAS, HOST_CALL_TIMEOUT)
    try:
        # Found through the name server while it is reachable; kept once cut, as any caller does.
        assert inside.call(replica, "ticket", "AMC", before["ticket_no"]) == {"ok": before}
        assert inside.call(coordinator, "status")["ok"]["state"] == "leading"

        deposable.hosts.cut(REPLICAS)  # the coordinator keeps replica 3 only: no quorum
        assert deposable.cut_off(_label(REPLICAS))
        # Acknowledged by the standby, over 1 and 2. The balancer's call waits out the
        # replicas' failover: connections to the cut host hang until their timeouts.
        patient = ProxyPool(deposable.hosts.address(0), deposable.ns_port, timeout=LB_PATIENCE)
        try:
            after = _book(deposable, "B1", "after", patient)
        finally:
            patient.close()
        assert deposable.leads(f"datastore_coordinator-{CLUSTER}-standby")

        # Behind the cut the old coordinator still believes it leads ...
        assert inside.call(coordinator, "status")["ok"]["state"] == "leading"
        # ... yet replica 3's read barrier is refused, for a lookup and for a view.
        found = inside.call(replica, "ticket", "AMC", after["ticket_no"])
        assert found.get("error") == "Unavailable", (
            f"the deposed side answered {found} for a ticket its successor booked"
        )
        assert "majority" in found["message"], found  # refused by the old leader's read round
        view = inside.call(replica, "seat_states", "AMC", "alien")
        assert view.get("error") == "Unavailable", (
            f"the deposed side answered a seat view {view} that misses B1, booked by its successor"
        )
        assert inside.call(coordinator, "status")["ok"]["state"] == "leading"

        deposable.hosts.heal(REPLICAS)  # 1 and 2 refuse the old coordinator: it steps down
        poll(
            lambda: inside.call(replica, "ticket", "AMC", after["ticket_no"]) == {"ok": after},
            timeout=CONVERGE_TIMEOUT,
            message="replica 3 to serve the successor's ticket once healed",
            interval=0.2,
        )
        assert inside.call(coordinator, "status")["ok"]["state"] != "leading"
        assert deposable.pool.call(standby_name(coordinator), "status")["state"] == "leading"
    finally:
        inside.close()


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
    assert result.anomalies == [], result.explained()
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
