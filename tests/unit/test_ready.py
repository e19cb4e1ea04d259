"""A replica's ``Ready``: when to sync, what the reply is, what else leaves, what was applied.

The drivers (``ReplicaHost``, the simulator, the consensus benchmark) decide
nothing of this themselves, so each flag is pinned here for each message kind.
"""

from __future__ import annotations

import random

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.messages import (
    Accept,
    Accepted,
    CatchupReply,
    CatchupRequest,
    Decide,
    Prepare,
    Promise,
    Rejected,
    Send,
)
from ticketing.consensus.ready import Ready
from ticketing.consensus.replica import Replica
from ticketing.consensus.simulator import AppendLog
from ticketing.consensus.storage import MemoryStorage
from ticketing.consensus.values import Batch, Command

B1 = Ballot(1, "c1")
B2 = Ballot(2, "c2")


def value(n: int) -> Batch:
    return Batch(float(n), (Command(f"q{n}", n),))


def replica() -> Replica:
    return Replica("r1", ["r1", "r2", "r3"], AppendLog(), MemoryStorage(), random.Random(1))


def test_a_promise_must_be_synced_before_its_reply_and_a_refusal_need_not() -> None:
    r = replica()
    given = r.step(Prepare(B2, 1), now=0.0)
    assert given.must_sync and isinstance(given.reply.message, Promise)
    assert given.reply.to == "c2" and given.sends == [] and given.applied == 0
    refused = r.step(Prepare(B1, 1), now=10.0)  # below the promise: nothing saved
    assert not refused.must_sync and isinstance(refused.reply.message, Rejected)


def test_an_accepted_value_must_be_synced_and_a_heartbeat_need_not() -> None:
    r = replica()
    accepted = r.step(Accept(B1, ((1, value(1)),)), now=0.0)
    assert accepted.must_sync and isinstance(accepted.reply.message, Accepted)
    heartbeat = r.step(Accept(B1, ()), now=0.1)  # same ballot, no entries: nothing new
    assert not heartbeat.must_sync and isinstance(heartbeat.reply.message, Accepted)


def test_a_decision_is_applied_and_counted_without_a_sync_or_a_reply() -> None:
    r = replica()
    ready = r.step(Decide(((1, value(1)), (2, value(2)))), now=0.0)
    assert ready.applied == 2 and not ready.must_sync and ready.reply is None
    assert r.learner.sm.entries == [[1, 1], [2, 2]]


def test_a_gap_asks_a_peer_and_the_peer_replies_to_the_asker() -> None:
    r = replica()
    gap = r.step(Decide(((3, value(3)),)), now=0.0)
    assert gap.reply is None and gap.applied == 0
    asks = gap.sends + r.tick(5.0).sends  # at once, or on a later tick
    assert asks and all(isinstance(ask.message, CatchupRequest) for ask in asks)
    ask = asks[0]
    peer = replica()
    peer.step(Decide(((1, value(1)), (2, value(2)))), now=0.0)
    answer = peer.step(ask.message, now=0.0)
    assert answer.reply.to == "r1" and isinstance(answer.reply.message, CatchupReply)
    caught_up = r.step(answer.reply.message, now=0.0)
    assert caught_up.applied == 3 and not caught_up.must_sync


def test_outgoing_puts_the_reply_first() -> None:
    reply = Send("c1", Accepted(B1, "r1", (1,), 0))
    ask = Send("r2", CatchupRequest("r1", 1))
    assert Ready(reply=reply, sends=[ask]).outgoing() == [reply, ask]
    assert Ready(sends=[ask]).outgoing() == [ask]
