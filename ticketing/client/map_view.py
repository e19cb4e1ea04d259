"""Which seat map to show: the whole hall when it fits the screen, else a summary of free seats
per row, and the rows asked for (``map ARENA show-01 A-F``) drawn without wrapping.

A 50,000-seat hall drawn whole is some 200 lines of 1,000 characters: every row wraps and the
screen scrolls past. So a hall wider or taller than the screen gets the summary, which says how
to draw the rows one wants; a hall that fits is drawn exactly as it always was.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Collection
from dataclasses import dataclass

from ticketing.client.seat_map import render_seat_map
from ticketing.client.seat_spec import split_label
from ticketing.client.seat_states import SeatStates
from ticketing.client.style import Fragments, plain
from ticketing.domain.seats import parse_seat, row_label
from ticketing.errors import InvalidRequest

SECTION = re.compile(r"([A-Za-z]+)([0-9]*)(?:-([A-Za-z]+)([0-9]*))?")
"""What ``map THEATER EVENT ROWS`` takes: rows ``A-F`` or ``GR``, or a block of seats
``A100-F150`` (rows A to F, seats 100 to 150)."""


@dataclass(frozen=True, slots=True)
class Section:
    rows: range
    """Row indexes."""
    numbers: range
    """Seat numbers, from 1."""


@dataclass(frozen=True, slots=True)
class Screen:
    """Room for a view: ``columns`` wide, and ``lines`` high (None: no limit, for a script)."""

    columns: int
    lines: int | None = None


def script_screen() -> Screen:
    """Output read by a script or redirected: the width of $COLUMNS (or 80), any length."""
    return Screen(shutil.get_terminal_size().columns)


def map_view(
    answer: dict,
    *,
    title: str,
    command: str,
    screen: Screen,
    rows: str | None = None,
    mine: Collection[str] = (),
    near_mine: bool = False,
) -> Fragments:
    """The map of ``get_seat_states``' answer as fits ``screen``; ``command`` is the map
    command of this event, for the hint at how to draw some rows. ``near_mine`` draws the rows
    of your seats rather than the summary when the hall does not fit (after a best-seats hold,
    where the buyer wants to see where they sit)."""
    states = SeatStates.of(answer)
    if rows is not None:
        part = section(rows, states)
        return render_seat_map(
            answer,
            title=title,
            mine=mine,
            rows=part.rows,
            numbers=part.numbers,
            columns=screen.columns,
        )
    whole = render_seat_map(answer, title=title, mine=mine)
    if fits(whole, screen):
        return whole
    if near_mine and mine:
        return _near(answer, [parse_seat(seat) for seat in mine], title, mine, screen.columns)
    return summary_view(states, title=title, command=command, screen=screen, mine=mine)


def fits(fragments: Fragments, screen: Screen) -> bool:
    lines = plain(fragments).splitlines()
    too_tall = screen.lines is not None and len(lines) > screen.lines
    return not too_tall and max(map(len, lines), default=0) <= screen.columns


def section(text: str, states: SeatStates) -> Section:
    """The rows (``A-F``, ``F-A``, ``C``) or block of seats (``A100-F150``) ``text`` names,
    checked against the hall."""
    match = SECTION.fullmatch(text.strip())
    last = row_label(states.rows - 1)
    if match is None:
        raise InvalidRequest(
            f"{text!r} is no row range; name rows like A-F (rows A to {last}) "
            f"or a block of seats like A1-F20"
        )
    first_row, first_number, last_row, last_number = match.groups()
    ends = []
    for letters in (first_row, last_row or first_row):
        index = states.row_of(letters)
        if index is None:
            raise InvalidRequest(f"no row {letters.upper()} here: the rows go from A to {last}")
        ends.append(index)
    numbers = [int(first_number or 1), int(last_number or first_number or states.seats_per_row)]
    if not 1 <= min(numbers) <= max(numbers) <= states.seats_per_row:
        raise InvalidRequest(f"the seats of a row are numbered 1 to {states.seats_per_row}")
    return Section(range(min(ends), max(ends) + 1), range(min(numbers), max(numbers) + 1))


def _near(
    answer: dict, seats: list[tuple[int, int]], title: str, mine: Collection[str], columns: int
) -> Fragments:
    """The rows of ``seats``, and as many seat numbers around them as fit one screen width."""
    rows = [row for row, _ in seats]
    numbers = [number for _, number in seats]
    cell = max(3, len(str(answer["seats_per_row"])) + 1)
    label_width = len(row_label(answer["rows"] - 1)) + 1
    room = max(max(numbers) - min(numbers) + 1, (columns - 2 * label_width) // cell)
    first = max(
        1,
        min(
            min(numbers) - (room - (max(numbers) - min(numbers) + 1)) // 2,
            answer["seats_per_row"] - room + 1,
        ),
    )
    return render_seat_map(
        answer,
        title=title,
        mine=mine,
        rows=range(min(rows), max(rows) + 1),
        numbers=range(first, min(answer["seats_per_row"], first + room - 1) + 1),
        columns=columns,
    )


def summary_view(
    states: SeatStates, *, title: str, command: str, screen: Screen, mine: Collection[str] = ()
) -> Fragments:
    """Free seats per row, as many rows to a line as fit; rows with your seats marked ``*``."""
    total, free = len(states), states.free_count()
    last = row_label(states.rows - 1)
    mine_rows = {split_label(seat)[0] for seat in mine}
    out: Fragments = [
        ("class:heading", title + "\n"),
        ("", f"{free:,} of {total:,} seats free, rows A-{last} of {states.seats_per_row} seats:\n"),
        ("", "too big to draw here. Free seats per row"),
        ("", " (* where you hold):\n" if mine_rows else ":\n"),
    ]
    label_width = len(last)
    count_width = len(str(states.seats_per_row))
    entry = label_width + 1 + count_width + 1
    per_line = max(1, (screen.columns + 2) // (entry + 2))
    for row in range(states.rows):
        label = row_label(row)
        out.append(("", "\n" if row and row % per_line == 0 else "  " if row else ""))
        out.append(("class:label", label.rjust(label_width)))
        count = states.free_count(row)
        style = "class:seat.free" if count else "class:seat.booked"
        out.append((style, f" {count:>{count_width}}"))
        out.append(("class:seat.mine", "*") if label in mine_rows else ("", " "))
    to = row_label(min(states.rows, 6) - 1)
    out.append(("", "\n"))
    out.append(("class:note", f"{command} A-{to} draws rows A to {to} "))
    out.append(("class:note", f"(A1-{to}20: seats 1 to 20 of them);\n"))
    out.append(("class:note", f"{command.replace('map', 'hold', 1)} 2 holds the 2 best seats\n"))
    return out
