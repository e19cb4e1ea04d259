"""Fair use: a burst beyond capacity is refused at once, with a retry hint; holds are capped."""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from cluster_fixture import LocalCluster
from conftest import CATALOGS
from Pyro5.api import Proxy

from ticketing import names, settings
from ticketing.bench.crowd import measure, render
from ticketing.bench.system import System
from ticketing.errors import InvalidRequest, Unavailable
from ticketing.security.fairness import (
    RETRY_AFTER_MAX,
    RETRY_AFTER_MIN,
    Admission,
    BookingQuota,
    HoldQuota,
    RetryHint,
    client_key,
)
from ticketing.server.multiplexer import raise_open_files_limit

# --- admission ------------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_calls_beyond_the_limit_are_refused_at_once_with_a_retry_hint() -> None:
    admission = Admission(limit=3)
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
        with pytest.raises(Unavailable, match="retry in") as refused, admission.admitted():
            pass
    finally:
        leave.set()
        for worker in workers:
            worker.join()
    assert RETRY_AFTER_MIN <= refused.value.retry_after <= RETRY_AFTER_MAX
    with admission.admitted():  # served again once the burst is over
        pass


def complete(hint: RetryHint, clock: Clock, calls: int, every: float, taking: float) -> None:
    """``calls`` calls complete, one each ``every`` seconds, each after ``taking`` seconds."""
    for _ in range(calls):
        clock.now += every
        hint.completed(started=clock.now - taking)


def test_the_hint_is_the_time_to_serve_those_in_flight_and_those_refused_lately() -> None:
    clock = Clock()
    hint = RetryHint(window=1.0, clock=clock)
    complete(hint, clock, 200, every=0.01, taking=0.1)  # 100 a second, 10 at a time
    assert hint.refused(serving=10) == pytest.approx((10 + 1) / 100, rel=0.01)
    for _ in range(48):
        hint.refused(serving=10)
    assert hint.refused(serving=10) == pytest.approx((10 + 50) / 100, rel=0.01)
    assert hint.refused(serving=10, waiting=40) == pytest.approx((10 + 40 + 51) / 100, rel=0.01)
    complete(hint, clock, 200, every=0.01, taking=0.1)  # two seconds on: those refusals are past
    assert hint.refused(serving=10) == pytest.approx((10 + 1) / 100, rel=0.01)


def test_a_burst_after_a_quiet_spell_is_paced_by_how_long_calls_took() -> None:
    clock = Clock()
    hint = RetryHint(window=1.0, clock=clock)
    complete(hint, clock, 100, every=0.1, taking=0.2)
    clock.now += 60.0  # quiet for a minute: nothing completed lately
    # 64 calls have just begun; at 0.2 s each, 64 at a time, the server does 320 a second.
    assert hint.refused(serving=64) == pytest.approx((64 + 1) / 320, rel=0.01)


def test_the_hint_is_clamped_and_longest_before_any_call_completed() -> None:
    clock = Clock()
    hint = RetryHint(window=1.0, clock=clock)
    assert hint.refused(serving=64) == RETRY_AFTER_MAX
    complete(hint, clock, 1000, every=0.001, taking=0.001)
    assert hint.refused(serving=1) == RETRY_AFTER_MIN
    for _ in range(10_000):
        hint.refused(serving=1)
    assert hint.refused(serving=1) == RETRY_AFTER_MAX


def test_admission_tells_refused_callers_the_hint() -> None:
    clock = Clock()
    admission = Admission(limit=1, hint=RetryHint(window=1.0, clock=clock))
    for _ in range(20):  # 10 calls a second for two seconds, one at a time
        with admission.admitted():
            clock.now += 0.1
    with admission.admitted(), pytest.raises(Unavailable) as refused, admission.admitted():
        pass
    assert refused.value.retry_after == pytest.approx((1 + 1) / 10, rel=0.1)
    assert f"retry in {refused.value.retry_after:.2f} s" in str(refused.value)


def test_a_flow_is_let_in_for_its_length_and_a_full_house_refuses_newcomers() -> None:
    clock = Clock()
    admission = Admission(limit=2, hint=RetryHint(window=1.0, clock=clock), flow_seconds=1.0)
    assert admission.admits("ada") and admission.admits("bob")
    assert not admission.admits("cyd"), "two flows on: a third person waits"
    clock.now += 0.5
    assert admission.admits("ada"), "between hold and book, a flow is never turned away"
    refused = admission.refusal()
    assert RETRY_AFTER_MIN <= refused.retry_after <= RETRY_AFTER_MAX
    assert "serving 2 people already" in str(refused)
    admission.ended("bob")  # bob's connection closed: his place is free at once
    assert admission.admits("cyd")
    clock.now += 0.5  # ada's flow has run its length, however busy it was
    assert admission.admits("dan") and not admission.admits("ada")


# --- the hold quota -------------------------------------------------------------------


def never_live(hold_id: str) -> bool:
    return False


def always_live(hold_id: str) -> bool:
    return True


def hold(quota: HoldQuota, client: str, event: str, seats: int, hold_id: str, **kw) -> None:
    """One hold granted through ``quota`` (expiring at 100 unless ``expires_at`` says)."""
    now, still_live = kw.get("now", 0.0), kw.get("still_live", always_live)
    with quota.reserving(client, "AMC", event, seats, now, still_live) as reserved:
        reserved.hold(hold_id, kw.get("expires_at", 100.0))


def test_a_client_cannot_hold_more_than_the_limit_of_one_event() -> None:
    quota = HoldQuota(limit=6)
    hold(quota, "10.0.0.1", "dune", 5, "h1")
    with pytest.raises(InvalidRequest, match="already hold 5 seats of dune at AMC"):
        hold(quota, "10.0.0.1", "dune", 2, "h2", now=1.0)
    # Another event, another client: their own quotas.
    hold(quota, "10.0.0.1", "alien", 5, "h3", now=1.0)
    hold(quota, "10.0.0.2", "dune", 5, "h4", now=1.0)


def test_ended_expired_or_vanished_holds_give_the_quota_back() -> None:
    quota = HoldQuota(limit=5)
    hold(quota, "c", "dune", 5, "h1")
    quota.ended("h1")
    hold(quota, "c", "dune", 5, "h2", now=1.0)
    hold(quota, "c", "dune", 5, "h3", now=100.0, expires_at=300.0)  # h2 expired
    hold(quota, "c", "dune", 5, "h4", now=101.0, still_live=never_live)  # h3 gone elsewhere


def test_seats_are_reserved_before_the_acquire_and_given_back_if_it_fails() -> None:
    """The old check-then-count let every concurrent hold pass the check."""
    quota = HoldQuota(limit=10)
    first = quota.reserving("c", "AMC", "dune", 5, 0.0, always_live)
    second = quota.reserving("c", "AMC", "dune", 5, 0.0, always_live)
    with first, second as reserved:
        # Both reservations are on the books while their acquires run.
        with pytest.raises(InvalidRequest, match="already hold 10 seats"):
            hold(quota, "c", "dune", 1, "h")
        reserved.hold("h2", 100.0)
    # The first never got its hold (its acquire failed): given back on leaving.
    hold(quota, "c", "dune", 5, "h3")
    with pytest.raises(InvalidRequest, match="already hold 10"):
        hold(quota, "c", "dune", 1, "h4")
    with pytest.raises(RuntimeError), quota.reserving("d", "AMC", "dune", 5, 0.0, always_live):
        raise RuntimeError("the lock store refused")
    hold(quota, "d", "dune", 10, "h5")


def test_concurrent_holds_get_exactly_the_cap() -> None:
    """30 holds at once, each acquiring until all 30 have asked: exactly the cap's worth pass."""
    quota = HoldQuota(limit=10)
    asked = threading.Semaphore(0)
    everyone_asked = threading.Event()
    granted: list[int] = []

    def one(n: int) -> None:
        try:
            with quota.reserving("c", "AMC", "dune", 5, 0.0, always_live) as reserved:
                asked.release()
                everyone_asked.wait(30)  # the acquire's round trip, during which the rest ask
                reserved.hold(f"h{n}", 100.0)
            granted.append(n)
        except InvalidRequest:
            asked.release()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert asked.acquire(timeout=30)
    everyone_asked.set()
    for thread in threads:
        thread.join()
    assert len(granted) == 2


def test_bookings_are_capped_per_event_within_the_window() -> None:
    quota = BookingQuota(limit=6, window=3600.0)
    with quota.reserving("c", "AMC", "dune", "h1", 4, now=0.0):
        pass
    with quota.reserving("c", "AMC", "dune", "h1", 4, now=1.0):
        pass  # the same hold again (a retry): counted once
    assert quota.booked("c", "AMC", "dune", now=1.0) == 4
    too_many = quota.reserving("c", "AMC", "dune", "h2", 3, now=2.0)
    with pytest.raises(InvalidRequest, match=r"4 seats of dune at AMC .* in 60 min"), too_many:
        pass
    with pytest.raises(InvalidRequest, match="were booked from your address"):
        quota.refuse_hold("c", "AMC", "dune", 3, now=2.0)
    quota.refuse_hold("c", "AMC", "dune", 2, now=2.0)  # can still book 2
    with quota.reserving("c", "AMC", "alien", "h3", 5, now=2.0):
        pass  # another event
    with quota.reserving("c", "AMC", "dune", "h4", 3, now=3600.5):
        pass  # h1 left the window
    assert quota.booked("c", "AMC", "dune", now=3600.5) == 3


def test_a_failed_or_cancelled_booking_gives_its_seats_back() -> None:
    quota = BookingQuota(limit=5, window=3600.0)
    with pytest.raises(RuntimeError), quota.reserving("c", "AMC", "dune", "h1", 5, now=0.0):
        raise RuntimeError("the data store refused")
    with quota.reserving("c", "AMC", "dune", "h2", 5, now=0.0):
        pass
    quota.cancelled("h2")
    quota.cancelled("h2")  # idempotent
    with quota.reserving("c", "AMC", "dune", "h3", 5, now=0.0):
        pass
    assert quota.booked("c", "AMC", "dune", now=0.0) == 5


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same household
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("10.1.2.3", None),
        ("127.0.0.1", "127.0.0.1"),
        ("local", "local"),
    ],
)
def test_who_a_quota_counts(address: str, key: str | None) -> None:
    exempt = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_key(address, exempt) == key


# --- through a real balancer ----------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    catalog = CATALOGS / "long_holds.toml"  # long holds, and 127.0.0.1 is counted
    running = LocalCluster(tmp_path_factory.mktemp("fair"), catalog, load_balancers=1).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def balancer(cluster: LocalCluster) -> Iterator[Proxy]:
    with Proxy(cluster.pool.resolve(names.load_balancer(1))) as proxy:
        proxy._pyroTimeout = 15.0
        yield proxy


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


CROWD = 1024  # people connected to one balancer at once, each on their own connection
CROWD_THREADS = 16


def test_a_thousand_connected_people_are_all_answered(balancer: Proxy) -> None:
    """No one is refused for lack of workers: Pyro5's thread pool refused the 129th."""
    raise_open_files_limit(CROWD + 256)
    uri = balancer._pyroUri
    everyone_connected = threading.Barrier(CROWD_THREADS, timeout=120)
    answers: Counter[str] = Counter()
    failures: list[BaseException] = []
    lock = threading.Lock()

    def people() -> None:
        proxies = []
        try:
            for _ in range(CROWD // CROWD_THREADS):
                proxy = Proxy(uri)
                proxy._pyroTimeout = 60.0
                proxy._pyroBind()
                proxies.append(proxy)
            everyone_connected.wait()
            for proxy in proxies:
                try:
                    proxy.get_available_seats("AMC", "dune")
                    kind = "result"
                except Unavailable as exc:
                    assert exc.retry_after is not None, exc
                    kind = "Unavailable"
                with lock:
                    answers[kind] += 1
        except BaseException as exc:
            everyone_connected.abort()
            with lock:
                failures.append(exc)
        finally:
            for proxy in proxies:
                proxy._pyroRelease()

    groups = [threading.Thread(target=people) for _ in range(CROWD_THREADS)]
    for group in groups:
        group.start()
    for group in groups:
        group.join()
    assert not failures, failures[:3]
    assert sum(answers.values()) == CROWD, answers


def test_the_crowd_tool_counts_every_connection_and_answer(cluster: LocalCluster) -> None:
    """``run/bench.py --crowd`` on this cluster (here, for a cluster already running)."""
    system = System("127.0.0.1", cluster.ns_port)
    try:
        crowd = measure(system, 40)
    finally:
        system.close()
    assert not crowd.refused
    assert sum(crowd.answers.values()) == 40
    assert set(crowd.answers) <= {"result", "Unavailable"}, crowd.answers
    assert len(crowd.hints) == crowd.answers["Unavailable"]
    (figures,) = crowd.idle_balancers.values()
    assert figures["open_files"] >= 40  # everyone was connected at once
    assert "40 opened, 0 refused" in render(crowd)
