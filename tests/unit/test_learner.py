"""The learner asks a peer at once when a decision arrives past a gap."""

from __future__ import annotations

import random

from ticketing.consensus.learner import Learner, LearnerConfig
from ticketing.consensus.messages import CatchupReply, CatchupRequest, Decide, Send
from ticketing.consensus.simulator import AppendLog
from ticketing.consensus.storage import DurableState, MemoryStorage
from ticketing.consensus.values import Batch, Command


def value(n: int) -> Batch:
    return Batch(float(n), (Command(f"q{n}", n),))


def learner() -> Learner:
    return Learner(
        "r1", ["r1", "r2"], AppendLog(), DurableState(), MemoryStorage(), random.Random(1),
        LearnerConfig(snapshot_every=100, amortize_snapshots=False),
    )  # fmt: skip


def test_a_gap_behind_a_decision_is_asked_for_at_once() -> None:
    node = learner()
    node.on_decide(Decide(((1, value(1)), (2, value(2)))), now=0.0)  # kept to serve peers
    node.tick(0.0)  # the periodic poll has just run: the next is a second away
    (send,) = node.on_decide(Decide(((4, value(4)),)), now=0.01)
    assert send == Send("r2", CatchupRequest("r1", 3))
    assert node.applied == 2


def test_a_reply_fills_the_gap_and_everything_applies_in_order() -> None:
    node = learner()
    node.on_decide(Decide(((3, value(3)),)), now=0.0)
    node.on_catchup_reply(CatchupReply("r2", None, ((1, value(1)), (2, value(2))), 3), now=0.1)
    assert node.applied == 3
    assert [payload for _, payload in node.sm.entries] == [1, 2, 3]
    assert node.on_decide(Decide(((4, value(4)),)), now=0.2) == []
