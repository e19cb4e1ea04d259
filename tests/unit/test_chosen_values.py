"""The proposer's record of chosen values: the prefix, the runs it hands back, its memory."""

from __future__ import annotations

from ticketing.consensus.chosen_values import ChosenValues
from ticketing.consensus.values import Batch


def value(n: int) -> Batch:
    return Batch(float(n))


def test_the_prefix_stops_at_the_first_gap_and_runs_stop_there_too() -> None:
    chosen = ChosenValues(memory=100)
    for slot in (1, 2, 4):
        chosen.add(slot, value(slot), now=float(slot))
    chosen.advance()
    assert chosen.below == 3
    assert chosen.run_from(1, limit=10) == [(1, value(1)), (2, value(2))]
    assert chosen.run_from(1, limit=1) == [(1, value(1))]
    assert chosen.run_from(3, limit=10) == []
    assert chosen.run_from(1, limit=10, chosen_by=1.5) == [(1, value(1))]  # 2 is too recent


def test_phase_one_moves_the_prefix_past_what_others_decided() -> None:
    chosen = ChosenValues(memory=100)
    chosen.advance(7)
    assert chosen.below == 7
    chosen.add(7, value(7), now=0.0)
    chosen.advance()
    assert chosen.below == 8


def test_memory_forgets_the_oldest_values_but_never_one_past_the_prefix() -> None:
    chosen = ChosenValues(memory=2)
    for slot in (1, 2, 3, 5, 6):
        chosen.add(slot, value(slot), now=0.0)
    chosen.advance()
    assert chosen.below == 4
    # 1, 2, 3 are below the prefix and may go; 5 and 6 stay (a gap at 4 holds them)
    assert chosen.run_from(1, limit=10) == []
    assert chosen.run_from(5, limit=10) == [(5, value(5)), (6, value(6))]
