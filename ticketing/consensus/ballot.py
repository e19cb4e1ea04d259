"""Ballots: the total order that decides which coordinator's proposals win."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Ballot:
    """A ballot number ``(round, proposer)``, compared as a tuple.

    The proposer id breaks ties between coordinators that pick the same round,
    so two coordinators never share a ballot. A coordinator keeps its highest
    round on disk so that after a restart it never reuses a ballot it already
    proposed in (two values in one ballot would break Paxos).
    """

    round: int
    proposer: str

    def to_plain(self) -> list:
        return [self.round, self.proposer]

    @staticmethod
    def from_plain(plain: list | tuple) -> Ballot:
        round_, proposer = plain
        return Ballot(int(round_), str(proposer))


ZERO = Ballot(0, "")
