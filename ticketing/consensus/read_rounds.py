"""The leader's read rounds (Raft's ReadIndex): which reads a quorum has confirmed.

A read index may be given only once a quorum of acceptors has acknowledged,
in the leader's ballot, a message sent after the read came in: then no
successor can have had a write acknowledged before it (every quorum shares an
acceptor with the successor's, which would have refused this ballot). Rounds
are numbered; every Accept the leader sends carries the latest number (its
``probe``), and each acceptor echoes the highest number it saw in its
``Accepted``. This object keeps the numbers and the waiting reads; the
proposer sends the messages and gives the index.
"""

from __future__ import annotations


class ReadRounds:
    def __init__(self, quorum: int) -> None:
        self._quorum = quorum
        self.round = 0  # the latest round begun
        self.sent_at = 0.0  # when it was last sent
        self._confirmed = 0  # the latest round a quorum echoed in this ballot
        self._echoes: dict[str, int] = {}  # acceptor -> latest round it echoed
        self._waiting: dict[int, int] = {}  # read id -> the round that must be confirmed

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def add(self, read_id: int) -> bool:
        """Wait for the next round; True if one must begin now (none is in flight).

        A round in flight began before this read came in, so it cannot
        confirm it: the read waits for the one after, which begins when the
        current one is confirmed, so concurrent reads share one round trip.
        """
        self._waiting[read_id] = self.round + 1
        return self._confirmed >= self.round

    def cancel(self, read_id: int) -> None:
        self._waiting.pop(read_id, None)

    def begin(self, now: float) -> int:
        """A new round, sent at ``now``; its number."""
        self.round += 1
        self.sent_at = now
        return self.round

    def echoed(self, acceptor: str, round_: int) -> list[int] | None:
        """``acceptor`` echoed ``round_``: None if no new round is confirmed by a quorum,
        else the reads that one confirmed (perhaps none: those waiting need the next)."""
        if round_ <= self._echoes.get(acceptor, 0):
            return None
        self._echoes[acceptor] = round_
        echoed = sorted(self._echoes.values(), reverse=True)
        if len(echoed) < self._quorum or echoed[self._quorum - 1] <= self._confirmed:
            return None
        self._confirmed = echoed[self._quorum - 1]
        done = [r for r, needed in self._waiting.items() if needed <= self._confirmed]
        for read_id in done:
            del self._waiting[read_id]
        return done

    def lagging(self, acceptors: list[str]) -> list[str]:
        """Those of ``acceptors`` that have not echoed the current round."""
        return [a for a in acceptors if self._echoes.get(a, 0) < self.round]

    def end_ballot(self) -> list[int]:
        """The leader stepped down: every waiting read is refused (returned); echoes
        count in one ballot only."""
        refused = list(self._waiting)
        self._waiting = {}
        self._echoes = {}
        self._confirmed = self.round
        return refused
