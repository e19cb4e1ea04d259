"""This machine's ceiling: empty Pyro5 calls between two processes.

A booking crosses several processes, each hop a Pyro5 call, so the rate of
calls that do nothing, between this process and a tiny echo server with the
same number of client threads, is what bookings/s is compared with: the
ratio says how much of the machine's raw RPC capacity one booking costs,
whatever the machine. It is measured in both serializers the cluster
speaks: serpent (clients to load balancers) and msgpack (members between
themselves); the faster one is the ceiling bookings are compared with.

``python -m ticketing.bench.ceiling`` is the echo server: it prints its URI
on stdout and serves until it is terminated.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from Pyro5.api import Daemon, Proxy, expose

from ticketing.server import pyro_config

START_TIMEOUT = 30.0  # seconds for the echo server to print its URI
# Client threads at most: the echo server is a plain thread-pool daemon (a
# worker per connection), and two cores are saturated by far fewer callers.
MAX_CALLERS = 64


@expose
class Echo:
    def ping(self) -> None:
        """Nothing: the call's whole cost is Pyro5's."""


def serve_echo() -> None:
    pyro_config.configure()
    with Daemon(host="127.0.0.1", port=0) as daemon:
        print(daemon.register(Echo(), objectId="echo"), flush=True)
        daemon.requestLoop()


def null_call_rate(users: int, seconds: float, serializer: str = "serpent") -> float:
    """Empty calls per second from ``users`` threads (one proxy each) to an echo process.

    At most ``MAX_CALLERS`` threads: more only queue for the same cores.
    """
    users = min(users, MAX_CALLERS)
    pyro_config.configure()
    server = subprocess.Popen(
        [sys.executable, "-m", "ticketing.bench.ceiling"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        uri = _first_line(server)
        counts = [0] * users
        ready = threading.Barrier(users + 1)
        stop = threading.Event()

        def client(index: int) -> None:
            with Proxy(uri) as proxy:
                proxy._pyroSerializer = serializer
                proxy._pyroTimeout = 30.0
                proxy._pyroBind()
                ready.wait()
                while not stop.is_set():
                    proxy.ping()
                    counts[index] += 1

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(users)]
        for thread in threads:
            thread.start()
        ready.wait(timeout=START_TIMEOUT)
        started = time.monotonic()
        before = sum(counts)
        stop.wait(seconds)
        done = sum(counts) - before
        elapsed = time.monotonic() - started
        stop.set()
        for thread in threads:
            thread.join()
        return done / elapsed
    finally:
        server.terminate()
        server.wait()


def per_serializer(users: int, seconds: float) -> dict[str, float]:
    """``null_call_rate`` in each serializer the cluster speaks, one after the other."""
    return {
        serializer: null_call_rate(users, seconds, serializer)
        for serializer in pyro_config.ACCEPTED_SERIALIZERS
    }


def _first_line(server: subprocess.Popen) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(server.stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    if not found or not found[0].startswith("PYRO:"):
        raise RuntimeError(f"the echo server did not start (exit code {server.poll()})")
    return found[0].strip()


if __name__ == "__main__":
    serve_echo()
