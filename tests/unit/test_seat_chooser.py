"""The seat chooser: adjacent blocks, centre first, nearer rows next, never a taken seat."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.domain import seat_chooser
from ticketing.domain.seat_chooser import FREE, TAKEN, choose


def grid(*rows: str) -> bytearray:
    """A grid from pictures of rows: ``.`` free, ``x`` taken."""
    return bytearray(TAKEN if c == "x" else FREE for row in rows for c in row)


def test_a_block_in_the_centre_of_the_front_row_first() -> None:
    assert choose(grid("........", "........"), 8, 2) == [3, 4]
    assert choose(grid("........", "........"), 8, 3) == [2, 3, 4], "ties: the left one"


def test_the_centre_beats_a_nearer_row() -> None:
    taken = grid("...xx...", "........")
    assert choose(taken, 8, 2) == [11, 12], "row B's centre pair beats row A's off-centre ones"


def test_within_a_run_the_block_moves_as_close_to_the_centre_as_it_can() -> None:
    assert choose(grid("xxxxx...."), 9, 2) == [5, 6]
    assert choose(grid("....xxxxx"), 9, 2) == [2, 3]


def test_when_no_row_has_the_block_the_best_single_seats() -> None:
    assert choose(grid(".x.x.", "x.x.x"), 5, 3) == [2, 6, 8]


def test_too_few_free_seats_is_none() -> None:
    assert choose(grid("x.x", "xxx"), 3, 2) is None
    assert choose(grid("xxx"), 3, 1) is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        choose(grid("..."), 3, 0)
    with pytest.raises(ValueError):
        choose(grid("...."), 3, 1)


def the_slow_way(taken: bytearray, width: int, count: int) -> list[int] | None:
    """Every candidate ranked by the rules, the obvious way."""

    def distance(start: int, size: int) -> int:
        return abs(2 * start + size - width)

    rows = len(taken) // width
    blocks = [
        (distance(start, count), row, start)
        for row in range(rows)
        for start in range(width - count + 1)
        if not any(taken[row * width + start + i] for i in range(count))
    ]
    if blocks:
        _, row, start = min(blocks)
        return list(range(row * width + start, row * width + start + count))
    free = [i for i in range(len(taken)) if not taken[i]]
    if len(free) < count:
        return None
    free.sort(key=lambda i: (distance(i % width, 1), i // width, i % width))
    return sorted(free[:count])


@st.composite
def grids(draw: st.DrawFn) -> tuple[bytearray, int, int]:
    width = draw(st.integers(min_value=1, max_value=12))
    rows = draw(st.integers(min_value=1, max_value=8))
    cells = draw(st.lists(st.booleans(), min_size=rows * width, max_size=rows * width))
    count = draw(st.integers(min_value=1, max_value=6))
    return bytearray(TAKEN if c else FREE for c in cells), width, count


@settings(max_examples=500, deadline=None)
@given(grids())
def test_agrees_with_the_rules_written_the_slow_way(case: tuple[bytearray, int, int]) -> None:
    taken, width, count = case
    before = bytes(taken)
    chosen = choose(taken, width, count)
    assert chosen == the_slow_way(taken, width, count)
    assert bytes(taken) == before, "choosing changes nothing"
    assert choose(taken, width, count) == chosen, "deterministic"
    if chosen is not None:
        assert len(chosen) == count == len(set(chosen))
        assert not any(taken[i] for i in chosen), "never a taken seat"
        rows = {i // width for i in chosen}
        block = seat_chooser.best_block(taken, width, count)
        if block is not None:
            assert rows == {block // width} and chosen == list(range(block, block + count))
