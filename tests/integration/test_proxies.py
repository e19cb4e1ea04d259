"""ProxyPool against a real name server and real component processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from conftest import NameServer, Processes, poll

from ticketing.errors import InvalidRequest, Unavailable
from ticketing.server.proxies import ProxyPool

FAKE = "tests/fake_component.py"


def fake_name(n: int) -> str:
    return f"ticketing.fake.{n}"


@pytest.fixture
def pool(nameserver: NameServer) -> Iterator[ProxyPool]:
    pool = ProxyPool(nameserver.host, nameserver.port, timeout=2.0)
    yield pool
    pool.close()


def start_fake(processes: Processes, nameserver: NameServer, n: int):
    proc = processes.spawn(FAKE, *nameserver.flags, "--id", n)
    probe = ProxyPool(nameserver.host, nameserver.port, timeout=2.0)
    try:
        poll(
            lambda: probe.call(fake_name(n), "status")["pid"] == proc.pid,
            message=f"{fake_name(n)} to answer",
        )
    finally:
        probe.close()
    return proc


def test_call_get_and_list(processes: Processes, nameserver: NameServer, pool: ProxyPool) -> None:
    first = start_fake(processes, nameserver, 1)
    start_fake(processes, nameserver, 2)

    assert pool.call(fake_name(1), "echo", {"a": [1, 2]}) == {"a": [1, 2]}
    assert pool.get(fake_name(1)).status()["pid"] == first.pid
    assert pool.get(fake_name(1)) is pool.get(fake_name(1))
    listed = pool.list("ticketing.fake.")
    assert sorted(listed) == [fake_name(1), fake_name(2)]
    assert listed[fake_name(1)] == pool.resolve(fake_name(1))


def test_each_thread_gets_its_own_proxy_and_calls_run_concurrently(
    processes: Processes, nameserver: NameServer, pool: ProxyPool
) -> None:
    start_fake(processes, nameserver, 1)
    proxies = []
    results: list[object] = []
    failures: list[BaseException] = []

    def work(i: int) -> None:
        try:
            proxies.append(pool.get(fake_name(1)))
            for j in range(20):
                results.append(pool.call(fake_name(1), "echo", (i, j)))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(results) == 8 * 20
    assert len({id(proxy) for proxy in proxies}) == 8


def test_remote_refusals_arrive_as_themselves(
    processes: Processes, nameserver: NameServer, pool: ProxyPool
) -> None:
    start_fake(processes, nameserver, 1)
    with pytest.raises(InvalidRequest, match="no such thing"):
        pool.call(fake_name(1), "refuse", "no such thing")
    assert pool.call(fake_name(1), "echo", 7) == 7  # the connection survived it


def test_finds_a_restarted_component_on_its_new_port(
    processes: Processes, nameserver: NameServer, pool: ProxyPool
) -> None:
    old = start_fake(processes, nameserver, 1)
    old_uri = pool.resolve(fake_name(1))
    assert pool.call(fake_name(1), "status")["pid"] == old.pid

    processes.kill(old)
    new = start_fake(processes, nameserver, 1)
    assert pool.call(fake_name(1), "status")["pid"] == new.pid
    assert pool.resolve(fake_name(1)) != old_uri


def test_keeps_working_on_cached_addresses_while_the_name_server_is_down(
    processes: Processes, nameserver: NameServer, pool: ProxyPool
) -> None:
    component = start_fake(processes, nameserver, 1)
    pool.call(fake_name(1), "status")
    listed = pool.list("ticketing.fake.")

    nameserver.kill()
    assert pool.call(fake_name(1), "status")["pid"] == component.pid
    assert pool.get(fake_name(1)).echo("x") == "x"
    assert pool.list("ticketing.fake.", refresh=True) == listed
    with pytest.raises(Unavailable, match=r"name server at 127\.0\.0\.1:\d+ is unreachable"):
        pool.resolve(fake_name(2))


def test_unknown_or_dead_components_are_unavailable(
    processes: Processes, nameserver: NameServer, pool: ProxyPool
) -> None:
    with pytest.raises(Unavailable, match=r"ticketing\.fake\.9 is not registered"):
        pool.call(fake_name(9), "status")

    component = start_fake(processes, nameserver, 1)
    pool.call(fake_name(1), "status")
    processes.kill(component)  # its stale entry stays in the name server
    with pytest.raises(Unavailable, match=r"ticketing\.fake\.1 is not answering"):
        pool.call(fake_name(1), "status")


def test_a_peer_that_takes_a_call_and_never_answers_costs_one_timeout(
    processes: Processes, nameserver: NameServer, pool: ProxyPool
) -> None:
    """A second try at the same address would wait a second full timeout (a paused
    lock server held every balancer's calls for its whole pause that way)."""
    start_fake(processes, nameserver, 1)
    with pytest.raises(Unavailable, match=r"ticketing\.fake\.1 is not answering"):
        pool.call(fake_name(1), "stall")
    assert pool.call(fake_name(1), "stalls") == 1, "tried once, not again at the same address"
