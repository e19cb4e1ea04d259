"""``run/bench.py --crowd N``: N people connected at once, each on their own connection.

The issue's test of many connected people: "2,048 simulated people connected
at once across the balancers of the default cluster: none is refused for lack
of workers; a person the system cannot serve now gets Unavailable with a retry
hint within 100 ms, not a timeout". So:

1. start the default local cluster (or use ``--attach``'s);
2. connect N proxies, dealt round-robin over the balancers, from a few
   threads; a connection that is refused (Pyro5's thread pool says "no free
   workers") is counted under its error;
3. with everyone connected and idle, read each balancer's threads, resident
   memory and open files from /proc;
4. all of them ask for the seat map of the same event at once
   (``get_seat_states``: what a person does first when a sale opens), each
   on their own connection, and each answer is timed (``ask_all``);
5. print the connections refused, the answers by kind, the retry hints, and
   the latencies of the ``Unavailable`` answers and of the results.
"""

from __future__ import annotations

import argparse
import contextlib
import selectors
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from Pyro5 import config, protocol, serializers
from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError

from ticketing.bench.stats import percentile, summary_ms
from ticketing.bench.system import LocalCluster, System, attached, rss_mb
from ticketing.server.multiplexer import (
    FD_RESERVE,
    HEADER_SIZE,
    READ_CHUNK,
    raise_open_files_limit,
)

CONNECT_THREADS = 32
CALL_TIMEOUT = 30.0  # seconds: a timeout is an answer too, and a bad one


@dataclass(slots=True)
class Crowd:
    """What the people saw: refused connections, answers, hints and latencies."""

    people: int
    balancers: int
    target: str = ""
    refused: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    hints: list[float] = field(default_factory=list)
    idle_balancers: dict[str, dict[str, Any]] = field(default_factory=dict)


def run(args: argparse.Namespace) -> int:
    """Start (or attach to) a cluster, measure the crowd, print what it saw."""
    raise_open_files_limit(args.crowd + FD_RESERVE)
    if args.attach:
        crowd = _measured(attached(args.attach, args.data_dir), args.crowd)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="ticketing-crowd-"))
        cluster = LocalCluster(data_dir / "cluster", args.catalog)
        print(f"starting a local cluster in {data_dir} ...", file=sys.stderr, flush=True)
        try:
            crowd = _measured(cluster.start(), args.crowd)
        finally:
            cluster.stop()
            if not args.keep_data:
                shutil.rmtree(data_dir, ignore_errors=True)
    print(render(crowd), flush=True)
    return 0


def _measured(system: System, people: int) -> Crowd:
    try:
        return measure(system, people)
    finally:
        system.close()


def measure(system: System, people: int) -> Crowd:
    uris = system.load_balancers()
    with Proxy(uris[0]) as lb:
        lb._pyroTimeout = CALL_TIMEOUT
        theater = lb.list_theaters()[0]
    theater_id, event_id = theater["theater"], theater["events"][0]["event"]
    crowd = Crowd(people, len(uris), target=f"{theater_id} {event_id}")
    pids = {  # asked before the crowd connects: a full balancer might not answer then
        name: status["pid"]
        for name, status in system.statuses().items()
        if status.get("role") == "loadbalancer"
    }
    proxies = connect(uris, people, crowd.refused)
    crowd.idle_balancers = {name: process_figures(pid) for name, pid in pids.items()}
    connected = [proxy for proxy in proxies if proxy is not None]
    try:
        outcomes = ask_all(connected, "get_seat_states", (theater_id, event_id))
    finally:
        for proxy in connected:
            proxy._pyroRelease()
    for kind, hint, took in outcomes:
        crowd.answers[kind] += 1
        crowd.latencies.setdefault(kind, []).append(took)
        if hint is not None:
            crowd.hints.append(hint)
    return crowd


def ask_all(
    proxies: list[Proxy], method: str, args: tuple[Any, ...]
) -> list[tuple[str, float | None, float]]:
    """Send one call on every proxy's connection at once; each answer's kind, hint and latency.

    A thread a person would measure how this process shares its interpreter
    among two thousand threads, not how fast the cluster answers. So one
    thread writes every request (Pyro5's own message, as the proxy would
    send it) and another only collects the bytes of the answers as they come,
    each timed from the moment its request was written; they are read as
    answers afterwards.
    """
    serializer = serializers.serializers[config.SERIALIZER]
    requests = {}
    for proxy in proxies:
        data = serializer.dumpsCall(proxy._pyroUri.object, method, args, {})
        message = protocol.SendingMessage(
            protocol.MSG_INVOKE, 0, proxy._pyroSeq + 1, serializer.serializer_id, data
        )
        requests[proxy._pyroConnection.sock] = message.data
    sent_at: dict[socket.socket, float] = {}
    received: dict[socket.socket, bytearray] = {sock: bytearray() for sock in requests}
    took: dict[socket.socket, float] = {}
    selector = selectors.DefaultSelector()
    for sock in requests:
        selector.register(sock, selectors.EVENT_READ)

    def send_all() -> None:
        for sock, request in requests.items():
            sent_at[sock] = time.monotonic()
            with contextlib.suppress(OSError):  # it shows as a missing answer
                sock.sendall(request)

    sender = threading.Thread(target=send_all, name="crowd-sender")
    sender.start()
    deadline = time.monotonic() + CALL_TIMEOUT
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            try:
                chunk = sock.recv(READ_CHUNK)
            except OSError:
                chunk = b""
            received[sock] += chunk
            if not chunk or _whole(received[sock]):
                took[sock] = time.monotonic() - sent_at[sock]
                selector.unregister(sock)
    sender.join()
    selector.close()
    return [
        (*_kind(serializer, received[sock]), took[sock])
        if sock in took
        else ("no answer", None, CALL_TIMEOUT)
        for sock in requests
    ]


def _whole(data: bytearray) -> bool:
    """Whether ``data`` holds a whole Pyro5 message."""
    if len(data) < HEADER_SIZE:
        return False
    header = protocol.ReceivingMessage(bytes(data[:HEADER_SIZE]))
    return len(data) >= HEADER_SIZE + header.annotations_size + header.data_size


def _kind(serializer: Any, data: bytearray) -> tuple[str, float | None]:
    """``result``, or the refusal's class name and its retry hint."""
    if not _whole(data):
        return "connection closed", None
    answer = protocol.ReceivingMessage(bytes(data[:HEADER_SIZE]), bytes(data[HEADER_SIZE:]))
    if not answer.flags & protocol.FLAGS_EXCEPTION:
        return "result", None
    refusal = serializer.loads(answer.data)
    return type(refusal).__name__, getattr(refusal, "retry_after", None)


def connect(uris: list[str], people: int, refused: Counter[str]) -> list[Proxy | None]:
    """One bound proxy a person, dealt over the balancers; None where it was refused."""
    proxies: list[Proxy | None] = [None] * people
    lock = threading.Lock()

    def some(indices: range) -> None:
        for index in indices:
            proxy = Proxy(uris[index % len(uris)])
            proxy._pyroTimeout = CALL_TIMEOUT
            try:
                proxy._pyroBind()
            except CommunicationError as exc:
                proxy._pyroRelease()
                with lock:
                    refused[f"{type(exc).__name__}: {exc}"[:120]] += 1
                continue
            proxies[index] = proxy

    threads = [
        threading.Thread(target=some, args=(range(n, people, CONNECT_THREADS),))
        for n in range(CONNECT_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for proxy in proxies:
        if proxy is not None:
            proxy._pyroClaimOwnership()  # bound by a connecting thread, released by this one
    return proxies


def process_figures(pid: int) -> dict[str, Any]:
    """A process's threads, resident memory and open files, from /proc."""
    return {
        "threads": _proc_status(pid, "Threads"),
        "rss_mb": rss_mb(pid),
        "open_files": _open_files(pid),
    }


def _proc_status(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _open_files(pid: int) -> int | None:
    try:
        return len(list(Path(f"/proc/{pid}/fd").iterdir()))
    except OSError:
        return None


def render(crowd: Crowd) -> str:
    opened = crowd.people - sum(crowd.refused.values())
    lines = [
        f"crowd: {crowd.people} people on {crowd.balancers} load balancers, each on its own "
        f"connection, all asking for the seat map of {crowd.target} at once",
        f"connections: {opened} opened, {sum(crowd.refused.values())} refused",
    ]
    lines += [f"  refused {count}x: {why}" for why, count in crowd.refused.most_common()]
    lines.append("balancers with everyone connected, idle:")
    for name, figures in sorted(crowd.idle_balancers.items()):
        lines.append(
            f"  {name}: {figures['threads']} threads, {figures['rss_mb']} MB resident, "
            f"{figures['open_files']} open files"
        )
    kinds = ", ".join(f"{count} {kind}" for kind, count in crowd.answers.most_common())
    lines.append(f"answers: {kinds or 'none'}")
    if crowd.hints:
        hints = sorted(crowd.hints)
        lines.append(
            f"retry hints (s): min {hints[0]:.2f}, median {percentile(hints, 0.5):.2f}, "
            f"max {hints[-1]:.2f}"
        )
    lines.append(f"{'latency (ms)':<22}{'count':>7}{'p50':>9}{'p99':>9}{'max':>9}")
    for kind, samples in sorted(crowd.latencies.items()):
        figures = summary_ms(samples)
        lines.append(
            f"  {kind:<20}{figures['count']:>7}{figures['p50']:>9.1f}"
            f"{figures['p99']:>9.1f}{figures['max']:>9.1f}"
        )
    return "\n".join(lines)
