"""The proposer hands a submitting replica the chosen values it lacks (``chosen_from``)."""

from __future__ import annotations

import random

from ticketing.consensus.messages import Accept, Accepted, Decide, Prepare, Promise
from ticketing.consensus.proposer import Proposer, Role
from ticketing.consensus.storage import MemoryProposerStorage
from ticketing.consensus.values import Command

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
