"""The acceptor: Paxos's memory. It promises ballots and accepts values.

Safety lives here: an acceptor never accepts in a ballot below one it promised,
and every promise carries what it accepted, so a new coordinator learns any
value that may have been chosen. Every change goes through ``Storage``; the
step that made one says so (``take_unsynced``, the replica's ``Ready.must_sync``)
and the driver flushes before the reply leaves.

Leadership is sticky: while a coordinator keeps talking to this acceptor (its
proposals and heartbeats arrive within ``lease`` seconds), prepares from other
coordinators are refused. That costs nothing in safety (refusing is always
safe) and stops a healthy leader from being pre-empted by a standby, so two
coordinators do not duel while one of them works.
"""

from __future__ import annotations

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.messages import Accept, Accepted, Prepare, Promise, Rejected
from ticketing.consensus.storage import DurableState, Storage


class Acceptor:
    def __init__(
        self, node_id: str, durable: DurableState, storage: Storage, lease: float = 0.5
    ) -> None:
        self.node_id = node_id
        self.promised: Ballot = durable.promised
        self.accepted = dict(durable.accepted)
        self._storage = storage
        self._lease = lease
        self._unsynced = False  # a promise or an acceptance saved since the last take
        # Memory only: after a restart any coordinator may take over at once.
        self._leader_heard_at = float("-inf")

    def on_prepare(self, msg: Prepare, now: float, decided_below: int) -> Promise | Rejected:
        ballot = msg.ballot
        if ballot < self.promised or self._leader_is_alive(ballot, now):
            return Rejected(ballot, self.node_id, self.promised)
        self._promise(ballot, now)
        start = max(msg.from_slot, decided_below)
        accepted = tuple(
            (slot, b, value) for slot, (b, value) in sorted(self.accepted.items()) if slot >= start
        )
        return Promise(ballot, self.node_id, accepted, decided_below)

    def on_accept(self, msg: Accept, now: float, decided_below: int) -> Accepted | Rejected:
        ballot = msg.ballot
        if ballot < self.promised:
            return Rejected(ballot, self.node_id, self.promised)
        self._promise(ballot, now)
        for slot, value in msg.entries:
            # Slots already decided here keep their value: Paxos guarantees the
            # proposal equals it, and the decided log is the record.
            if slot >= decided_below:
                self.accepted[slot] = (ballot, value)
                self._storage.save_accepted(slot, ballot, value)
                self._unsynced = True
        slots = tuple(slot for slot, _ in msg.entries)
        return Accepted(ballot, self.node_id, slots, decided_below, msg.probe)

    def take_unsynced(self) -> bool:
        """Whether a promise or an acceptance was saved since the last call (then reset)."""
        unsynced, self._unsynced = self._unsynced, False
        return unsynced

    def forget_below(self, index: int) -> None:
        """Drop accepted values of slots up to ``index``, now covered by a snapshot."""
        self.accepted = {s: a for s, a in self.accepted.items() if s > index}

    def _leader_is_alive(self, ballot: Ballot, now: float) -> bool:
        return (
            ballot.proposer != self.promised.proposer and now - self._leader_heard_at < self._lease
        )

    def _promise(self, ballot: Ballot, now: float) -> None:
        if ballot > self.promised:
            self.promised = ballot
            self._storage.save_promised(ballot)
            self._unsynced = True
        self._leader_heard_at = now
