"""A replica: one acceptor and one learner over one durable store.

This is what a lock server or a data store replica runs. ``step`` takes a
message, ``learn`` the chosen values its own client role was handed in a
coordinator's reply (``LogClient``), and ``tick`` the time; each returns a
``Ready``: whether to flush the
storage first (a promise or an accepted value was saved: on disk before anyone
hears of it), the reply to the message's sender, messages to others (catch-up
requests), and how many slots were applied.
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
from ticketing.consensus.ready import Ready
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

    def step(self, msg: Message, now: float) -> Ready:
        learner = self.learner
        snapshot_before = learner.snapshot
        applied_before = learner.applied
        ready = Ready()
        match msg:
            case Prepare():
                reply = self.acceptor.on_prepare(msg, now, learner.decided_below)
                ready.reply = Send(msg.ballot.proposer, reply)
            case Accept():
                if msg.decided:
                    ready.sends = learner.on_decide(Decide(msg.decided), now)
                reply = self.acceptor.on_accept(msg, now, learner.decided_below)
                ready.reply = Send(msg.ballot.proposer, reply)
            case Decide():
                ready.sends = learner.on_decide(msg, now)
            case CatchupRequest():
                ready.reply = Send(msg.learner, learner.on_catchup_request(msg))
            case CatchupReply():
                ready.sends = learner.on_catchup_reply(msg, now)
        if learner.snapshot is not snapshot_before:
            self.acceptor.forget_below(learner.snapshot.index)
        ready.must_sync = self.acceptor.take_unsynced()
        ready.applied = learner.applied - applied_before
        return ready

    def learn(self, decide: Decide, now: float) -> Ready:
        """Chosen values that came back with this replica's own submit or read barrier.

        Not a message from a peer: the replica asked for them. They are applied
        as a Decide is (at once, asking peers for any gap below them), so this
        names the entry point and shares the step.
        """
        return self.step(decide, now)

    def tick(self, now: float) -> Ready:
        return Ready(sends=self.learner.tick(now))
