"""Seat labels as a user types them: `A1 A2`, `A1-A4`, `A1,A3`, or a mix.

The load balancer only knows single labels; ranges and lists are a convenience of the client, so
they are expanded here before anything is sent.
"""

from __future__ import annotations

from ticketing.domain.seats import parse_seat, row_label
from ticketing.errors import InvalidRequest


def split_label(label: str) -> tuple[str, int]:
    """Return (row letters, number) of a label such as `AB12`; InvalidRequest if it is none."""
    row, number = parse_seat(label)
    if number < 1:
        raise InvalidRequest(f"no seat {label.strip().upper()}: seats are numbered from 1")
    return row_label(row), number


def expand_range(first: str, last: str) -> list[str]:
    """All labels from `first` to `last` inclusive, within one row."""
    row, start = split_label(first)
    last_row, end = split_label(last)
    if row != last_row:
        raise InvalidRequest(
            f"range {first}-{last} spans rows; a range stays within one row, such as A1-A4"
        )
    if end < start:
        start, end = end, start
    return [f"{row}{number}" for number in range(start, end + 1)]


def parse_seats(words: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """Expand the seat words of a command into distinct labels, in the order typed."""
    if isinstance(words, str):
        words = [words]
    labels: list[str] = []
    for word in words:
        for part in word.replace(",", " ").split():
            if "-" in part:
                first, _, last = part.partition("-")
                labels.extend(expand_range(first, last))
            else:
                row, number = split_label(part)
                labels.append(f"{row}{number}")
    if not labels:
        raise InvalidRequest("no seats given; name them like A1 A2, A1-A4 or A1,A3")
    return tuple(dict.fromkeys(labels))
