"""The narrow storage interface of the consensus core, and its in-memory version.

A replica's durable state is small: the acceptor's promised ballot, the values
it accepted, the decided log above the last snapshot, and that snapshot. The
core writes through ``save_*`` calls and the driver calls ``flush`` before any
reply leaves, so "on disk before the reply" is one rule in one place. SQLite
implements the same interface in ``ticketing.storage``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ticketing.consensus.ballot import ZERO, Ballot
from ticketing.consensus.messages import Snapshot
from ticketing.consensus.values import Batch


@dataclass(slots=True)
class DurableState:
    """What a replica finds on its disk when it starts."""

    promised: Ballot = ZERO
    accepted: dict[int, tuple[Ballot, Batch]] = field(default_factory=dict)
    decided: dict[int, Batch] = field(default_factory=dict)
    snapshot: Snapshot | None = None


class Storage(Protocol):
    """Durable state of one replica (acceptor + learner)."""

    def load(self) -> DurableState:
        """Everything flushed so far; a fresh store gives an empty state."""
        ...

    def save_promised(self, ballot: Ballot) -> None: ...

    def save_accepted(self, slot: int, ballot: Ballot, value: Batch) -> None: ...

    def save_decided(self, slot: int, value: Batch) -> None: ...

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` and drop accepted and decided entries at or below its index."""
        ...

    def flush(self) -> None:
        """Make every save since the last flush durable, atomically, before returning."""
        ...


class ProposerStorage(Protocol):
    """A coordinator's only durable fact: the highest round it has used."""

    def load_round(self) -> int: ...

    def save_round(self, round_: int) -> None:
        """Durable on return: a restarted coordinator must never reuse a ballot."""
        ...


class MemoryStorage:
    """In-memory ``Storage`` for tests and the simulator.

    Saves are pending until ``flush``; ``crash`` drops what is pending, as a
    power cut drops what was not yet synced. The flushed part plays the disk.
    """

    def __init__(self) -> None:
        self._disk = DurableState()
        self._pending: list[tuple[str, tuple]] = []

    def load(self) -> DurableState:
        disk = self._disk
        return DurableState(disk.promised, dict(disk.accepted), dict(disk.decided), disk.snapshot)

    def save_promised(self, ballot: Ballot) -> None:
        self._pending.append(("promised", (ballot,)))

    def save_accepted(self, slot: int, ballot: Ballot, value: Batch) -> None:
        self._pending.append(("accepted", (slot, ballot, value)))

    def save_decided(self, slot: int, value: Batch) -> None:
        self._pending.append(("decided", (slot, value)))

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._pending.append(("snapshot", (snapshot,)))

    def flush(self) -> None:
        disk = self._disk
        for kind, args in self._pending:
            if kind == "promised":
                disk.promised = max(disk.promised, args[0])
            elif kind == "accepted":
                slot, ballot, value = args
                disk.accepted[slot] = (ballot, value)
            elif kind == "decided":
                slot, value = args
                disk.decided[slot] = value
            else:
                (snapshot,) = args
                if disk.snapshot is None or snapshot.index > disk.snapshot.index:
                    disk.snapshot = snapshot
                    disk.accepted = {s: a for s, a in disk.accepted.items() if s > snapshot.index}
                    disk.decided = {s: d for s, d in disk.decided.items() if s > snapshot.index}
        self._pending.clear()

    def crash(self) -> None:
        """Lose every save that was not flushed."""
        self._pending.clear()


class MemoryProposerStorage:
    """In-memory ``ProposerStorage``; survives a simulated crash like a disk."""

    def __init__(self) -> None:
        self._round = 0

    def load_round(self) -> int:
        return self._round

    def save_round(self, round_: int) -> None:
        self._round = max(self._round, round_)
