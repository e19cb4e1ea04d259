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


def render_seat_map(
    answer: dict,
    *,
    title: str = "",
    mine: Collection[str] = (),
    rows: range | None = None,
    numbers: range | None = None,
    columns: int | None = None,
) -> Fragments:
    """Draw ``get_seat_states``' answer (``rows``, ``seats_per_row``, ``states``).

    The compact answer is what keeps a big venue's map quick to fetch; the labels are worked
    out here from the map's size, as the load balancer numbers them. ``rows`` (indexes) and
    ``numbers`` (seat numbers) draw only those; a row wider than ``columns`` is drawn in blocks
    of seat numbers, one under the other, so no line ever wraps.
    """
    width = answer["seats_per_row"]
    seat_map = SeatMap(answer["rows"], width)
    cell = max(3, len(str(width)) + 1)
    label_width = len(row_label(answer["rows"] - 1)) + 1
    shown = range(answer["rows"]) if rows is None else rows
    numbers = range(1, width + 1) if numbers is None else numbers
    per_block = len(numbers)
    if columns is not None:  # each line: the label, the seats, a space and the label again
        per_block = max(1, min(per_block, (columns - 2 * label_width) // cell))
    all_rows = list(seat_codes.rows(seat_map, answer["states"]))

    out: Fragments = []
    if title:
        out.append(("class:heading", title + "\n"))
    margin = " " * label_width
    out.append(("", margin))
    out.append(("class:screen", " SCREEN ".center(per_block * cell, "-")))
    out.append(("", "\n"))
    for first in range(numbers.start - 1, numbers.stop - 1, per_block):
        last = min(numbers.stop - 1, first + per_block)
        out.append(("", "\n"))
        ruler = "".join(str(n).rjust(cell) for n in range(first + 1, last + 1))
        out.append(("class:note", margin + ruler))
        out.append(("", "\n"))
        for row in shown:
            labels, codes = all_rows[row]
            row_name = row_label(row)
            out.append(("class:label", row_name.ljust(label_width)))
            for label, code in zip(labels[first:last], codes[first:last], strict=True):
                state = "mine" if label in mine else seat_codes.STATE_NAMES.get(code, code)
                out.append((f"class:seat.{state}", MARKS.get(state, "?").rjust(cell)))
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
