"""Best available: which free seats a buyer who asks for "N seats" gets.

The choice must be a function of the seats' states alone, so that every
replica of the lock table, applying the same command to the same state, picks
the same seats: no randomness, no clock, ties broken by position.

"Best" is what a box office offers first:

1. ``count`` adjacent seats in one row, the block whose centre is closest to
   the centre of the row (of the screen), then the row nearest the screen
   (row A), then the leftmost;
2. when no row has ``count`` adjacent free seats, the ``count`` best free
   seats one by one, ranked the same way;
3. ``None`` when fewer than ``count`` seats are free.

A seat map is a grid of ``rows`` x ``seats_per_row`` in row-major order (as
``SeatMap.index``); ``taken`` has one byte a seat, ``TAKEN`` for a seat that
is held or sold and ``FREE`` otherwise. Free runs are found with a regular
expression over each row's bytes, so a 50,000-seat venue costs C loops, not a
Python object a seat.
"""

from __future__ import annotations

import re

FREE, TAKEN = 0, 1
_FREE_RUN = re.compile(b"\x00+")


def choose(taken: bytes | bytearray, seats_per_row: int, count: int) -> list[int] | None:
    """The seat indices (ascending) of the best ``count`` free seats, or None if too few."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if len(taken) % seats_per_row:
        raise ValueError(f"{len(taken)} seats do not fill rows of {seats_per_row}")
    block = best_block(taken, seats_per_row, count)
    if block is not None:
        return list(range(block, block + count))
    return best_singles(taken, seats_per_row, count)


def best_block(taken: bytes | bytearray, seats_per_row: int, count: int) -> int | None:
    """The first index of the best run of ``count`` adjacent free seats in one row."""
    if count > seats_per_row:
        return None
    best: tuple[int, int, int] | None = None
    ideal = (seats_per_row - count) // 2  # the block's start that centres it
    for row in range(len(taken) // seats_per_row):
        offset = row * seats_per_row
        if best is not None and _off_centre(ideal, seats_per_row, count) == best[0]:
            break  # rows further back cannot beat a perfectly centred block
        for run in _FREE_RUN.finditer(taken, offset, offset + seats_per_row):
            first, end = run.start() - offset, run.end() - offset
            if end - first < count:
                continue
            start = min(max(ideal, first), end - count)
            key = (_off_centre(start, seats_per_row, count), row, start)
            if best is None or key < best:
                best = key
    return None if best is None else best[1] * seats_per_row + best[2]


def best_singles(taken: bytes | bytearray, seats_per_row: int, count: int) -> list[int] | None:
    """The ``count`` best free seats taken one by one, or None if fewer are free."""
    free = list(_FREE_RUN.finditer(taken))
    if sum(run.end() - run.start() for run in free) < count:
        return None
    seats = [index for run in free for index in range(run.start(), run.end())]
    seats.sort(key=lambda index: _rank(index, seats_per_row))
    return sorted(seats[:count])


def _off_centre(start: int, seats_per_row: int, count: int) -> int:
    """How far (in half seats) a block starting at ``start`` sits from the row's centre."""
    return abs(2 * start + count - seats_per_row)


def _rank(index: int, seats_per_row: int) -> tuple[int, int, int]:
    row, column = divmod(index, seats_per_row)
    return (_off_centre(column, seats_per_row, 1), row, column)
