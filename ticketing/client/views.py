"""Text views of the cluster's answers (everything but the seat map, which has its own module)."""

from __future__ import annotations

from collections.abc import Sequence

from ticketing.client.admin_views import admin_help_view
from ticketing.client.command_help import command_help_view
from ticketing.client.commands import ADMIN_TOPIC, SPECS, Hold
from ticketing.client.seat_spec import split_label
from ticketing.client.state import OpenHold
from ticketing.client.style import Fragments
from ticketing.client.table import table
from ticketing.errors import TicketingError

SALES_MARKS = {"stopped": "sales stopped", "cancelled": "cancelled"}
"""How an event not on sale is marked in ``theaters``; an open one has no mark."""


def theaters_view(theaters: list[dict]) -> Fragments:
    """The theaters and their events; events not on sale marked as such (``list_catalog``)."""
    out: Fragments = []
    for theater in theaters:
        out.append(("class:label", f"{theater['theater']}"))
        out.append(("", f"  {theater['name']}, {theater['city']} ({theater['seats']} seats)\n"))
        for event in theater["events"]:
            out.append(("", f"    {event['event']:<20} {event['title']}  ({event['starts_at']})"))
            mark = SALES_MARKS.get(event.get("sales", "open"))
            out.append(("class:error", f"  [{mark}]\n") if mark else ("", "\n"))
    if not out:
        out.append(("class:note", "(no theaters in the catalog)\n"))
    return out


def hold_view(hold: OpenHold, seconds_left: int, *, chosen: str = "") -> Fragments:
    """The seats held and for how long; `chosen` says how the system picked them, if it did."""
    minutes, seconds = divmod(seconds_left, 60)
    return [
        ("", "holding "),
        ("class:ticket", " ".join(hold.seats)),
        ("", f"{chosen} at {hold.theater} {hold.event} for {minutes}:{seconds:02d}; "),
        ("class:note", "book NAME EMAIL to book them, release to give them back\n"),
    ]


def best_hold_view(hold: OpenHold, seconds_left: int, count: int) -> Fragments:
    """A best-available hold: which seats the system chose, and whether they sit together."""
    chosen = " (the best free seat)" if count == 1 else f" (the {count} best free seats)"
    out = hold_view(hold, seconds_left, chosen=chosen)
    if count > 1 and not side_by_side(hold.seats):
        out.append(("class:note", f"no row had {count} free seats side by side\n"))
    return out


def side_by_side(seats: Sequence[str]) -> bool:
    """Whether the seats are one unbroken run of a row, as a group sitting together wants."""
    places = [split_label(seat) for seat in seats]
    if len({row for row, _ in places}) != 1:
        return False
    numbers = sorted(number for _, number in places)
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def replaced_view(hold: OpenHold, previous: OpenHold, fate: str) -> Fragments:
    """Say that a new hold took the place of the earlier one, and what became of that one."""
    place = ""
    if (previous.theater, previous.event) != (hold.theater, hold.event):
        place = f" at {previous.theater} {previous.event}"
    return [
        ("class:note", f"your hold of {' '.join(hold.seats)} replaced the earlier hold of "),
        ("class:note", f"{' '.join(previous.seats)}{place} ({fate})\n"),
    ]


def expired_view(hold: OpenHold) -> Fragments:
    """Said above the prompt the moment a hold runs out, so nobody books in vain."""
    return [
        ("class:error", f"your hold of {' '.join(hold.seats)} at {hold.theater} {hold.event} "),
        ("class:error", "expired; "),
        ("class:note", "the seats are free for anyone again: hold them again to book\n"),
    ]


def offer_line(offer: Hold) -> str:
    """The alternative a refusal offered, as the command that holds it."""
    return f"free instead: {offer.as_line()}"


def ticket_view(ticket: dict, *, heading: str = "ticket") -> Fragments:
    return [
        ("class:heading", f"{heading} {ticket['ticket_no']}\n"),
        ("", f"  theater  {ticket['theater']}\n"),
        ("", f"  event    {ticket['event']}\n"),
        ("", f"  seats    {' '.join(ticket['seats'])}\n"),
        ("", f"  name     {ticket['name']} <{ticket['email']}>\n"),
    ]


def tickets_view(tickets: list[dict]) -> Fragments:
    if not tickets:
        return [("class:note", "(no tickets booked from this computer yet)\n")]
    rows = [
        (t["theater"], t["event"], " ".join(t["seats"]), t["name"], t["ticket_no"]) for t in tickets
    ]
    return table(("theater", "event", "seats", "name", "ticket"), rows)


def status_view(rows: list[dict]) -> Fragments:
    if not rows:
        return [("class:note", "(nothing registered under ticketing. in the name server)\n")]
    shown = [
        (
            row["registered_as"],
            row.get("role", "?"),
            row.get("state", "up"),
            row.get("applied_index", "-"),
            row.get("pid", "-"),
        )
        for row in rows
    ]
    return table(("name", "role", "state", "applied", "pid"), shown)


def help_view(topic: str | None = None) -> Fragments:
    if topic == ADMIN_TOPIC:
        return admin_help_view()
    if topic is not None:
        return command_help_view(topic)
    width = max(len(spec.usage) for spec in SPECS.values())
    out: Fragments = [("class:heading", "commands\n")]
    for spec in SPECS.values():
        out.append(("class:label", f"  {spec.usage:<{width}}"))
        out.append(("", f"  {spec.summary}\n"))
    out.append(
        (
            "class:note",
            "A command typed without its arguments asks for them. Tab completes, "
            "Ctrl-R searches history, Ctrl-C cancels the line, Ctrl-D quits (in a question\n"
            "it cancels the command). "
            "help COMMAND explains one command, with an example.\n",
        )
    )
    return out


def error_line(exc: TicketingError) -> str:
    """One line: the contract's class name and its message, which says what to do next."""
    message = str(exc).strip() or "the request failed"
    return f"{type(exc).__name__}: {message}"
