"""Folding messages for one peer keeps their meaning."""

from __future__ import annotations

import random

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.coalesce import coalesce
from ticketing.consensus.messages import Accept, Accepted, Decide, Prepare
from ticketing.consensus.replica import Replica
from ticketing.consensus.simulator import AppendLog
from ticketing.consensus.storage import MemoryStorage
from ticketing.consensus.values import Batch, Command

B1 = Ballot(1, "c1")
B2 = Ballot(2, "c1")


def value(n: int) -> Batch:
    return Batch(float(n), (Command(f"q{n}", n),))


def test_accepts_of_one_ballot_become_one_carrying_the_decisions() -> None:
    folded = coalesce(
        [
            Accept(B1, ((1, value(1)),)),
            Decide(((1, value(1)),)),
            Accept(B1, ((2, value(2)),)),
        ]
    )
    assert folded == [Accept(B1, ((1, value(1)), (2, value(2))), ((1, value(1)),))]


def test_a_prepare_is_never_overtaken_and_decisions_alone_stay_a_decide() -> None:
    messages = [Accept(B1, ((1, value(1)),)), Prepare(B2, 1), Accept(B2, ((1, value(9)),))]
    assert coalesce(messages) == messages
    assert coalesce([Decide(((2, value(2)),)), Decide(((1, value(1)),))]) == [
        Decide(((1, value(1)), (2, value(2))))
    ]


def test_a_replica_learns_the_decisions_an_accept_carries() -> None:
    replica = Replica("r1", ["r1", "r2", "r3"], AppendLog(), MemoryStorage(), random.Random(1))
    ready = replica.step(Accept(B1, ((1, value(1)),)), now=0.0)
    assert isinstance(ready.reply.message, Accepted) and replica.applied_index == 0
    replica.step(Accept(B1, ((2, value(2)),), ((1, value(1)),)), now=0.1)
    assert replica.applied_index == 1
    assert replica.learner.sm.entries == [[1, 1]]
