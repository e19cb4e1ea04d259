"""Drawing a seat map: rows with their labels, the screen on top, one mark per seat.

The marks (`.` free, `h` held, `X` booked, `*` held by you) carry the meaning on their own, so
the map stays readable in a pipe or for a colour-blind reader; colour only helps.
"""

from __future__ import annotations

from collections.abc import Collection

from ticketing.client.style import Fragments
from ticketing.domain import seat_codes
from ticketing.domain.seats import SeatMap, row_label

MARKS = {"free": ".", "held": "h", "booked": "X", "mine": "*"}


def render_seat_map(answer: dict, *, title: str = "", mine: Collection[str] = ()) -> Fragments:
    """Draw ``get_seat_states``' answer (``rows``, ``seats_per_row``, ``states``).

    The compact answer is what keeps a big venue's map quick to fetch; the labels are worked
    out here from the map's size, as the load balancer numbers them.
    """
    rows, width = answer["rows"], answer["seats_per_row"]
    seat_map = SeatMap(rows, width)
    cell = max(3, len(str(width)) + 1)
    label_width = len(row_label(rows - 1)) + 1
    seats_width = width * cell

    out: Fragments = []
    if title:
        out.append(("class:heading", title + "\n"))
    margin = " " * label_width
    out.append(("", margin))
    out.append(("class:screen", " SCREEN ".center(seats_width, "-")))
    out.append(("", "\n\n"))
    out.append(("class:note", margin + "".join(str(n).rjust(cell) for n in range(1, width + 1))))
    out.append(("", "\n"))
    for row, (labels, codes) in enumerate(seat_codes.rows(seat_map, answer["states"])):
        row_name = row_label(row)
        out.append(("class:label", row_name.ljust(label_width)))
        for label, code in zip(labels, codes, strict=True):
            shown = "mine" if label in mine else seat_codes.STATE_NAMES.get(code, code)
            out.append((f"class:seat.{shown}", MARKS.get(shown, "?").rjust(cell)))
        out.append(("class:label", " " + row_name + "\n"))
    out.append(("", "\n" + margin))
    legend = [("free", "free"), ("held", "held"), ("booked", "booked")]
    if mine:
        legend.append(("mine", "yours"))
    for index, (state, word) in enumerate(legend):
        out.append(("", "   " if index else ""))
        out.append((f"class:seat.{state}", MARKS[state]))
        out.append(("", f" {word}"))
    out.append(("", "\n"))
    return out
