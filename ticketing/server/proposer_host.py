"""Runs a pure consensus ``Proposer`` inside a coordinator process.

The driver beside ``ReplicaHost``: one lock guards the single-threaded core;
Pyro5 worker threads step it with submits (and wait for their commands to be
chosen), the peer links step it with the acceptors' replies, and a ticker
thread drives its clock (resends, heartbeats, backoff, elections). Each step's
``Ready`` is carried out the same way whatever produced it: its messages go to
the peer links, its chosen slots wake the submits waiting on them, its
abandoned requests wake theirs empty-handed. The proposer's one durable fact,
its round, is saved by its storage before a Prepare is built, so its ``Ready``
never asks for a sync. Read indexes wait the same way for the quorum round
that confirms this proposer still leads (``Ready.reads``).

The core's ``now`` is this process's monotonic clock: it times resends,
heartbeats, backoff and elections, so a step of the wall clock cannot hasten or
stall them. Batches are stamped with the wall clock (``stamp``), the state
machines' time, compared across processes (see ``coordinator``'s docstring
for the bound that assumes).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ticketing.consensus.messages import Decide, Message
from ticketing.consensus.proposer import Proposer
from ticketing.consensus.ready import Ready
from ticketing.consensus.values import Command
from ticketing.errors import Unavailable
from ticketing.server.peer_link import PeerLink
from ticketing.server.proxies import ProxyPool
from ticketing.storage import SqliteProposerStorage

TICK_INTERVAL = 0.05  # seconds between ticks of the core


class _Waiter:
    __slots__ = ("event", "slot")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.slot: int | None = None


class ProposerHost:
    def __init__(
        self, name: str, proposer: Proposer, storage: SqliteProposerStorage, pool: ProxyPool
    ) -> None:
        self._name = name  # for messages
        self._proposer = proposer
        self._storage = storage
        self._lock = threading.Lock()
        self._waiters: dict[str, list[_Waiter]] = {}  # request id -> its submits
        self._read_waiters: dict[int, _Waiter] = {}  # read id -> its commit_index call
        self._next_read = 0
        peers = sorted({*proposer.acceptors, *proposer.learners})
        self._links = {r: PeerLink(r, pool, self._on_reply) for r in peers}
        self._stopping = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="ticker", daemon=True)
        self._ticker.start()

    def submit(self, commands: list[Command], timeout: float) -> list[int]:
        """The slot each of ``commands`` was chosen at; Unavailable if not within ``timeout``."""
        waiters = []
        with self._lock:
            for command in commands:
                waiter = _Waiter()
                self._waiters.setdefault(command.request_id, []).append(waiter)
                waiters.append((command.request_id, waiter))
            self._dispatch(self._proposer.submit(commands, time.monotonic(), time.time()))
        deadline = time.monotonic() + timeout
        slots = []
        for request_id, waiter in waiters:
            if not waiter.event.wait(max(0.0, deadline - time.monotonic())):
                with self._lock:
                    self._forget(request_id, waiter)
                raise Unavailable(f"{self._name}: not decided in time (no quorum?); retry")
            if waiter.slot is None:
                raise Unavailable(
                    f"{self._name} is not the leader right now (another coordinator "
                    "took over or is taking over); retry"
                )
            slots.append(waiter.slot)
        return slots

    def read_index(self, timeout: float) -> int:
        """A read index confirmed by a quorum (``Proposer.request_read``).

        Unavailable if this proposer does not lead, or cannot confirm within
        ``timeout`` that it still does (partitioned or deposed): the read is
        then forgotten, leaving nothing behind.
        """
        waiter = _Waiter()
        with self._lock:
            self._next_read += 1
            read_id = self._next_read
            self._read_waiters[read_id] = waiter
            self._dispatch(self._proposer.request_read(read_id, time.monotonic()))
        if not waiter.event.wait(timeout):
            with self._lock:
                self._read_waiters.pop(read_id, None)
                self._proposer.cancel_read(read_id)
            raise Unavailable(
                f"{self._name} could not confirm with a majority of replicas that it "
                "still leads (partitioned or deposed?); retry"
            )
        if waiter.slot is None:
            raise Unavailable(f"{self._name} is not leading right now; retry")
        return waiter.slot

    def chosen_from(self, slot: int, limit: int) -> Decide | None:
        with self._lock:
            return self._proposer.chosen_from(slot, limit)

    def status(self) -> dict[str, Any]:
        with self._lock:
            proposer = self._proposer
            return {
                "state": proposer.role.value,
                "ballot": proposer.ballot.to_plain(),
                "applied_index": proposer.chosen_below - 1,
                "next_slot": proposer.next_slot,
                "unreachable": [p for p, link in self._links.items() if not link.reachable],
            }

    def close(self) -> None:
        self._stopping.set()
        for link in self._links.values():
            link.close()
        self._storage.close()

    def _on_reply(self, message: Message) -> None:
        with self._lock:
            self._dispatch(self._proposer.receive(message, time.monotonic(), time.time()))

    def _tick_loop(self) -> None:
        while not self._stopping.wait(TICK_INTERVAL):
            with self._lock:
                self._dispatch(self._proposer.tick(time.monotonic()))

    def _dispatch(self, ready: Ready) -> None:
        """Carry out one step's ``Ready``; called under the lock."""
        for send in ready.sends:
            self._links[send.to].send(send.message)
        for slot, batch in ready.chosen:
            for command in batch.commands:
                for waiter in self._waiters.pop(command.request_id, ()):
                    waiter.slot = slot
                    waiter.event.set()
        for request_id in ready.abandoned:
            for waiter in self._waiters.pop(request_id, ()):
                waiter.event.set()
        for read_id, index in ready.reads:
            if (read := self._read_waiters.pop(read_id, None)) is not None:
                read.slot = index
                read.event.set()
        for read_id in ready.reads_refused:
            if (read := self._read_waiters.pop(read_id, None)) is not None:
                read.event.set()

    def _forget(self, request_id: str, waiter: _Waiter) -> None:
        waiters = self._waiters.get(request_id, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._waiters.pop(request_id, None)
