"""One event's seats as ``get_seat_states`` answers them, read a row at a time.

At a 50,000-seat venue the list of free labels costs the cluster and serpent a few hundred
milliseconds and a completer that walks it costs as much again on every key; the compact string
(one character a seat) arrives in a few milliseconds, and a row is a slice of it. So the
completer and the map ask this object about a row, never for every free seat.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticketing.domain.seat_codes import FREE
from ticketing.domain.seats import row_index, row_label


@dataclass(frozen=True, slots=True)
class SeatStates:
    rows: int
    seats_per_row: int
    codes: str
    """One ``seat_codes`` character a seat, row after row."""

    @classmethod
    def of(cls, answer: dict) -> SeatStates:
        return cls(int(answer["rows"]), int(answer["seats_per_row"]), str(answer["states"]))

    def __len__(self) -> int:
        return self.rows * self.seats_per_row

    def row_codes(self, row: int) -> str:
        return self.codes[row * self.seats_per_row : (row + 1) * self.seats_per_row]

    def free_count(self, row: int | None = None) -> int:
        """Free seats of one row, or of the whole event."""
        return (self.codes if row is None else self.row_codes(row)).count(FREE)

    def row_of(self, letters: str) -> int | None:
        """The index of the row labelled ``letters`` (any case), None if the map has none."""
        if not letters.isalpha() or not letters.isascii():
            return None
        index = row_index(letters.upper())
        return index if 0 <= index < self.rows else None

    def free_in_row(self, row: int) -> list[str]:
        label = row_label(row)
        return [f"{label}{n}" for n, code in enumerate(self.row_codes(row), 1) if code == FREE]

    def free_seats(self) -> list[str]:
        return [seat for row in range(self.rows) for seat in self.free_in_row(row)]

    def is_free(self, row: int, number: int) -> bool:
        return 1 <= number <= self.seats_per_row and self.row_codes(row)[number - 1] == FREE
