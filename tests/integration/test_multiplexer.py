"""The multiplexer: idle and silent connections hold no worker; the bounds hold.

Each test runs a ``CrowdDaemon`` as its own process (``crowd_child.py``) with
small limits, and reaches it with real Pyro5 proxies and raw sockets.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT, poll
from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError, ConnectionClosedError

from ticketing.errors import InvalidRequest, Unavailable
from ticketing.security.fairness import RETRY_AFTER_MAX, RETRY_AFTER_MIN
from ticketing.server import pyro_config

CHILD = ROOT / "tests" / "crowd_child.py"


@contextmanager
def a_blocked_call(server: Child) -> Iterator[None]:
    """Inside: one call is blocked in ``server`` (on a worker); after: it returned True."""
    answers: list[object] = []

    def blocked() -> None:
        with server.proxy() as proxy:
            answers.append(proxy.block())

    waiter = threading.Thread(target=blocked)
    waiter.start()
    try:
        server.wait_line("BLOCKED")
        yield
    finally:
        server.release()
        waiter.join()
    assert answers == [True]


class Child:
    """A running crowd_child.py: its URI, port and pid, and the lines it prints."""

    def __init__(self, *flags: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        line = self.process.stdout.readline()
        assert line.startswith("SERVING "), line
        self.uri = line.split()[1]
        self.port = int(self.uri.rsplit(":", 1)[1])

    def proxy(self) -> Proxy:
        proxy = Proxy(self.uri)
        proxy._pyroTimeout = 20.0
        return proxy

    def raw(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=20.0)
        return sock

    def threads(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        raise AssertionError("no thread count")

    def wait_line(self, expected: str) -> None:
        assert self.process.stdout.readline().strip() == expected

    def release(self) -> None:
        os.kill(self.process.pid, signal.SIGUSR1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def child() -> Iterator[Callable[..., Child]]:
    pyro_config.configure()
    started: list[Child] = []

    def start(*flags: str) -> Child:
        started.append(Child(*flags))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def closed_by_server(sock: socket.socket) -> bool:
    """Wait (up to the socket's timeout) for the server to close; True if it did."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_connected_clients_hold_no_worker(child: Callable[..., Child]) -> None:
    server = child("--workers", "2")
    proxies = [server.proxy() for _ in range(300)]
    try:
        for proxy in proxies:
            proxy._pyroBind()
        assert [proxy.echo(n) for n, proxy in enumerate(proxies)] == list(range(300))
        assert server.threads() <= 2 + 2  # the workers, the selector, nothing a connection
    finally:
        for proxy in proxies:
            proxy._pyroRelease()


def test_a_call_that_waits_does_not_stall_the_others(child: Callable[..., Child]) -> None:
    """Pyro5's own multiplex server would not read the echo until block() returned."""
    server = child("--workers", "2")
    with a_blocked_call(server), server.proxy() as proxy:
        assert proxy.echo("meanwhile") == "meanwhile"


def test_silent_and_trickling_clients_are_closed_at_the_deadline_and_stall_no_one(
    child: Callable[..., Child],
) -> None:
    server = child("--workers", "1", "--deadline", "1", "--idle-timeout", "2")
    silent = server.raw()  # connects and says nothing
    trickling = server.raw()
    trickling.sendall(b"PY")  # the start of a hello, then nothing (slowloris)
    idle = server.proxy()
    try:
        idle._pyroBind()  # greeted, then quiet
        with server.proxy() as proxy:  # the one worker is free for everyone else
            assert proxy.echo(1) == 1
        assert closed_by_server(silent)
        assert closed_by_server(trickling)
        idle._pyroConnection.sock.settimeout(20.0)
        assert closed_by_server(idle._pyroConnection.sock)
    finally:
        silent.close()
        trickling.close()
        idle._pyroRelease()


@pytest.mark.parametrize(
    "flags",
    [("--max-connections", "3"), ("--per-address", "3", "--no-loopback-exemption")],
    ids=["in-all", "per-address"],
)
def test_connections_beyond_a_limit_are_closed_and_the_others_served(
    child: Callable[..., Child], flags: tuple[str, ...]
) -> None:
    server = child("--workers", "2", *flags)
    proxies = [server.proxy() for _ in range(3)]
    try:
        for proxy in proxies:
            proxy._pyroBind()
        with server.proxy() as extra, pytest.raises(CommunicationError):
            extra._pyroBind()
        assert proxies[0].echo("still served") == "still served"
        proxies[0]._pyroRelease()

        def bound() -> bool:
            with server.proxy() as again:
                return again.echo(2) == 2

        poll(bound, message="a connection once one was closed")
    finally:
        for proxy in proxies:
            proxy._pyroRelease()


def test_loopback_is_exempt_from_the_per_address_cap(child: Callable[..., Child]) -> None:
    server = child("--workers", "2", "--per-address", "3")
    proxies = [server.proxy() for _ in range(6)]
    try:
        assert [proxy.echo(n) for n, proxy in enumerate(proxies)] == list(range(6))
    finally:
        for proxy in proxies:
            proxy._pyroRelease()


def test_an_oversized_request_is_dropped_unread_and_answered(child: Callable[..., Child]) -> None:
    server = child("--workers", "2", "--deadline", "60")  # answered at once, not at a deadline
    with server.proxy() as proxy:
        with pytest.raises(InvalidRequest, match="over this server's cap"):
            proxy.echo("x" * (2 << 20))
        assert proxy.echo("small") == "small"  # the same connection serves on


def test_an_oversized_hello_closes_its_connection_only(child: Callable[..., Child]) -> None:
    server = child("--workers", "2", "--deadline", "60")
    with server.proxy() as proxy, pytest.raises(ConnectionClosedError):
        proxy._pyroHandshake = "x" * 5000  # over the 4 KiB a hello may take
        proxy._pyroBind()
    with server.proxy() as proxy:
        assert proxy.echo("small") == "small"


def test_calls_beyond_the_queue_are_refused_at_once_with_a_retry_hint(
    child: Callable[..., Child],
) -> None:
    server = child("--workers", "1", "--max-queued", "1")
    callers = [server.proxy() for _ in range(5)]
    for proxy in callers:
        proxy._pyroBind()  # greeted while the worker is free
    outcomes: list[object] = []
    lock = threading.Lock()

    def blocked() -> None:
        with server.proxy() as proxy:
            outcomes.append(proxy.block())

    def call(proxy: Proxy) -> None:
        proxy._pyroClaimOwnership()
        try:
            result: object = proxy.echo("served")
        except Unavailable as exc:
            result = exc
        with lock:
            outcomes.append(result)

    waiter = threading.Thread(target=blocked)
    waiter.start()
    server.wait_line("BLOCKED")
    threads = [threading.Thread(target=call, args=(proxy,)) for proxy in callers]
    for thread in threads:
        thread.start()
    try:
        # One call waits in the queue; the four others are answered while the worker is busy.
        poll(lambda: len(outcomes) == 4, message="four refusals")
    finally:
        server.release()
        waiter.join()
        for thread in threads:
            thread.join()
    refusals = [o for o in outcomes if isinstance(o, Unavailable)]
    assert len(refusals) == 4 and outcomes.count("served") == 1 and True in outcomes
    for refusal in refusals:
        assert "retry in" in str(refusal)
        assert RETRY_AFTER_MIN <= refusal.retry_after <= RETRY_AFTER_MAX
    for proxy in callers:
        proxy._pyroClaimOwnership()
        proxy._pyroRelease()


def test_calls_the_gate_would_refuse_are_refused_at_the_door(child: Callable[..., Child]) -> None:
    """With the only worker busy in the one admitted call, others are answered unread."""
    server = child("--workers", "1", "--admission", "1")
    callers = [server.proxy() for _ in range(3)]
    for proxy in callers:
        proxy._pyroBind()
    try:
        with a_blocked_call(server):
            for proxy in callers:
                with pytest.raises(Unavailable, match="serving 1 people already") as refused:
                    proxy.echo("refused")
                assert RETRY_AFTER_MIN <= refused.value.retry_after <= RETRY_AFTER_MAX
    finally:
        for proxy in callers:
            proxy._pyroRelease()
