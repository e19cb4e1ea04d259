"""The members' door (``members_server``) in this process: what an outsider gets before a hello.

The attacks on a real cluster are in ``test_hostile_connections``; these pin
each bound on its own, on a ``MembersDaemon`` served from a thread here.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from Pyro5 import protocol, serializers
from Pyro5.api import expose

from ticketing import settings
from ticketing.security.membership import MemberProxy, MembersDaemon
from ticketing.server import pyro_config

SECRET = "s" * 32
MSGPACK = serializers.serializers["msgpack"]


@expose
class Echo:
    def echo(self, value: object) -> object:
        return value


def serving(
    monkeypatch: pytest.MonkeyPatch, hello_deadline: float
) -> Iterator[tuple[str, tuple[str, int]]]:
    monkeypatch.setattr(settings, "HELLO_DEADLINE", hello_deadline)
    monkeypatch.setattr(settings, "MEMBERS_HELLO_PER_ADDRESS", 2)
    pyro_config.configure()
    members = MembersDaemon(SECRET, host="127.0.0.1", port=0)
    uri = members.register(Echo(), "echo")
    loop = threading.Thread(target=members.requestLoop, daemon=True)
    loop.start()
    try:
        yield str(uri), (uri.host, uri.port)
    finally:
        members.shutdown()
        loop.join(timeout=10)


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, tuple[str, int]]]:
    """A long hello deadline (30 s): a connection closed well before it was refused at once."""
    yield from serving(monkeypatch, hello_deadline=30.0)


@pytest.fixture
def quick_daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, tuple[str, int]]]:
    """A 1 s hello deadline, to see it close a silent connection."""
    yield from serving(monkeypatch, hello_deadline=1.0)


def member_call(uri: str) -> object:
    with MemberProxy(uri, SECRET) as proxy:
        proxy._pyroTimeout = 5.0
        return proxy.echo([1, "two"])


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server hangs up on ``sock`` within ``within`` seconds, saying nothing."""
    sock.settimeout(within)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_an_oversized_hello_is_dropped_on_its_header(daemon) -> None:
    uri, address = daemon
    size = settings.MAX_HELLO_BYTES + 1
    header = protocol.SendingMessage(
        protocol.MSG_CONNECT, 0, 1, MSGPACK.serializer_id, b"\0" * size
    ).data[: protocol._header_size]
    with socket.create_connection(address) as sock:
        sock.sendall(header)  # the body never comes: the header alone is refused
        assert closed_by_server(sock, within=5.0)  # long before the 30 s deadline
    assert member_call(uri) == [1, "two"]


def test_a_silent_connection_is_closed_at_the_hello_deadline(quick_daemon) -> None:
    uri, address = quick_daemon
    with socket.create_connection(address) as sock:
        assert closed_by_server(sock, within=10.0)  # the deadline is 1 s here
    assert member_call(uri) == [1, "two"]


def test_an_address_gets_few_connections_saying_hello_others_are_served(daemon) -> None:
    uri, address = daemon
    holders = [socket.create_connection(address, source_address=("127.0.0.2", 0)) for _ in "ab"]
    try:
        with socket.create_connection(address, source_address=("127.0.0.2", 0)) as third:
            assert closed_by_server(third, within=5.0)  # refused, long before the 30 s deadline
        assert member_call(uri) == [1, "two"]  # another address (127.0.0.1) is served
    finally:
        for sock in holders:
            sock.close()
