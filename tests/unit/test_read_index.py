"""The proposer's read index: answered only after a quorum confirms, in a round begun
after the request, that this proposer still leads (``Proposer.request_read``)."""

from __future__ import annotations

import random

from ticketing.consensus import codec
from ticketing.consensus.acceptor import Acceptor
from ticketing.consensus.ballot import Ballot
from ticketing.consensus.coalesce import coalesce
from ticketing.consensus.messages import Accept, Accepted, Prepare, Promise, Rejected
from ticketing.consensus.proposer import Proposer, Role
from ticketing.consensus.ready import Ready
from ticketing.consensus.storage import DurableState, MemoryProposerStorage, MemoryStorage
from ticketing.consensus.values import Batch, Command

ACCEPTORS = ["a", "b", "c"]


def leader() -> Proposer:
    proposer = Proposer("p", ACCEPTORS, ACCEPTORS, MemoryProposerStorage(), random.Random(1))
    prepare = next(s.message for s in proposer.tick(0.0).sends if isinstance(s.message, Prepare))
    for acceptor in ACCEPTORS[:2]:
        proposer.receive(Promise(prepare.ballot, acceptor, (), 1), 0.0)
    assert proposer.role is Role.LEADING
    return proposer


def probes(ready: Ready) -> dict[str, int]:
    """Acceptor -> the read round of the Accept it is sent in this step."""
    return {s.to: s.message.probe for s in ready.sends if isinstance(s.message, Accept)}


def echo(proposer: Proposer, acceptor: str, probe: int, now: float = 1.0) -> Ready:
    return proposer.receive(Accepted(proposer.ballot, acceptor, (), 1, probe), now)


def test_a_read_is_answered_only_once_a_quorum_echoed_a_round_begun_after_it() -> None:
    proposer = leader()
    asked = proposer.request_read(7, 1.0)
    assert not asked.reads and not asked.reads_refused
    round_ = probes(asked)
    assert sorted(round_) == ACCEPTORS and len(set(round_.values())) == 1
    probe = round_["a"]
    assert not echo(proposer, "a", probe).reads  # one acceptor is not a quorum
    answered = echo(proposer, "b", probe)
    assert answered.reads == [(7, proposer.read_index())]


def test_acknowledgements_of_messages_sent_before_the_request_do_not_confirm_it() -> None:
    """An Accepted that arrives after the request but answers an older Accept proves
    nothing about now: a successor may have taken over in between."""
    proposer = leader()
    before = probes(proposer.tick(0.5))  # a heartbeat, before any read
    proposer.request_read(1, 1.0)
    for acceptor in ACCEPTORS:
        assert not echo(proposer, acceptor, before.get(acceptor, 0)).reads
    proposer = leader()
    in_flight = probes(proposer.request_read(2, 1.0))["a"]
    proposer.request_read(3, 1.1)  # while round `in_flight` is on its way
    echo(proposer, "a", in_flight)
    assert [r for r, _ in echo(proposer, "b", in_flight).reads] == [2]


def test_a_deposed_proposer_never_confirms_a_read() -> None:
    """Its acceptors promised a higher ballot: they refuse its round, it steps down and
    refuses the read; cut off from them, it resends its round and never answers."""
    proposer = leader()
    probe = probes(proposer.request_read(1, 1.0))["a"]
    higher = Ballot(proposer.ballot.round + 1, "q")
    refused = proposer.receive(Rejected(proposer.ballot, "a", higher), 1.0)
    assert refused.reads_refused == [1] and not refused.reads
    assert proposer.role is Role.FOLLOWER
    assert not echo(proposer, "b", probe).reads  # a late echo of the old ballot counts for nothing
    assert proposer.request_read(2, 1.1).reads_refused == [2]

    partitioned = leader()
    probe = probes(partitioned.request_read(3, 1.0))["a"]
    resent = 0
    for step in range(1, 50):
        ready = partitioned.tick(1.0 + step * 0.1)
        assert not ready.reads
        resent += list(probes(ready).values()).count(probe)
    assert resent > 3, "the round is resent while the read waits"


def test_an_acceptor_that_promised_a_higher_ballot_refuses_the_round() -> None:
    acceptor = Acceptor("a", DurableState(), MemoryStorage())
    old, new = Ballot(1, "p"), Ballot(2, "q")
    acceptor.on_accept(Accept(old, ()), 0.0, 1)
    acceptor.on_prepare(Prepare(new, 1), 10.0, 1)
    assert isinstance(acceptor.on_accept(Accept(old, (), probe=5), 10.0, 1), Rejected)
    echoed = acceptor.on_accept(Accept(new, (), probe=5), 10.0, 1)
    assert isinstance(echoed, Accepted) and echoed.probe == 5


def test_reads_asked_while_a_round_is_in_flight_share_the_next_round() -> None:
    proposer = leader()
    first = probes(proposer.request_read(1, 1.0))["a"]
    assert not probes(proposer.request_read(2, 1.01)), "no new round while one is in flight"
    assert not probes(proposer.request_read(3, 1.02))
    echo(proposer, "a", first)
    confirmed = echo(proposer, "b", first)
    assert [r for r, _ in confirmed.reads] == [1]  # 2 and 3 came after round `first` began
    second = probes(confirmed)
    assert set(second.values()) == {first + 1}
    echo(proposer, "a", first + 1)
    assert sorted(r for r, _ in echo(proposer, "c", first + 1).reads) == [2, 3]


def test_proposals_carry_the_round_so_writes_confirm_reads() -> None:
    proposer = leader()
    probe = probes(proposer.request_read(1, 1.0))["a"]
    ready = proposer.submit([Command("w", {"op": "w"})], 1.0)
    accept = next(s.message for s in ready.sends if isinstance(s.message, Accept))
    assert accept.entries and accept.probe == probe
    slots = tuple(slot for slot, _ in accept.entries)
    proposer.receive(Accepted(accept.ballot, "a", slots, 1, accept.probe), 1.0)
    done = proposer.receive(Accepted(accept.ballot, "b", slots, 1, accept.probe), 1.0)
    assert done.reads == [(1, proposer.read_index())] and proposer.read_index() >= slots[-1]


def test_a_proposer_that_does_not_lead_refuses_at_once() -> None:
    follower = Proposer("p", ACCEPTORS, ACCEPTORS, MemoryProposerStorage(), random.Random(1))
    ready = follower.request_read(1, 0.0)
    assert ready.reads_refused == [1] and not ready.sends


def test_a_cancelled_read_is_not_answered() -> None:
    proposer = leader()
    probe = probes(proposer.request_read(1, 1.0))["a"]
    proposer.cancel_read(1)
    echo(proposer, "a", probe)
    assert not echo(proposer, "b", probe).reads


def test_the_round_survives_folding_and_the_wire() -> None:
    ballot = Ballot(3, "p")
    folded = coalesce([Accept(ballot, (), probe=4), Accept(ballot, ((9, Batch(1.0)),), probe=5)])
    assert [m.probe for m in folded] == [5]
    accepted = Accepted(ballot, "a", (9,), 2, 5)
    for message in [*folded, accepted]:
        assert codec.loads(codec.dumps(message)) == message
    old_wire = codec.encode(accepted)[:-1]  # from a replica that predates read rounds
    assert codec.decode(old_wire).probe == 0


def test_a_slot_chosen_above_one_still_in_flight_is_in_the_read_index() -> None:
    """Phase 1 recovered slot 1 and re-proposes it; slot 2, proposed after it, is chosen
    first. Its caller may hear of it (the replicas may have slot 1 from the earlier
    ballot that chose it), so a read must wait for slot 2 too."""
    proposer = Proposer("p", ACCEPTORS, ACCEPTORS, MemoryProposerStorage(), random.Random(1))
    prepare = next(s.message for s in proposer.tick(0.0).sends if isinstance(s.message, Prepare))
    earlier = Batch(0.0, (Command("q1", 1),))
    old = Ballot(prepare.ballot.round - 1, "o") if prepare.ballot.round > 1 else Ballot(0, "o")
    proposer.receive(Promise(prepare.ballot, "a", ((1, old, earlier),), 1), 0.0)
    proposer.receive(Promise(prepare.ballot, "b", (), 1), 0.0)
    assert proposer.role is Role.LEADING
    proposer.submit([Command("q2", 2)], 0.1)
    chosen = [
        proposer.receive(Accepted(proposer.ballot, acceptor, (2,), 1), 0.2).chosen
        for acceptor in ("a", "b")
    ]
    assert [slot for slot, _ in chosen[1]] == [2] and proposer.chosen_below == 1
    assert proposer.read_index() == 2
