"""Name-server hijacks against a real cluster, while a legitimate user books (issue 14, item 1).

Anyone who reaches the name server may register a name or overwrite one. Here an impostor
registers ``ticketing.loadbalancer.99`` and overwrites ``.1`` with a plain Pyro5 daemon that
forwards every call to a real balancer (copying the real entry's signature for good measure),
and serves another signed-looking name whose handshake it relays to a real balancer. The
user's client holds only ``cluster.pub``: it must never send a call through the impostor, its
bookings must succeed, and the real balancer must take ``.1`` back. Then dead names: 20
unsigned ones an attacker registered and 20 signed ones left by balancers that hung (each at a
socket that accepts and never answers): a new client's first command still succeeds within a
few seconds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_fixture import LocalCluster
from conftest import poll
from Pyro5.api import Daemon, Proxy, expose

from ticketing import names
from ticketing.client.connection import Connection
from ticketing.security.balancer_proof import BalancerProxy, entry_metadata
from ticketing.security.cluster_key import ClusterKey, SigningKey, load_cluster_key
from ticketing.security.secret import load_secret

USER = ("Ada Lovelace", "ada.lovelace@example.org")
DEAD_NAMES = 20
FIRST_COMMAND_BOUND = 10.0  # seconds: the "within a few seconds", generously


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    running = LocalCluster(tmp_path_factory.mktemp("hijack") / "data").start()
    yield running
    running.stop()


def public_key(cluster: LocalCluster) -> ClusterKey:
    """What a client host has: cluster.pub, never the secret."""
    return load_cluster_key(cluster.data_dir / "cluster.pub")


class Recorder:
    """Every call the impostor saw, its arguments as text."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[str] = []

    def saw(self, method: str, args: tuple) -> None:
        with self.lock:
            self.calls.append(f"{method}{args!r}")

    def carrying(self, *words: str) -> list[str]:
        with self.lock:
            return [call for call in self.calls if any(word in call for word in words)]


def forwarding_class(target_uri: str, recorder: Recorder) -> type:
    """A load balancer look-alike that records each call and forwards it to the real one."""

    def method(name: str) -> Any:
        def forward(self: Any, *args: Any) -> Any:
            recorder.saw(name, args)
            with Proxy(target_uri) as real:
                real._pyroTimeout = 10.0
                return getattr(real, name)(*args)

        forward.__name__ = name
        return expose(forward)

    api = [
        *("list_theaters", "get_available_seats", "get_seat_map", "get_seat_states"),
        *("block_seats", "block_best_available", "release_hold", "book_ticket"),
        *("get_ticket_details", "delete_ticket", "status"),
    ]
    return expose(type("Impostor", (), {name: method(name) for name in api}))


class RelayingDaemon(Daemon):
    """Passes each caller's handshake on to a real balancer and hands back its answer."""

    target_uri = ""

    def validateHandshake(self, conn: Any, data: Any) -> Any:
        answer: dict[str, Any] = {}

        class Relay(Proxy):
            @property
            def _pyroHandshake(self) -> Any:
                return data

            @_pyroHandshake.setter
            def _pyroHandshake(self, value: Any) -> None:
                pass

            def _pyroValidateHandshake(self, response: Any) -> None:
                answer["response"] = response

        with Relay(self.target_uri) as relay:
            relay._pyroTimeout = 5.0
            relay._pyroBind()
        return answer["response"]


def book_once(connection: Connection) -> str:
    """One booking through ``connection``, then its cancel, so seats never run out."""
    hold = connection.block_best_available("AMC", "dune", 1)
    ticket = connection.book_ticket(hold["hold_id"], *USER)
    assert connection.get_ticket_details("AMC", ticket["ticket_no"])["email"] == USER[1]
    assert connection.delete_ticket("AMC", ticket["ticket_no"]) is True
    return ticket["ticket_no"]


def test_an_impostor_balancer_never_sees_a_booking_and_loses_its_stolen_name(
    cluster: LocalCluster,
) -> None:
    key = public_key(cluster)
    real_1 = cluster.pool.resolve(names.load_balancer(1), refresh=True)
    real_2 = cluster.pool.resolve(names.load_balancer(2), refresh=True)
    recorder = Recorder()
    daemon = Daemon(host="127.0.0.1", port=0)
    relay = RelayingDaemon(host="127.0.0.1", port=0)
    relay.target_uri = real_2
    stop, serving = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=d.requestLoop, args=(lambda: not serving.is_set(),), daemon=True)
        for d in (daemon, relay)
    ]
    for thread in threads:
        thread.start()
    impostor = {
        name: str(daemon.register(forwarding_class(real_1, recorder)(), objectId=name))
        for name in (names.load_balancer(1), names.load_balancer(99))
    }
    relayed_name = names.load_balancer(98)
    relayed = str(relay.register(forwarding_class(real_2, recorder)(), objectId=relayed_name))
    with cluster.name_server() as ns:
        _, stolen_metadata = ns.lookup(names.load_balancer(1), return_metadata=True)
    # A signed entry for the relay, as if a real balancer had once served at its address.
    signer = SigningKey.from_secret(load_secret(cluster.data_dir))
    relayed_entry = entry_metadata(signer, relayed_name, relayed)

    def hijack() -> None:
        with cluster.name_server() as ns:
            while not stop.is_set():
                for name, uri in impostor.items():  # copying the real entry's signature
                    ns.register(name, uri, metadata=stolen_metadata)
                ns.register(relayed_name, relayed, metadata=relayed_entry)
                stop.wait(0.3)

    attacker = threading.Thread(target=hijack, daemon=True)
    try:
        long_lived = Connection("127.0.0.1", cluster.ns_port, cluster_key=key)
        book_once(long_lived)
        attacker.start()
        poll(lambda: ns_entry(cluster, names.load_balancer(99)), message="the impostor's entry")
        booked = [book_once(long_lived)]
        for _ in range(6):  # new users, each reading the hijacked name server afresh
            fresh = Connection("127.0.0.1", cluster.ns_port, cluster_key=key)
            booked.append(book_once(fresh))
            assert fresh.current in (names.load_balancer(1), names.load_balancer(2))
            fresh.close()
            booked.append(book_once(long_lived))
        long_lived.close()
    finally:
        stop.set()
        attacker.join(5)
    assert len(set(booked)) == len(booked)
    assert recorder.carrying(*USER) == []
    assert recorder.calls == []
    # The real balancer takes its name back from the impostor, which still answers.
    try:
        poll(
            lambda: ns_entry(cluster, names.load_balancer(1)) == real_1,
            timeout=10,
            message="load balancer 1 to take its name back",
        )
        with Proxy(impostor[names.load_balancer(1)]) as still_there:
            still_there._pyroTimeout = 5.0
            still_there._pyroBind()
    finally:
        serving.set()
        daemon.shutdown()
        relay.shutdown()
    for thread in threads:
        thread.join(5)
    daemon.close()
    relay.close()


def ns_entry(cluster: LocalCluster, name: str) -> str | None:
    with cluster.name_server() as ns:
        found = ns.list(prefix=name)
    return str(found[name]) if name in found else None


def test_a_relayed_handshake_does_not_prove_an_impostor(cluster: LocalCluster) -> None:
    """The relay gets a real balancer's signature, but over the real one's address."""
    real = cluster.pool.resolve(names.load_balancer(1), refresh=True)
    relay = RelayingDaemon(host="127.0.0.1", port=0)
    relay.target_uri = real
    look_alike = forwarding_class(real, Recorder())()
    uri = str(relay.register(look_alike, objectId=names.load_balancer(1)))
    stop = threading.Event()
    thread = threading.Thread(target=relay.requestLoop, args=(lambda: not stop.is_set(),))
    thread.start()
    try:
        with BalancerProxy(real, public_key(cluster)) as genuine:
            genuine._pyroTimeout = 5.0
            genuine._pyroBind()  # the real one proves itself
        with BalancerProxy(uri, public_key(cluster)) as relayed, pytest.raises(Exception) as no:
            relayed._pyroTimeout = 5.0
            relayed._pyroBind()
        assert "did not prove" in str(no.value)
    finally:
        stop.set()
        relay.shutdown()
        thread.join(5)
        relay.close()


@pytest.mark.slow
def test_forty_dead_balancer_names_cost_a_new_client_seconds_at_most(
    cluster: LocalCluster,
) -> None:
    signer = SigningKey.from_secret(load_secret(cluster.data_dir))
    silent = socket.create_server(("127.0.0.1", 0), backlog=2 * DEAD_NAMES)  # never accepts
    port = silent.getsockname()[1]
    registered = []
    try:
        with cluster.name_server() as ns:
            for index in range(100, 100 + DEAD_NAMES):  # an attacker's: unsigned
                name = names.load_balancer(index)
                ns.register(name, f"PYRO:{name}@127.0.0.1:{port}")
                registered.append(name)
            for index in range(200, 200 + DEAD_NAMES):  # hung balancers': signed
                name = names.load_balancer(index)
                uri = f"PYRO:{name}@127.0.0.1:{port}"
                ns.register(name, uri, metadata=entry_metadata(signer, name, uri))
                registered.append(name)
        for _ in range(2):
            client = Connection("127.0.0.1", cluster.ns_port, cluster_key=public_key(cluster))
            started = time.monotonic()
            assert client.list_theaters()
            took = time.monotonic() - started
            assert client.current in (names.load_balancer(1), names.load_balancer(2))
            assert took < FIRST_COMMAND_BOUND, f"first command took {took:.1f} s"
            book_once(client)
            client.close()
    finally:
        silent.close()
        with cluster.name_server() as ns:
            for name in registered:
                ns.remove(name)


def test_the_cluster_writes_its_public_key_beside_the_secret(cluster: LocalCluster) -> None:
    path: Path = cluster.data_dir / "cluster.pub"
    assert path.stat().st_mode & 0o777 == 0o644
    signer = SigningKey.from_secret(load_secret(cluster.data_dir))
    assert load_cluster_key(path).pem() == signer.public().pem()


def test_members_take_their_names_back_from_a_live_impostor(cluster: LocalCluster) -> None:
    stolen = [names.lock_server(1), names.DATASTORE_MANAGER]
    real = {name: cluster.pool.resolve(name, refresh=True) for name in stolen}
    daemon = Daemon(host="127.0.0.1", port=0)
    look_alike = forwarding_class(real[stolen[0]], Recorder())
    impostor = {name: str(daemon.register(look_alike(), objectId=name)) for name in stolen}
    serving = threading.Event()
    thread = threading.Thread(target=daemon.requestLoop, args=(lambda: not serving.is_set(),))
    thread.start()
    try:
        with cluster.name_server() as ns:
            for name, uri in impostor.items():
                ns.register(name, uri)
        for name in stolen:
            poll(
                lambda name=name: ns_entry(cluster, name) == real[name],
                timeout=10,
                message=f"{name} to take its name back",
            )
    finally:
        serving.set()
        daemon.shutdown()
        thread.join(5)
        daemon.close()
