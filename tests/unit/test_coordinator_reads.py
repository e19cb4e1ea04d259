"""The coordinator's read index over its real driver (ticker, peer links), replicas in process.

The replicas are the pure core behind a fake wire that can cut the coordinator
off from some of them, and a successor is played by hand: it takes two replicas
over with a higher ballot and has a write chosen there. The deposed coordinator,
which still hears from its own side, refuses the read rather than answering
with an index that misses that write.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import poll

from ticketing.consensus import codec
from ticketing.consensus.ballot import Ballot
from ticketing.consensus.messages import Accept, Accepted, Prepare, Promise
from ticketing.consensus.replica import Replica
from ticketing.consensus.storage import MemoryStorage
from ticketing.consensus.values import Batch, Command
from ticketing.errors import Unavailable
from ticketing.server import coordinator as coordinator_module
from ticketing.server.coordinator import Coordinator

REPLICAS = ["r1", "r2", "r3"]
LEASE = 0.3  # the replicas' acceptor lease: how long they stay loyal to a silent leader


class NullMachine:
    def apply(self, payload: Any, slot: int, now: float) -> Any:
        return {"ok": True}

    def snapshot(self) -> Any:
        return None

    def restore(self, snapshot: Any) -> None:
        pass


class Wire:
    """What the coordinator's ``ProxyPool`` would reach: replicas, some of them cut off."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.replicas = {
            r: Replica(r, REPLICAS, NullMachine(), MemoryStorage(), random.Random(1), lease=LEASE)
            for r in REPLICAS
        }
        self.cut: set[str] = set()

    def call(self, name: str, method: str, *args: Any) -> Any:
        if name in self.cut:
            raise Unavailable(f"{name} is cut off")
        reply = self.step(name, codec.loads(args[0]))
        return codec.dumps(reply) if method == "consensus" and reply is not None else None

    def step(self, name: str, message: Any) -> Any:
        """One message into replica ``name``; its reply to the sender, if any."""
        with self.lock:
            replica = self.replicas[name]
            ready = replica.step(message, time.time())
            if ready.must_sync:
                replica.storage.flush()
        return None if ready.reply is None else ready.reply.message


@pytest.fixture
def wire_and_coordinator(tmp_path: Path) -> Iterator[tuple[Wire, Coordinator]]:
    wire = Wire()
    coordinator = Coordinator("coord", REPLICAS, tmp_path / "coord", wire, "test")  # type: ignore[arg-type]
    try:
        poll(lambda: coordinator.status()["state"] == "leading", timeout=10, message="a leader")
        yield wire, coordinator
    finally:
        coordinator.close()


def test_a_leader_confirmed_by_a_quorum_gives_an_index_covering_its_writes(
    wire_and_coordinator: tuple[Wire, Coordinator],
) -> None:
    _, coordinator = wire_and_coordinator
    (slot,) = coordinator.submit([["w1", {"op": "w1"}]])["slots"]
    assert coordinator.commit_index()["index"] >= slot


def test_a_leader_deposed_behind_a_partition_refuses_instead_of_answering_stale(
    wire_and_coordinator: tuple[Wire, Coordinator], monkeypatch: pytest.MonkeyPatch
) -> None:
    wire, coordinator = wire_and_coordinator
    monkeypatch.setattr(coordinator_module, "READ_INDEX_TIMEOUT", 0.3)
    (before,) = coordinator.submit([["w1", {"op": "w1"}]])["slots"]
    wire.cut = {"r2", "r3"}  # the old leader keeps r1, which still answers its heartbeats

    # A successor on the other side: once the lease lapses r2 and r3 promise it a
    # higher ballot, and accept (choose) a write the old leader never hears of.
    successor = Ballot(coordinator.status()["ballot"][0] + 10, "successor")

    def promised() -> bool:
        replies = [wire.step(r, Prepare(successor, 1)) for r in ("r2", "r3")]
        return all(isinstance(reply, Promise) for reply in replies)

    poll(promised, timeout=10, message="r2 and r3 to promise the successor")
    write = Accept(successor, ((before + 1, Batch(time.time(), (Command("w2", {}),))),))
    assert all(isinstance(wire.step(r, write), Accepted) for r in ("r2", "r3"))

    assert coordinator.status()["state"] == "leading"  # it does not know it was deposed
    with pytest.raises(Unavailable, match="majority"):
        coordinator.commit_index()

    wire.cut = set()  # healed: r2 and r3 refuse the old ballot, it steps down
    poll(lambda: coordinator.status()["state"] != "leading", timeout=10, message="a step down")
    with pytest.raises(Unavailable):
        coordinator.commit_index()


def test_a_read_index_wait_is_bounded(
    wire_and_coordinator: tuple[Wire, Coordinator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every replica cut off the call fails within its timeout, and the proposer
    forgets the read (nothing is left waiting)."""
    wire, coordinator = wire_and_coordinator
    monkeypatch.setattr(coordinator_module, "READ_INDEX_TIMEOUT", 0.2)
    wire.cut = set(REPLICAS)
    with pytest.raises(Unavailable):
        coordinator.commit_index()
    assert not coordinator._host._read_waiters and not coordinator._host._proposer._reads.waiting
