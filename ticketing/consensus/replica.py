"""A replica: one acceptor and one learner over one durable store.

This is what a lock server or a data store replica runs. ``step`` takes a
message and returns the replies; the driver must call ``storage.flush()``
before it sends them (the acceptor's promise and accepted values must be on
disk before anyone hears of them).
"""

from __future__ import annotations

import random

from ticketing.consensus.acceptor import Acceptor
from ticketing.consensus.learner import Learner, LearnerConfig
from ticketing.consensus.messages import (
    Accept,
    CatchupReply,
    CatchupRequest,
    Decide,
    Message,
    Prepare,
    Send,
)
from ticketing.consensus.state_machine import StateMachine
from ticketing.consensus.storage import Storage


class Replica:
    def __init__(
        self,
        node_id: str,
        peers: list[str],
        state_machine: StateMachine,
        storage: Storage,
        rng: random.Random,
        lease: float = 0.5,
        learner_config: LearnerConfig = LearnerConfig(),
    ) -> None:
        self.node_id = node_id
        self.storage = storage
        durable = storage.load()
        self.acceptor = Acceptor(node_id, durable, storage, lease)
        self.learner = Learner(node_id, peers, state_machine, durable, storage, rng, learner_config)
        self.acceptor.forget_below(self.learner.applied)

    @property
    def applied_index(self) -> int:
        return self.learner.applied

    def step(self, msg: Message, now: float) -> list[Send]:
        learner = self.learner
        snapshot_before = learner.snapshot
        match msg:
            case Prepare():
                reply = self.acceptor.on_prepare(msg, now, learner.decided_below)
                sends = [Send(msg.ballot.proposer, reply)]
            case Accept():
                extra = learner.on_decide(Decide(msg.decided), now) if msg.decided else []
                reply = self.acceptor.on_accept(msg, now, learner.decided_below)
                sends = [Send(msg.ballot.proposer, reply), *extra]
            case Decide():
                sends = learner.on_decide(msg, now)
            case CatchupRequest():
                sends = [Send(msg.learner, learner.on_catchup_request(msg))]
            case CatchupReply():
                sends = learner.on_catchup_reply(msg, now)
            case _:
                sends = []
        if learner.snapshot is not snapshot_before:
            self.acceptor.forget_below(learner.snapshot.index)
        return sends

    def tick(self, now: float) -> list[Send]:
        return self.learner.tick(now)
