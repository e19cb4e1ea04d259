"""The compact seat map: one character a seat, in seat-map order (A1, A2, ..., B1, ...).

``get_seat_map`` answers one ``{"seat", "state"}`` dict a seat; for a 50,000-seat venue serpent
spends most of a second writing and parsing them. ``get_seat_states`` answers the same states as
one string of the codes below, which costs next to nothing on the wire. A seat's label follows
from its position and the map's width, so the labels need not travel either. The load balancer
builds the string and the client reads it: both take the codes from here.
"""

from __future__ import annotations

from collections.abc import Iterator

from ticketing.domain.seats import SeatMap

FREE, HELD, BOOKED = ".", "h", "x"
STATE_NAMES = {FREE: "free", HELD: "held", BOOKED: "booked"}  # the contract's words


def rows(seat_map: SeatMap, codes: str) -> Iterator[tuple[list[str], str]]:
    """Each row's labels with that row's slice of ``codes``."""
    width = seat_map.seats_per_row
    for row, labels in enumerate(seat_map.row_labels()):
        yield labels, codes[row * width : (row + 1) * width]


def free_seats(seat_map: SeatMap, codes: str) -> list[str]:
    """The seats neither held nor booked, in seat-map order."""
    return [
        label
        for labels, row in rows(seat_map, codes)
        for label, code in zip(labels, row, strict=True)
        if code == FREE
    ]
