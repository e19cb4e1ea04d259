"""Drawing a seat map: rows with their labels, the screen on top, one mark per seat.

The marks (`.` free, `h` held, `X` booked, `*` held by you) carry the meaning on their own, so
the map stays readable in a pipe or for a colour-blind reader; colour only helps.
"""

from __future__ import annotations

from collections.abc import Collection

from ticketing.client.seat_spec import split_label
from ticketing.client.style import Fragments

MARKS = {"free": ".", "held": "h", "booked": "X", "mine": "*"}


def render_seat_map(seat_map: dict, *, title: str = "", mine: Collection[str] = ()) -> Fragments:
    rows = [row for row in seat_map.get("rows", []) if row]
    if not rows:
        return [("class:note", "(this event has no seats)\n")]
    parsed = [
        [(*split_label(seat["seat"]), seat["seat"], seat["state"]) for seat in row] for row in rows
    ]
    widest = max(number for row in parsed for _, number, _, _ in row)
    cell = max(3, len(str(widest)) + 1)
    label_width = max(len(row[0][0]) for row in parsed) + 1
    seats_width = widest * cell

    out: Fragments = []
    if title:
        out.append(("class:heading", title + "\n"))
    margin = " " * label_width
    out.append(("", margin))
    out.append(("class:screen", " SCREEN ".center(seats_width, "-")))
    out.append(("", "\n\n"))
    out.append(("class:note", margin + "".join(str(n).rjust(cell) for n in range(1, widest + 1))))
    out.append(("", "\n"))
    for row in parsed:
        row_name = row[0][0]
        out.append(("class:label", row_name.ljust(label_width)))
        by_number = {number: (label, state) for _, number, label, state in row}
        for number in range(1, widest + 1):
            if number not in by_number:
                out.append(("", " " * cell))
                continue
            label, state = by_number[number]
            shown = "mine" if label in mine else state
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
