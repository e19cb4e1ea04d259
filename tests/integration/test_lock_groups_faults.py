"""Three lock groups in a real cluster: each books on its own, and fails on its own.

One cluster (``run/cluster.py --lock-groups 3``, the groups catalog) serves
the module. Its events are placed (CRC-32 of theater/event) in group 1
(AMC alien), group 2 (REG arrival) and group 3 (AMC gravity, REG
casablanca: one event in each data cluster). The tests go through a load
balancer as a client does, hurt one group (its coordinator and that one's
standby SIGKILLed, then two of its three lock servers) and check that the other groups hold and book
on as if nothing happened while the hurt group's own events answer
``Unavailable`` until it is whole again.

The quorum test is slow-marked (the default suite has little time left); it
starts the module's cluster on its own when run alone (``-m slow``).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from cluster_fixture import LocalCluster
from conftest import poll
from Pyro5.api import Proxy

from ticketing import catalog_files, names
from ticketing.catalog import load_catalog
from ticketing.domain.lock_placement import LockPlacement
from ticketing.errors import InvalidRequest, Unavailable
from ticketing.server.coordinator_identity import standby_name

GROUPS_CATALOG = catalog_files.GROUPS
GROUPS = 3
# One event of each group, the group's number as key.
EVENTS = {1: ("AMC", "alien"), 2: ("REG", "arrival"), 3: ("AMC", "gravity")}
ALSO_IN_3 = ("REG", "casablanca")  # group 3's event in the other data cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    data_dir = tmp_path_factory.mktemp("lock-groups") / "data"
    running = LocalCluster(data_dir, GROUPS_CATALOG, lock_groups=GROUPS).start()
    yield running
    running.stop()


def book(lb: Proxy, where: tuple[str, str], seats: list[str]) -> dict:
    hold = lb.block_seats(*where, seats)
    return lb.book_ticket(hold["hold_id"], "Rita", "rita@example.com")


def book_best(lb: Proxy, where: tuple[str, str]) -> dict:
    """One seat the lock store picks: a retry never trips over its own earlier hold."""
    hold = lb.block_best_available(*where, 1)
    return lb.book_ticket(hold["hold_id"], "Rita", "rita@example.com")


def hold_c2(cluster: LocalCluster, where: tuple[str, str]) -> dict:
    """Seat C2 held through a proxy of the calling thread's own."""
    return cluster.load_balancer(1).block_seats(*where, ["C2"])


def lock_label(cluster: LocalCluster, server: int, group: int) -> str:
    return cluster.label(names.lock_server(server, group))


def group_agrees(cluster: LocalCluster, group: int) -> bool:
    servers = [names.lock_server(i, group) for i in (1, 2, 3)]
    return len(set(cluster.digests(servers).values())) == 1


def applied_past(cluster: LocalCluster, server: str, index: int) -> bool:
    return cluster.status(server)["applied_index"] > index


def test_the_catalog_puts_the_events_in_their_groups() -> None:
    placement = LockPlacement(load_catalog(GROUPS_CATALOG), GROUPS)
    for group, where in EVENTS.items():
        assert placement.event_group(*where) == group
    assert placement.event_group(*ALSO_IN_3) == 3


def test_a_hold_and_a_booking_in_every_group(cluster: LocalCluster) -> None:
    lb = cluster.load_balancer(1)
    assert lb.status()["lock_groups"] == GROUPS
    for group, where in EVENTS.items():
        hold = lb.block_seats(*where, ["A1"])
        # The hold lives in its event's group, whose servers alone know it.
        mine = cluster.proxy(names.lock_server(1, group))
        assert mine.get_hold(hold["hold_id"])["seats"] == ["A1"]
        assert mine.held_seats(*where) == ["A1"]
        other = cluster.proxy(names.lock_server(1, 1 + group % GROUPS))
        with pytest.raises(InvalidRequest, match=f"kept by lock group {group}"):
            other.get_hold(hold["hold_id"])
        ticket = lb.book_ticket(hold["hold_id"], "Rita", "rita@example.com")
        assert ticket["seats"] == ["A1"]
        assert cluster.load_balancer(2).get_ticket_details(where[0], ticket["ticket_no"]) == ticket


def test_a_group_without_its_lock_coordinators_stops_alone(cluster: LocalCluster) -> None:
    coordinators = (names.lock_coordinator(2), standby_name(names.lock_coordinator(2)))
    labels = [cluster.label(name) for name in coordinators]
    before = cluster.status(coordinators[0])["ballot"]
    lb = cluster.load_balancer(1)
    for label in labels:  # the main one and the standby that would take over
        cluster.kill(label)
    try:
        with pytest.raises(Unavailable):
            lb.block_seats(*EVENTS[2], ["B1"])  # no leader: nothing decides its holds
        for group in (1, 3):  # the others book on, without a single error
            for seat in ("B1", "B2"):
                assert book(lb, EVENTS[group], [seat])["seats"] == [seat]
    finally:
        for label in labels:
            cluster.restart(label)
    poll(lambda: book_best(lb, EVENTS[2]), timeout=60, message="group 2 to book again")
    leaders = [s for s in map(cluster.status, coordinators) if s["state"] == "leading"]
    assert leaders, "group 2 books without a leading coordinator"
    assert before not in [s["ballot"] for s in leaders], "a restarted coordinator reused a ballot"


@pytest.mark.slow  # ~7 s of calls waiting out writes that cannot win, and a restart
def test_a_group_without_its_quorum_is_unavailable_alone(cluster: LocalCluster) -> None:
    lb = cluster.load_balancer(1)
    # A hold of group 3 taken while it is whole, known to the server that survives.
    pending = lb.block_seats(*EVENTS[3], ["C1"])
    survivor = cluster.proxy(names.lock_server(1, 3))
    poll(lambda: survivor.get_hold(pending["hold_id"]), message="the hold on server 1")
    killed = [lock_label(cluster, i, 3) for i in (2, 3)]
    for label in killed:
        cluster.kill(label)
    try:
        # Booked from the survivor's own state; its sold mark cannot be written
        # in group 3 now, and must not hold back the sold marks of the others.
        lb.book_ticket(pending["hold_id"], "Rita", "rita@example.com")
        with ThreadPoolExecutor(2) as calls:  # each waits out a write that cannot win
            refused = [calls.submit(hold_c2, cluster, where) for where in (EVENTS[3], ALSO_IN_3)]
            for call in refused:
                with pytest.raises(Unavailable):
                    call.result()
        for group in (1, 2):
            hold = lb.block_seats(*EVENTS[group], ["C1"])
            poll(partial(group_agrees, cluster, group), message=f"group {group} to apply the hold")
            server = names.lock_server(1, group)
            applied = cluster.status(server)["applied_index"]
            ticket = lb.book_ticket(hold["hold_id"], "Rita", "rita@example.com")
            assert ticket["seats"] == ["C1"]
            # The sold mark is the only write to this group after the hold.
            poll(
                partial(applied_past, cluster, server, applied),
                timeout=20,
                message=f"group {group}'s sold mark while group 3 has no quorum",
            )
    finally:
        for label in killed:
            cluster.restart(label)
    poll(lambda: book_best(lb, ALSO_IN_3), timeout=60, message="group 3 to book again")
    for group in EVENTS:
        poll(partial(group_agrees, cluster, group), timeout=60, message=f"group {group} agrees")
