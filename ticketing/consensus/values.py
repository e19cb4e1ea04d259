"""What the log holds: batches of client commands, stamped by the coordinator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Command:
    """One client request to the replicated state machine.

    ``request_id`` is chosen by the client and is the same on every retry: a
    replica applies a request id once and answers every retry with the first
    result (exactly-once). ``payload`` is opaque here: plain, serpent-friendly
    data that only the state machine reads.
    """

    request_id: str
    payload: Any


@dataclass(frozen=True, slots=True)
class Batch:
    """The value of one log slot: zero or more commands and the time they run at.

    ``stamp`` is the coordinator's clock when it proposed the batch; state
    machines read time only from here (never from a replica's own clock), so
    every replica computes the same lease expiries. An empty batch is a no-op,
    used to fill holes when a new coordinator takes over.
    """

    stamp: float
    commands: tuple[Command, ...] = ()

    def to_plain(self) -> list:
        return [self.stamp, [[c.request_id, c.payload] for c in self.commands]]

    @staticmethod
    def from_plain(plain: list | tuple) -> Batch:
        stamp, commands = plain
        return Batch(float(stamp), tuple(Command(str(r), p) for r, p in commands))


NOOP = Batch(0.0)
