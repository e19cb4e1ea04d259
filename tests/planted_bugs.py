"""Bugs planted in the consensus core, one small switch each, for the simulator to catch.

Each class is a broken variant of one part (acceptor, proposer, learner,
storage, a replica's client role) handed to ``Simulation`` or ``run_many``
through its factories; none is reachable from production code. ``PLANTED``
names them for the tests. They live at a module's top level so that worker
processes can import them by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.log_client import Catchup, LogClient
from ticketing.consensus.messages import Accept, Decide, Message
from ticketing.consensus.proposer import Proposer, Role
from ticketing.consensus.ready import Ready
from ticketing.consensus.replica import Replica
from ticketing.consensus.storage import MemoryStorage
from ticketing.consensus.values import Batch


class PromiseNotPersisted(MemoryStorage):
    """Acceptor: its promise never reaches the disk, so a restart forgets it."""

    def save_promised(self, ballot: Ballot) -> None:
        pass


class LastWriteLost(MemoryStorage):
    """Acceptor: a restart forgets the values accepted in the last flush (a torn write)."""

    def __init__(self) -> None:
        super().__init__()
        self._undo: dict[int, tuple[Ballot, Batch] | None] = {}

    def flush(self) -> None:
        before = dict(self._disk.accepted)
        slots = [args[0] for kind, args in self._pending if kind == "accepted"]
        super().flush()
        if slots:
            self._undo = {slot: before.get(slot) for slot in slots}

    def crash(self) -> None:
        super().crash()
        for slot, old in self._undo.items():
            if old is None:
                self._disk.accepted.pop(slot, None)
            else:
                self._disk.accepted[slot] = old
        self._undo = {}


class LyingFlush(MemoryStorage):
    """Storage: ``flush`` returns at once and writes only at the next flush (a lying cache)."""

    def __init__(self) -> None:
        super().__init__()
        self._cached: list[tuple[str, tuple]] = []

    def flush(self) -> None:
        acknowledged, self._pending = self._pending, self._cached
        super().flush()
        self._cached = acknowledged

    def crash(self) -> None:
        super().crash()
        self._cached = []


class LowestBallotProposer(Proposer):
    """Proposer: after phase 1 it re-proposes the value accepted with the lowest ballot."""

    def _recovered_value(self, slot: int, highest: dict) -> Batch:
        found = [
            (ballot, value)
            for promise in self._promises.values()
            for s, ballot, value in promise.accepted
            if s == slot and slot in highest
        ]
        if found:
            return min(found, key=lambda pair: pair[0])[1]
        return super()._recovered_value(slot, highest)


class EagerLearnerReplica(Replica):
    """Learner: applies a proposal as soon as its own acceptor accepts it, before it is chosen."""

    def step(self, msg: Message, now: float) -> Ready:
        ready = super().step(msg, now)
        if isinstance(msg, Accept) and msg.entries and msg.ballot == self.acceptor.promised:
            ready.sends += self.learner.on_decide(Decide(msg.entries), now)
        return ready


class SyncFlagDroppedReplica(Replica):
    """Replica: its ``Ready`` never asks for a sync, so replies leave before the disk has them."""

    def step(self, msg: Message, now: float) -> Ready:
        ready = super().step(msg, now)
        ready.must_sync = False
        return ready


class UnconfirmedReadProposer(Proposer):
    """Read index: a proposer that believes it leads answers at once, with no quorum round."""

    def request_read(self, read_id: int, now: float) -> Ready:
        if self.role is not Role.LEADING:
            return super().request_read(read_id, now)
        return Ready(reads=[(read_id, self.read_index())])


class UnbarrieredReadClient(LogClient):
    """Client role: a fresh read takes the coordinator's answer and reads at once, neither
    learning the values it hands back nor waiting for the read index to be applied."""

    def on_read_index_reply(self, index: int, decided: Decide | None) -> Catchup:
        return Catchup(None, 0)


@dataclass(frozen=True)
class PlantedBug:
    name: str
    part: str
    switches: dict[str, Any]


PLANTED = [
    PlantedBug("promise not persisted", "acceptor", {"storage_factory": PromiseNotPersisted}),
    PlantedBug("accepted values lost on restart", "acceptor", {"storage_factory": LastWriteLost}),
    PlantedBug(
        "highest accepted value not adopted", "proposer", {"proposer_factory": LowestBallotProposer}
    ),
    PlantedBug("applied on one accept", "learner", {"replica_factory": EagerLearnerReplica}),
    PlantedBug("flush acknowledged, not done", "storage", {"storage_factory": LyingFlush}),
    PlantedBug("sync flag dropped", "replica", {"replica_factory": SyncFlagDroppedReplica}),
    PlantedBug(
        "read index without a quorum round",
        "read index",
        {"proposer_factory": UnconfirmedReadProposer},
    ),
    PlantedBug(
        "read without waiting for the barrier",
        "client role",
        {"log_client_factory": UnbarrieredReadClient},
    ),
]
