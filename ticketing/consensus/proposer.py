"""The proposer: the coordinator's role in Multi-Paxos.

A proposer that wants to lead runs phase 1 once, for every slot from the first
one it does not know to be chosen. From the promises it re-proposes, in each
slot, the value accepted with the highest ballot, and fills the holes with
no-ops; only then does it propose new commands. Then it runs phase 2 per slot,
several slots in flight (pipelining), many commands per slot (batching).

A proposer that meets a higher ballot, or a majority that is loyal to a live
leader, steps down, gives up what it had in flight (its callers retry with the
same request ids, which the replicas apply at most once) and tries again after
a randomised, growing backoff.

A leader answers a read index (``request_read``) only once a quorum of
acceptors has acknowledged, in its ballot, a message it sent after the request
came in (Raft's ReadIndex): a leader deposed behind a partition believes it
leads, but the acceptors that promised its successor refuse it, so it cannot
gather that quorum and never answers with a stale index.

Time comes in as ``now``: the driver's clock for timers (resends, heartbeats,
backoff, elections), best a monotonic one. The steps that may propose
(``submit``, ``receive``) also take the ``stamp`` each new batch carries, the
state machines' time (hold expiry), which must be comparable across processes:
the driver's wall clock. A driver with one clock passes only ``now`` (the
simulator). Randomness comes from the ``rng`` the caller seeds.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from dataclasses import dataclass, field

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.chosen_values import ChosenValues
from ticketing.consensus.messages import (
    Accept,
    Accepted,
    Decide,
    Message,
    Prepare,
    Promise,
    Rejected,
    Send,
)
from ticketing.consensus.read_rounds import ReadRounds
from ticketing.consensus.ready import Ready
from ticketing.consensus.storage import ProposerStorage
from ticketing.consensus.values import Batch, Command


@dataclass(frozen=True, slots=True)
class ProposerConfig:
    batch_max: int = 256  # commands per slot
    window: int = 8  # slots in flight at once
    retry_interval: float = 0.1  # resend prepares/accepts that got no answer
    heartbeat_interval: float = 0.1  # empty Accept to an acceptor sent nothing this long
    # Proposals go to the first quorum of acceptors heard from lately, not to all
    # (the others learn the values from Decides): a call and a sync less per slot.
    thrifty: bool = False
    backoff_min: float = 0.05
    backoff_max: float = 1.0
    chosen_memory: int = 10_000  # chosen slots kept to resend to lagging learners
    resend_max: int = 200  # entries per catch-up Decide


class Role(enum.Enum):
    FOLLOWER = "follower"
    PREPARING = "preparing"
    LEADING = "leading"


@dataclass(slots=True)
class _InFlight:
    value: Batch
    accepted_by: set[str] = field(default_factory=set)
    sent_at: float = 0.0


class Proposer:
    def __init__(
        self,
        node_id: str,
        acceptors: list[str],
        learners: list[str],
        storage: ProposerStorage,
        rng: random.Random,
        config: ProposerConfig = ProposerConfig(),
    ) -> None:
        self.node_id = node_id
        self.acceptors = list(acceptors)
        self.learners = list(learners)
        self.config = config
        self._storage = storage
        self._rng = rng
        self._quorum = len(self.acceptors) // 2 + 1
        self.role = Role.FOLLOWER
        self.ballot = Ballot(storage.load_round(), node_id)
        self._seen_round = self.ballot.round
        self._retry_at = 0.0
        self._failures = 0
        self._promises: dict[str, Promise] = {}
        self._refusals: set[str] = set()
        self._phase_sent_at = 0.0
        self._queue: deque[Command] = deque()
        self._in_flight: dict[int, _InFlight] = {}
        self.next_slot = 1
        self._recovered_below = 1  # slots below were found in phase 1 (maybe acknowledged)
        self._chosen = ChosenValues(config.chosen_memory)
        self._learner_progress: dict[str, int] = {}
        self._last_stamp = 0.0
        self._stamp = 0.0  # the stamp the current step gave (its ``now`` when it gave none)
        self._last_sent: dict[str, float] = {}  # acceptor -> when it was last sent an Accept
        self._last_heard: dict[str, float] = {}  # acceptor -> when it last answered us
        # Every Accept carries the latest read round's number (its probe).
        self._reads = ReadRounds(self._quorum)

    # --- inputs ----------------------------------------------------------------

    def submit(self, commands: list[Command], now: float, stamp: float | None = None) -> Ready:
        self._stamp = now if stamp is None else stamp
        ready = Ready()
        self._queue.extend(commands)
        if self.role is Role.LEADING:
            self._propose_queued(now, ready)
        elif self.role is Role.FOLLOWER and now >= self._retry_at:
            self._start_phase1(now, ready)
        return ready

    def receive(self, msg: Message, now: float, stamp: float | None = None) -> Ready:
        self._stamp = now if stamp is None else stamp
        ready = Ready()
        match msg:
            case Promise() if msg.ballot == self.ballot and self.role is Role.PREPARING:
                self._on_promise(msg, now, ready)
            case Accepted() if msg.ballot == self.ballot and self.role is Role.LEADING:
                self._on_accepted(msg, now, ready)
            case Rejected() if msg.ballot == self.ballot:
                self._on_rejected(msg, now, ready)
            case Promise() | Accepted() | Rejected():
                self._seen_round = max(self._seen_round, msg.ballot.round)
        return ready

    def tick(self, now: float) -> Ready:
        ready = Ready()
        if self.role is Role.FOLLOWER:
            if now >= self._retry_at:
                self._start_phase1(now, ready)
        elif self.role is Role.PREPARING:
            if now - self._phase_sent_at >= self.config.retry_interval:
                self._phase_sent_at = now
                prepare = Prepare(self.ballot, self._chosen.below)
                ready.sends += [Send(a, prepare) for a in self.acceptors if a not in self._promises]
        else:
            self._resend_accepts(now, ready)
            self._resend_decides(now, ready)
            self._resend_probe(now, ready)
            self._heartbeat(now, ready)
        return ready

    def request_read(self, read_id: int, now: float) -> Ready:
        """Ask for a read index; it comes in a later ``Ready.reads`` once leadership is
        confirmed, or in ``Ready.reads_refused`` if this proposer does not lead.

        The read needs a round begun after it arrived: if none is in flight it
        starts one now (an empty Accept to every acceptor); if one is, the read
        waits for the next, which starts when that one is confirmed, so
        concurrent reads share one round trip. Accepts that carry proposals
        carry the round too, so under writes no extra message is needed.
        """
        ready = Ready()
        if self.role is not Role.LEADING:
            ready.reads_refused.append(read_id)
            return ready
        if self._reads.add(read_id):
            self._start_probe(now, ready)
        return ready

    def cancel_read(self, read_id: int) -> None:
        """Forget a read whose caller stopped waiting (it leaves no state behind)."""
        self._reads.cancel(read_id)

    @property
    def chosen_below(self) -> int:
        """Every slot below this one is known chosen."""
        return self._chosen.below

    def read_index(self) -> int:
        """The slot a replica must have applied for its reads to be current.

        Every write acknowledged so far is in it: a caller hears of a command
        only once a replica applied every slot up to its own. The slots phase 1
        recovered cover what an earlier leader may have acknowledged; they may
        have been chosen in its ballot, and applied, while this leader's
        re-proposal is still in flight, so the chosen slots just above them
        count too (a caller may have heard of those). Above that, the chosen
        prefix: a slot this leader has in flight, and the slots after it, no
        replica can have applied yet, so a read may go before them.
        """
        below = max(self._chosen.below, self._recovered_below)
        while below in self._chosen:
            below += 1
        return below - 1

    def chosen_from(self, start: int, limit: int) -> Decide | None:
        """The chosen values of slots ``start``, ``start + 1``, ... still remembered.

        At most ``limit`` of them, stopping at the first slot not known chosen.
        A replica that submits commands gets these with its answer: it can apply
        its own commands at once instead of waiting for the Decide broadcast,
        which may then linger to ride on a later Accept. None when there is
        nothing to give (the replica then learns as usual, or catches up).
        """
        entries = self._chosen.run_from(start, limit)
        return Decide(tuple(entries)) if entries else None

    # --- phase 1 ---------------------------------------------------------------

    def _start_phase1(self, now: float, ready: Ready) -> None:
        round_ = max(self._seen_round, self.ballot.round) + 1
        # On disk before the first Prepare leaves: never reuse a ballot after a restart.
        self._storage.save_round(round_)
        self.ballot = Ballot(round_, self.node_id)
        self._seen_round = round_
        self.role = Role.PREPARING
        self._promises = {}
        self._refusals = set()
        self._phase_sent_at = now
        prepare = Prepare(self.ballot, self._chosen.below)
        ready.sends += [Send(a, prepare) for a in self.acceptors]

    def _on_promise(self, msg: Promise, now: float, ready: Ready) -> None:
        self._promises[msg.acceptor] = msg
        self._last_heard[msg.acceptor] = now
        self._learner_progress[msg.acceptor] = msg.decided_below
        if len(self._promises) < self._quorum:
            return
        start = max(self._chosen.below, *(p.decided_below for p in self._promises.values()))
        self._chosen.advance(start)
        highest: dict[int, tuple[Ballot, Batch]] = {}
        for promise in self._promises.values():
            for slot, ballot, value in promise.accepted:
                if slot >= start and (slot not in highest or ballot > highest[slot][0]):
                    highest[slot] = (ballot, value)
        last = max(highest, default=start - 1)
        self.role = Role.LEADING
        self._failures = 0
        self._in_flight = {}
        self.next_slot = last + 1
        self._recovered_below = last + 1
        entries = []
        for slot in range(start, last + 1):
            value = self._recovered_value(slot, highest)
            self._in_flight[slot] = _InFlight(value, sent_at=now)
            entries.append((slot, value))
        self._broadcast_accept(tuple(entries), now, ready)
        self._propose_queued(now, ready)

    def _recovered_value(self, slot: int, highest: dict[int, tuple[Ballot, Batch]]) -> Batch:
        """The value phase 2 must propose in a slot found during phase 1.

        The one accepted with the highest ballot, since it may have been
        chosen; a no-op where nobody in the quorum accepted anything.
        """
        if slot in highest:
            return highest[slot][1]
        return Batch(self._last_stamp)

    # --- phase 2 ---------------------------------------------------------------

    def _propose_queued(self, now: float, ready: Ready) -> None:
        entries = []
        while self._queue and len(self._in_flight) < self.config.window:
            commands = []
            while self._queue and len(commands) < self.config.batch_max:
                commands.append(self._queue.popleft())
            self._last_stamp = max(self._last_stamp, self._stamp)
            value = Batch(self._last_stamp, tuple(commands))
            slot = self.next_slot
            self.next_slot += 1
            self._in_flight[slot] = _InFlight(value, sent_at=now)
            entries.append((slot, value))
        if entries:
            self._broadcast_accept(tuple(entries), now, ready)

    def _broadcast_accept(self, entries: tuple, now: float, ready: Ready) -> None:
        accept = Accept(self.ballot, entries, probe=self._reads.round)
        for acceptor in self._accept_targets(now) if entries else self.acceptors:
            ready.sends.append(Send(acceptor, accept))
            self._last_sent[acceptor] = now

    def _accept_targets(self, now: float) -> list[str]:
        """Who gets a new proposal: every acceptor, or (thrifty) a quorum of live ones.

        Thrifty picks the last acceptors in their fixed order that answered
        within two heartbeats, so the choice is stable while they are healthy;
        with fewer live ones than a quorum, everyone. The last, not the first:
        every caller prefers the first replica for its writes and some reads
        (``ReplicaGroup``), and it learns each value it submitted from the
        answer to its submit anyway, so sparing it the Accepts and their disk
        syncs keeps the busiest replica from being the busiest twice over. An
        acceptor that stops answering is passed over from then on, and what
        was sent to it is resent to the others after ``retry_interval``.
        """
        if not self.config.thrifty:
            return self.acceptors
        recent = now - 2 * self.config.heartbeat_interval
        live = [a for a in self.acceptors if self._last_heard.get(a, float("-inf")) >= recent]
        return live[-self._quorum :] if len(live) >= self._quorum else self.acceptors

    def _heartbeat(self, now: float, ready: Ready) -> None:
        """An empty Accept to each acceptor sent nothing for a heartbeat interval.

        It keeps every acceptor loyal (their lease) and tells us which ones
        answer, including those a thrifty leader sends no proposals to.
        """
        idle = [
            a
            for a in self.acceptors
            if now - self._last_sent.get(a, float("-inf")) >= self.config.heartbeat_interval
        ]
        if idle:
            heartbeat = Accept(self.ballot, (), probe=self._reads.round)
            for acceptor in idle:
                ready.sends.append(Send(acceptor, heartbeat))
                self._last_sent[acceptor] = now

    def _on_accepted(self, msg: Accepted, now: float, ready: Ready) -> None:
        self._learner_progress[msg.acceptor] = msg.decided_below
        self._last_heard[msg.acceptor] = now
        decided = []
        for slot in msg.slots:
            flight = self._in_flight.get(slot)
            if flight is None:
                continue
            flight.accepted_by.add(msg.acceptor)
            if len(flight.accepted_by) >= self._quorum:
                del self._in_flight[slot]
                decided.append((slot, flight.value))
        if decided:
            for slot, value in decided:
                self._chosen.add(slot, value, now)
            self._chosen.advance()
            ready.chosen += decided
            decide = Decide(tuple(decided))
            ready.sends += [Send(learner, decide) for learner in self.learners]
            self._propose_queued(now, ready)
        confirmed = self._reads.echoed(msg.acceptor, msg.probe)
        if confirmed is not None:  # after the slots above: the index includes them
            index = self.read_index()
            ready.reads += [(read_id, index) for read_id in confirmed]
            if self._reads.waiting:  # they need a round begun after them: the next
                self._start_probe(now, ready)

    def _resend_accepts(self, now: float, ready: Ready) -> None:
        stale = [
            (slot, f)
            for slot, f in self._in_flight.items()
            if now - f.sent_at >= self.config.retry_interval
        ]
        if not stale:
            return
        for acceptor in self.acceptors:
            entries = tuple((s, f.value) for s, f in stale if acceptor not in f.accepted_by)
            if entries:
                ready.sends.append(
                    Send(acceptor, Accept(self.ballot, entries, probe=self._reads.round))
                )
                self._last_sent[acceptor] = now
        for _, flight in stale:
            flight.sent_at = now

    def _resend_decides(self, now: float, ready: Ready) -> None:
        """Send chosen values again to learners whose progress shows they lack them.

        Only values chosen a retry interval ago: progress reports lag behind the
        Decide messages that are still on their way.
        """
        old_enough = now - self.config.retry_interval
        for learner, below in self._learner_progress.items():
            missing = self._chosen.run_from(below, self.config.resend_max, old_enough)
            if missing:
                ready.sends.append(Send(learner, Decide(tuple(missing))))

    # --- read index --------------------------------------------------------------------

    def _start_probe(self, now: float, ready: Ready) -> None:
        """Begin a read round: an empty Accept carrying its number to every acceptor."""
        heartbeat = Accept(self.ballot, (), probe=self._reads.begin(now))
        for acceptor in self.acceptors:
            ready.sends.append(Send(acceptor, heartbeat))
            self._last_sent[acceptor] = now

    def _resend_probe(self, now: float, ready: Ready) -> None:
        """The current round again, to acceptors that have not echoed it, if reads wait."""
        reads = self._reads
        if not reads.waiting or now - reads.sent_at < self.config.retry_interval:
            return
        reads.sent_at = now
        heartbeat = Accept(self.ballot, (), probe=reads.round)
        for acceptor in reads.lagging(self.acceptors):
            ready.sends.append(Send(acceptor, heartbeat))
            self._last_sent[acceptor] = now

    # --- stepping down -------------------------------------------------------------

    def _on_rejected(self, msg: Rejected, now: float, ready: Ready) -> None:
        self._seen_round = max(self._seen_round, msg.promised.round)
        self._refusals.add(msg.acceptor)
        outranked = msg.promised > self.ballot
        loyal_majority = self.role is Role.PREPARING and len(self._refusals) >= self._quorum
        if outranked or loyal_majority:
            self._step_down(now, ready)

    def _step_down(self, now: float, ready: Ready) -> None:
        self.role = Role.FOLLOWER
        ready.abandoned += [c.request_id for c in self._queue]
        for flight in self._in_flight.values():
            ready.abandoned += [c.request_id for c in flight.value.commands]
        self._queue.clear()
        self._in_flight = {}
        self._promises = {}
        ready.reads_refused += self._reads.end_ballot()
        self._failures += 1
        ceiling = min(self.config.backoff_max, self.config.backoff_min * 2**self._failures)
        self._retry_at = now + self._rng.uniform(self.config.backoff_min, ceiling)
