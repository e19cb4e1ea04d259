"""The load balancers' proofs and the client's dialling, without a cluster (issue 14, item 1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from conftest import poll
from Pyro5.api import expose
from Pyro5.errors import CommunicationError, SecurityError

from ticketing.client.dialer import dial
from ticketing.security.balancer_proof import (
    BalancerDaemon,
    BalancerProxy,
    entry_metadata,
    verified,
)
from ticketing.security.cluster_key import SigningKey

KEY = SigningKey.from_secret("s" * 32)
OTHER = SigningKey.from_secret("o" * 32)
NAME = "ticketing.loadbalancer.1"


def entry(key: SigningKey, name: str, uri: str) -> tuple[str, set[str]]:
    return uri, entry_metadata(key, name, uri)


def test_only_entries_signed_for_their_own_name_and_uri_are_kept() -> None:
    uri = f"PYRO:{NAME}@127.0.0.1:5000"
    listing = {
        NAME: entry(KEY, NAME, uri),
        "ticketing.loadbalancer.2": (uri.replace("5000", "6000"), set()),  # unsigned
        "ticketing.loadbalancer.3": (uri, entry_metadata(KEY, NAME, uri)),  # copied
        "ticketing.loadbalancer.4": entry(OTHER, "ticketing.loadbalancer.4", uri),  # other key
        "ticketing.loadbalancer.5": ("PYRO:x@127.0.0.1:7000", entry_metadata(KEY, NAME, uri)),
        "ticketing.loadbalancer.6": "not a pair",
    }
    kept, skipped = verified(KEY.public(), listing)
    assert kept == {NAME: uri}
    assert skipped == [f"ticketing.loadbalancer.{n}" for n in range(2, 7)]
    assert verified(None, listing) == ({}, sorted(listing))  # no key: nothing is used


@expose
class Echo:
    def ping(self) -> str:
        return "pong"


@pytest.fixture
def balancer_uri() -> Iterator[str]:
    daemon = BalancerDaemon(host="127.0.0.1", port=0)
    daemon.prove_as(KEY, NAME)
    uri = str(daemon.register(Echo(), objectId=NAME))
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()
    yield uri
    daemon.shutdown()
    thread.join(5)
    daemon.close()


def test_a_balancer_proves_it_holds_the_key_and_an_impostor_cannot(balancer_uri: str) -> None:
    with BalancerProxy(balancer_uri, KEY.public()) as proxy:
        assert proxy.ping() == "pong"
    with BalancerProxy(balancer_uri, OTHER.public()) as wrong, pytest.raises(SecurityError):
        wrong.ping()
    # Asked under another name, its proof (for its own name) does not fit.
    renamed = balancer_uri.replace(NAME, "ticketing.loadbalancer.9")
    with BalancerProxy(renamed, KEY.public()) as proxy, pytest.raises(CommunicationError):
        proxy.ping()  # no such object: refused before any proof


class FakeProxy:
    def __init__(self, name: str) -> None:
        self.name = name
        self.released = False

    def _pyroClaimOwnership(self) -> None:
        pass

    def _pyroRelease(self) -> None:
        self.released = True


def test_dialling_overlaps_dead_names_and_closes_late_winners() -> None:
    made: list[FakeProxy] = []
    release = threading.Event()  # the hung candidates answer (time out) only once it is set
    live_made = threading.Event()
    hung_waiting: list[str] = []
    waiting_when_live_dialled: list[int] = []

    def connect(name: str) -> FakeProxy:
        if name.startswith("hung"):
            hung_waiting.append(name)
            release.wait(30)
            raise CommunicationError("receiving: timeout")
        if name.startswith("refused"):
            raise CommunicationError("connection refused")
        if name == "slow-live":
            live_made.wait(30)  # answers only after "live", which was started after it
        else:
            waiting_when_live_dialled.append(len(hung_waiting))
        proxy = FakeProxy(name)
        made.append(proxy)
        if name == "live":
            live_made.set()
        return proxy

    names = [*(f"hung-{i}" for i in range(5)), "refused", "slow-live", "live"]
    try:
        found = dial(names, connect, stagger=0.05, timeout=30.0)
        # Dialled while all five hung ones were still waiting: attempts overlap,
        # rather than each waiting out its timeout in turn.
        assert waiting_when_live_dialled == [5]
        assert not release.is_set()
    finally:
        release.set()
    assert found.name == "live"  # started after "slow-live", answered first
    assert found.failed == {"refused": "CommunicationError: connection refused"}
    late = poll(lambda: [p for p in made if p.name == "slow-live"], message="the late one")
    poll(lambda: late[0].released, message="the late winner closed")
    assert not found.proxy.released
    assert dial(["refused"], connect).name is None
