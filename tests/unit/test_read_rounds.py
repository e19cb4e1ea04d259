"""The leader's read rounds on their own: which reads a quorum of echoes confirms."""

from __future__ import annotations

from ticketing.consensus.read_rounds import ReadRounds


def test_a_read_waits_for_a_round_begun_after_it() -> None:
    rounds = ReadRounds(quorum=2)
    assert rounds.add(1)  # nothing in flight: begin one now
    first = rounds.begin(now=0.0)
    assert not rounds.add(2)  # round `first` is in flight: read 2 needs the next
    assert rounds.echoed("a", first) is None  # one echo is no quorum
    assert rounds.echoed("b", first) == [1]  # a quorum: read 1 only
    assert rounds.waiting  # read 2 waits for the next round, which the caller begins
    second = rounds.begin(now=0.1)
    assert rounds.echoed("a", second) is None and rounds.echoed("c", second) == [2]
    assert not rounds.waiting


def test_an_old_or_repeated_echo_confirms_nothing() -> None:
    rounds = ReadRounds(quorum=2)
    rounds.add(1)
    current = rounds.begin(now=0.0)
    assert rounds.echoed("a", current) is None
    assert rounds.echoed("a", current) is None  # the same acceptor twice is not a quorum
    assert rounds.echoed("b", current - 1) is None  # a round begun before the read
    assert rounds.lagging(["a", "b", "c"]) == ["b", "c"]


def test_stepping_down_refuses_the_waiting_reads_and_forgets_the_echoes() -> None:
    rounds = ReadRounds(quorum=2)
    rounds.add(1)
    rounds.add(2)
    current = rounds.begin(now=0.0)
    rounds.echoed("a", current)
    assert sorted(rounds.end_ballot()) == [1, 2] and not rounds.waiting
    rounds.add(3)
    assert rounds.echoed("b", current) is None  # a's echo was of the old ballot


def test_a_cancelled_read_leaves_nothing() -> None:
    rounds = ReadRounds(quorum=2)
    rounds.add(1)
    rounds.cancel(1)
    assert not rounds.waiting
