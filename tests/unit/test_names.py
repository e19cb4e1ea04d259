"""The name scheme is the contract's table, and prefixes list exactly their group."""

import pytest

from ticketing import names


def test_names_follow_the_contract() -> None:
    assert names.lock_server(1) == "ticketing.lock.server.1"
    assert names.lock_coordinator() == "ticketing.lock.coordinator"
    assert names.datastore_replica("AMC", 2) == "ticketing.datastore.AMC.replica.2"
    assert names.datastore_coordinator("AMC") == "ticketing.datastore.AMC.coordinator"
    assert names.DATASTORE_MANAGER == "ticketing.datastore.manager"
    assert names.load_balancer(3) == "ticketing.loadbalancer.3"


def test_lock_names_carry_their_group_only_when_there_are_several() -> None:
    assert names.lock_server(2, group=3) == "ticketing.lock.3.server.2"
    assert names.lock_coordinator(3) == "ticketing.lock.3.coordinator"
    assert names.lock_server_prefix(3) == "ticketing.lock.3.server."
    group_3 = [names.lock_server(1, 3), names.lock_coordinator(3)]
    others = [names.lock_server(1), names.lock_server(1, 1), names.lock_coordinator(1)]
    listed = [n for n in group_3 + others if n.startswith(names.lock_server_prefix(3))]
    assert listed == [names.lock_server(1, 3)]


def test_prefixes_select_their_group_only() -> None:
    everything = [
        names.lock_server(1),
        names.lock_coordinator(),
        names.datastore_replica("AMC", 1),
        names.datastore_replica("AMC-2", 1),
        names.datastore_coordinator("AMC"),
        names.DATASTORE_MANAGER,
        names.load_balancer(1),
    ]

    def listed(prefix: str) -> list[str]:
        return [name for name in everything if name.startswith(prefix)]

    assert listed(names.lock_server_prefix()) == [names.lock_server(1)]
    assert listed(names.LOAD_BALANCER_PREFIX) == [names.load_balancer(1)]
    assert listed(names.datastore_replica_prefix("AMC")) == [names.datastore_replica("AMC", 1)]
    assert listed(names.datastore_cluster_prefix("AMC")) == [
        names.datastore_replica("AMC", 1),
        names.datastore_coordinator("AMC"),
    ]
    assert all(name.startswith(names.ROOT) for name in everything)


@pytest.mark.parametrize("bad", ["", "a.b", "a b"])
def test_a_segment_with_dots_or_spaces_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid name segment"):
        names.datastore_coordinator(bad)
