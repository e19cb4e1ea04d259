"""Fair use: a burst beyond capacity is refused at once; one client's holds are capped."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from cluster_fixture import SMALL_CATALOG, LocalCluster
from Pyro5.api import Proxy

from ticketing import names, settings
from ticketing.errors import InvalidRequest, Unavailable
from ticketing.security.fairness import Admission, HoldQuota

# --- admission ------------------------------------------------------------------------


def test_calls_beyond_the_limit_are_refused_with_unavailable_not_queued() -> None:
    admission = Admission(limit=3, patience=0.0)
    entered = threading.Barrier(4)
    leave = threading.Event()

    def busy() -> None:
        with admission.admitted():
            entered.wait()
            leave.wait()

    workers = [threading.Thread(target=busy) for _ in range(3)]
    for worker in workers:
        worker.start()
    entered.wait()  # three calls are being served
    try:
        with pytest.raises(Unavailable, match="retry"), admission.admitted():
            pass
    finally:
        leave.set()
        for worker in workers:
            worker.join()
    with admission.admitted():  # served again once the burst is over
        pass


# --- the hold quota -------------------------------------------------------------------


def never_live(hold_id: str) -> bool:
    return False


def always_live(hold_id: str) -> bool:
    return True


def test_a_client_cannot_hold_more_than_the_limit_of_one_event() -> None:
    quota = HoldQuota(limit=6)
    quota.check("10.0.0.1", "AMC", "dune", 5, now=0.0, still_live=always_live)
    quota.granted("10.0.0.1", "AMC", "dune", "h1", 5, expires_at=100.0)
    with pytest.raises(InvalidRequest, match="already hold 5 seats"):
        quota.check("10.0.0.1", "AMC", "dune", 2, now=1.0, still_live=always_live)
    # Another event, another client: their own quotas.
    quota.check("10.0.0.1", "AMC", "alien", 5, now=1.0, still_live=always_live)
    quota.check("10.0.0.2", "AMC", "dune", 5, now=1.0, still_live=always_live)


def test_ended_expired_or_vanished_holds_give_the_quota_back() -> None:
    quota = HoldQuota(limit=5)
    quota.granted("c", "AMC", "dune", "h1", 5, expires_at=100.0)
    quota.ended("h1")
    quota.check("c", "AMC", "dune", 5, now=1.0, still_live=always_live)
    quota.granted("c", "AMC", "dune", "h2", 5, expires_at=100.0)
    quota.check("c", "AMC", "dune", 5, now=100.0, still_live=always_live)  # h2 expired
    quota.granted("c", "AMC", "dune", "h3", 5, expires_at=300.0)
    quota.check("c", "AMC", "dune", 5, now=101.0, still_live=never_live)  # h3 gone elsewhere


# --- through a real balancer ----------------------------------------------------------


@pytest.fixture(scope="module")
def balancer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    # Long holds, so none lapses while the test counts them (the small catalog's are 4 s).
    catalog = tmp_path_factory.mktemp("catalog") / "long_holds.toml"
    text = SMALL_CATALOG.read_text()
    catalog.write_text(text.replace("hold_ttl = 4", "hold_ttl = 300", 1))
    assert "hold_ttl = 300" in catalog.read_text()
    cluster = LocalCluster(tmp_path_factory.mktemp("fair"), catalog, load_balancers=1).start()
    try:
        with Proxy(cluster.pool.resolve(names.load_balancer(1))) as proxy:
            proxy._pyroTimeout = 15.0
            yield proxy
    finally:
        cluster.stop()


def test_one_client_is_capped_per_event_and_a_release_frees_its_quota(balancer: Proxy) -> None:
    seats = balancer.get_available_seats("AMC", "dune")
    limit = settings.MAX_HELD_SEATS_PER_CLIENT
    holds, taken = [], 0
    while taken + 5 <= limit:
        holds.append(balancer.block_seats("AMC", "dune", seats[taken : taken + 5]))
        taken += 5
    with pytest.raises(InvalidRequest, match=f"at most {limit}"):
        balancer.block_seats("AMC", "dune", seats[taken : taken + 5])
    assert balancer.get_available_seats("AMC", "dune") == seats[taken:]  # nothing changed
    balancer.block_seats("AMC", "alien", seats[:5])  # another event: its own quota
    balancer.release_hold(holds[0]["hold_id"])
    balancer.block_seats("AMC", "dune", seats[taken : taken + 5])
