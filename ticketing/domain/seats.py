"""Seat labels: rows lettered A..Z, AA, AB, ...; seats numbered from 1.

A label maps to an index by arithmetic alone (row-major order), so a seat
map of any size costs two integers, and looking a seat up is O(1) with no
table to build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ticketing.errors import InvalidRequest, UnknownSeat
from ticketing.settings import MAX_SEAT_LABEL_LENGTH, MAX_SEAT_SPEC_LENGTH

_LABEL = re.compile(r"([A-Z]+)([0-9]+)")
_A = ord("A")


def row_label(index: int) -> str:
    """The letters of row ``index`` (0-based), in bijective base 26: 0 → A, 26 → AA."""
    if index < 0:
        raise ValueError(f"row index must be >= 0, got {index}")
    letters = []
    n = index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters.append(chr(_A + rest))
    return "".join(reversed(letters))


def row_index(letters: str) -> int:
    """The inverse of ``row_label``."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - _A + 1)
    return n - 1


def parse_seat(label: str) -> tuple[int, int]:
    """``(row_index, number)`` of a label such as ``"A7"`` or ``" aa12 "``.

    Case and surrounding blanks are forgiven; anything else that is not
    letters then digits is ``InvalidRequest``. Whether the seat exists is
    the seat map's question, not this function's.
    """
    if not isinstance(label, str):
        raise InvalidRequest(f"a seat label must be text such as 'A7', got {type(label).__name__}")
    text = label.strip().upper()
    if len(text) > MAX_SEAT_LABEL_LENGTH:
        raise InvalidRequest(f"seat label too long: {text[:MAX_SEAT_LABEL_LENGTH]}...")
    match = _LABEL.fullmatch(text)
    if match is None:
        raise InvalidRequest(f"not a seat label: {label!r} (row letters then a number, e.g. 'A7')")
    return row_index(match[1]), int(match[2])


class SeatMap:
    """The seats of one theater: ``rows`` rows of ``seats_per_row`` seats each."""

    __slots__ = ("rows", "seats_per_row")

    def __init__(self, rows: int, seats_per_row: int) -> None:
        if rows < 1 or seats_per_row < 1:
            raise ValueError(f"a seat map needs at least one seat, got {rows}x{seats_per_row}")
        self.rows = rows
        self.seats_per_row = seats_per_row

    def __len__(self) -> int:
        return self.rows * self.seats_per_row

    def __repr__(self) -> str:
        return f"SeatMap({self.rows}, {self.seats_per_row})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SeatMap):
            return NotImplemented
        return (self.rows, self.seats_per_row) == (other.rows, other.seats_per_row)

    def __hash__(self) -> int:
        return hash((self.rows, self.seats_per_row))

    def label(self, index: int) -> str:
        """The label of the seat at ``index`` in seat-map order."""
        row, col = divmod(index, self.seats_per_row)
        return f"{row_label(row)}{col + 1}"

    def labels(self) -> Iterator[str]:
        """Every label in seat-map order (row-major: A1, A2, ..., B1, ...)."""
        for row in range(self.rows):
            letters = row_label(row)
            for number in range(1, self.seats_per_row + 1):
                yield f"{letters}{number}"

    def row_labels(self) -> list[list[str]]:
        """The labels grouped by row, for drawing a seat map."""
        width = self.seats_per_row
        return [[f"{row_label(row)}{n}" for n in range(1, width + 1)] for row in range(self.rows)]

    def index(self, label: str) -> int:
        """The position of ``label`` in seat-map order; ``UnknownSeat`` when outside the map."""
        row, number = parse_seat(label)
        if row >= self.rows or not 1 <= number <= self.seats_per_row:
            last = self.label(len(self) - 1)
            raise UnknownSeat(f"no seat {label.strip().upper()} here (seats run from A1 to {last})")
        return row * self.seats_per_row + number - 1

    def contains(self, label: str) -> bool:
        """Whether ``label`` (well formed) names a seat of this map."""
        row, number = parse_seat(label)
        return row < self.rows and 1 <= number <= self.seats_per_row

    def canonical(self, label: str) -> str:
        """The one spelling of a seat that every component compares: ``" a07"`` → ``"A7"``."""
        return self.label(self.index(label))

    def normalize(self, labels: Iterable[str]) -> list[str]:
        """Canonical labels without repeats, in seat-map order.

        Seats are compared as strings downstream (the lock table keys on them),
        so every request passes through here before it is proposed.
        """
        indices = {self.index(label) for label in labels}
        return [self.label(i) for i in sorted(indices)]

    def expand(self, spec: str) -> list[str]:
        """Seats of a typed list such as ``"A1-A4, B2"``; ranges stay within one row."""
        if not isinstance(spec, str):
            raise InvalidRequest(f"a seat list must be text, got {type(spec).__name__}")
        if len(spec) > MAX_SEAT_SPEC_LENGTH:
            raise InvalidRequest(f"seat list too long (at most {MAX_SEAT_SPEC_LENGTH} characters)")
        indices: list[int] = []
        for part in spec.split(","):
            if not part.strip():
                continue
            if "-" not in part:
                indices.append(self.index(part))
                continue
            first, _, last = part.partition("-")
            start, end = self.index(first), self.index(last)
            if start // self.seats_per_row != end // self.seats_per_row:
                raise InvalidRequest(f"a range stays within one row: {part.strip()!r}")
            if start > end:
                raise InvalidRequest(f"a range runs from low to high numbers: {part.strip()!r}")
            indices.extend(range(start, end + 1))
        if not indices:
            raise InvalidRequest("no seats given (e.g. 'A1-A4, B2')")
        return [self.label(i) for i in sorted(set(indices))]
