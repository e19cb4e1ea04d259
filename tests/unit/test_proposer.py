"""The proposer hands a submitting replica the chosen values it lacks (``chosen_from``)."""

from __future__ import annotations

import random

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.messages import Accept, Accepted, Decide, Prepare, Promise
from ticketing.consensus.proposer import Proposer, ProposerConfig, Role
from ticketing.consensus.storage import MemoryProposerStorage
from ticketing.consensus.values import Batch, Command

ACCEPTORS = ["a", "b", "c"]


def leading_proposer() -> Proposer:
    proposer = Proposer("p", ACCEPTORS, ACCEPTORS, MemoryProposerStorage(), random.Random(1))
    ready = proposer.tick(0.0)
    prepare = next(s.message for s in ready.sends if isinstance(s.message, Prepare))
    for acceptor in ACCEPTORS[:2]:
        proposer.receive(Promise(prepare.ballot, acceptor, (), 1), 0.0)
    assert proposer.role is Role.LEADING
    return proposer


def choose(proposer: Proposer, request_id: str) -> int:
    """Submit one command and let a majority accept it; the slot it was chosen at."""
    ready = proposer.submit([Command(request_id, {"op": request_id})], 1.0)
    accept = next(s.message for s in ready.sends if isinstance(s.message, Accept))
    slots = tuple(slot for slot, _ in accept.entries)
    for acceptor in ACCEPTORS[:2]:
        proposer.receive(Accepted(accept.ballot, acceptor, slots, 1), 1.0)
    return slots[-1]


def test_chosen_values_from_a_slot_in_order_up_to_a_limit() -> None:
    proposer = leading_proposer()
    slots = [choose(proposer, f"r{i}") for i in range(5)]
    decide = proposer.chosen_from(slots[1], limit=3)
    assert isinstance(decide, Decide)
    assert [slot for slot, _ in decide.entries] == slots[1:4]
    assert [batch.commands[0].request_id for _, batch in decide.entries] == ["r1", "r2", "r3"]


def test_nothing_to_hand_back_past_the_chosen_slots() -> None:
    proposer = leading_proposer()
    last = choose(proposer, "only")
    assert proposer.chosen_from(last + 1, limit=10) is None


def test_a_slot_still_in_flight_ends_the_run() -> None:
    proposer = leading_proposer()
    first = choose(proposer, "chosen")
    proposer.submit([Command("pending", {"op": "pending"})], 2.0)  # accepted by nobody yet
    decide = proposer.chosen_from(first, limit=10)
    assert decide is not None and [slot for slot, _ in decide.entries] == [first]


# -- thrifty: proposals to a quorum of live acceptors ------------------------------------


def thrifty_leader() -> Proposer:
    config = ProposerConfig(thrifty=True, heartbeat_interval=0.1, retry_interval=0.3)
    proposer = Proposer(
        "p", ACCEPTORS, ACCEPTORS, MemoryProposerStorage(), random.Random(1), config
    )
    ready = proposer.tick(0.0)
    prepare = next(s.message for s in ready.sends if isinstance(s.message, Prepare))
    for acceptor in ACCEPTORS:
        proposer.receive(Promise(prepare.ballot, acceptor, (), 1), 0.0)
    return proposer


def proposal_targets(ready) -> list[str]:
    return sorted(s.to for s in ready.sends if isinstance(s.message, Accept) and s.message.entries)


def heartbeats_answered(proposer: Proposer, by: set[str], until: float) -> float:
    """Tick through heartbeats up to ``until``, the acceptors in ``by`` answering."""
    now = 0.0
    while now < until:
        now += 0.05
        for send in proposer.tick(now).sends:
            if isinstance(send.message, Accept) and send.to in by:
                proposer.receive(Accepted(send.message.ballot, send.to, (), 1), now)
    return now


def test_a_thrifty_leader_sends_proposals_to_a_quorum_only() -> None:
    proposer = thrifty_leader()
    # Phase 1 ended on the first two promises: before "c" answers anything, "a" and "b".
    ready = proposer.submit([Command("r", {"op": "r"})], 0.01)
    assert proposal_targets(ready) == ["a", "b"]
    now = heartbeats_answered(proposer, {"a", "b", "c"}, 0.5)
    ready = proposer.submit([Command("r2", {"op": "r"})], now)
    # The last ones: "a" is every caller's favourite replica, spared the Accepts.
    assert proposal_targets(ready) == ["b", "c"]


def test_a_thrifty_leader_passes_over_a_silent_acceptor_and_resends_to_the_others() -> None:
    proposer = thrifty_leader()
    now = heartbeats_answered(proposer, {"a", "c"}, 0.5)  # "b" has stopped answering
    ready = proposer.submit([Command("r", {"op": "r"})], now)
    assert proposal_targets(ready) == ["a", "c"]


def test_what_a_silent_target_did_not_accept_is_resent_to_the_rest() -> None:
    proposer = thrifty_leader()
    ready = proposer.submit([Command("r", {"op": "r"})], 0.01)
    accept = next(s.message for s in ready.sends if isinstance(s.message, Accept))
    proposer.receive(Accepted(accept.ballot, "a", (accept.entries[0][0],), 1), 0.02)
    resent = proposer.tick(0.35)  # "b" never answered: past retry_interval
    assert proposal_targets(resent) == ["b", "c"]


# -- the read index -----------------------------------------------------------------------


def test_the_read_index_is_the_chosen_prefix_not_what_is_in_flight() -> None:
    proposer = leading_proposer()
    first = choose(proposer, "r1")
    assert proposer.read_index() == first
    ready = proposer.submit([Command("r2", {"op": "r2"})], 2.0)  # in flight: nobody heard of it
    ready = proposer.submit([Command("r3", {"op": "r3"})], 2.0)
    third = next(s.message for s in ready.sends if isinstance(s.message, Accept))
    for acceptor in ACCEPTORS[:2]:  # the later slot is chosen before the earlier one
        proposer.receive(Accepted(third.ballot, acceptor, (third.entries[0][0],), 1), 2.0)
    assert proposer.read_index() == first


def test_the_read_index_covers_what_phase_one_recovered() -> None:
    proposer = Proposer("p", ACCEPTORS, ACCEPTORS, MemoryProposerStorage(), random.Random(1))
    prepare = next(s.message for s in proposer.tick(0.0).sends if isinstance(s.message, Prepare))
    old = Batch(0.0, (Command("acked-by-the-old-leader", {"op": "x"}),))
    earlier = Ballot(0, "old")
    for acceptor in ACCEPTORS[:2]:
        proposer.receive(
            Promise(prepare.ballot, acceptor, ((1, earlier, old), (2, earlier, old)), 1), 0.0
        )
    assert proposer.role is Role.LEADING
    assert proposer.read_index() == 2  # a read waits until slots 1 and 2 are settled again


# -- two clocks: timers on ``now``, batches stamped with ``stamp`` -----------------------


def test_batches_carry_the_stamp_while_timers_run_on_now() -> None:
    """A driver passes a monotonic ``now`` and a wall-clock ``stamp``: the batch gets the
    stamp, and a wall clock stepped back by an hour neither stamps the log backwards nor
    stops the resends, which ``now`` alone times."""
    proposer = leading_proposer()
    ready = proposer.submit([Command("w1", {"op": "w1"})], now=5.0, stamp=1_000_000.0)
    accept = next(s.message for s in ready.sends if isinstance(s.message, Accept))
    assert [value.stamp for _, value in accept.entries] == [1_000_000.0]
    ready = proposer.submit([Command("w2", {"op": "w2"})], now=5.1, stamp=996_400.0)
    accept = next(s.message for s in ready.sends if isinstance(s.message, Accept))
    assert [value.stamp for _, value in accept.entries] == [1_000_000.0]  # never backwards
    resent = proposer.tick(5.1 + proposer.config.retry_interval)
    assert any(isinstance(s.message, Accept) and s.message.entries for s in resent.sends)


def test_without_a_stamp_the_batch_is_stamped_with_now() -> None:
    proposer = leading_proposer()
    ready = proposer.submit([Command("w1", {"op": "w1"})], now=7.0)
    accept = next(s.message for s in ready.sends if isinstance(s.message, Accept))
    assert [value.stamp for _, value in accept.entries] == [7.0]
