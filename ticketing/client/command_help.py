"""``help COMMAND``: one command explained, with what it needs and an example to copy."""

from __future__ import annotations

from ticketing.client.commands import SPECS
from ticketing.client.style import Fragments

DETAILS: dict[str, tuple[str, tuple[str, ...]]] = {
    "theaters": ("Lists every theater with its events; an event not on sale is marked.", ()),
    "map": (
        "Draws the seats of one event: . free, h held by someone, X booked, * held by you.\n"
        "Theater and event ids match whatever their case (map amc dune-1900).",
        ("map AMC dune-1900",),
    ),
    "hold": (
        "Holds seats for a few minutes so nobody else can book them; book them before the\n"
        "hold expires (the bottom line counts down). Seats: A1 A2, a range A1-A4, or A1,A3;\n"
        "a number holds that many of the best free seats, chosen by the system. A new hold\n"
        "replaces the one you had, which is given back.",
        ("hold AMC dune-1900 A1-A2", "hold AMC dune-1900 3"),
    ),
    "release": ("Gives back the seats you hold, so others can book them.", ()),
    "book": (
        "Books the seats you hold, under a name and an e-mail address (the last word with\n"
        "an @). Left out, they come from your config file (name, email) or are asked for.",
        ("book Grace O'Hopper grace@example.org",),
    ),
    "ticket": ("Shows a ticket as the cluster has it; alone, your latest ticket.", ()),
    "cancel": (
        "Cancels a ticket for good: the cluster frees its seats. In a terminal you are\n"
        "asked to confirm first; Tab completes the ticket numbers booked from here.",
        ("cancel AMC TICKET_NO",),
    ),
    "tickets": (
        "Lists the tickets booked from this computer on this cluster, as the cluster still\n"
        "has them: those cancelled meanwhile are dropped from the list.",
        (),
    ),
    "status": ("Shows every component registered in the name server, and its state.", ()),
    "admin": ("The operator's commands (they need the cluster secret): help admin lists them.", ()),
    "help": ("Lists the commands, or explains one.", ("help hold", "help admin")),
    "quit": ("Leaves the client; a hold you still have is given back first.", ()),
}
"""A few lines on each command, and examples to copy."""


def command_help_view(name: str) -> Fragments:
    spec = SPECS[name]
    out: Fragments = [
        ("class:heading", f"{spec.usage}\n"),
        ("", f"  {spec.summary}\n"),
    ]
    text, examples = DETAILS.get(name, ("", ()))
    out.extend(("", f"  {line}\n") for line in text.splitlines())
    if examples:
        out.append(("class:note", "  for example:\n"))
        out.extend(("class:label", f"    {line}\n") for line in examples)
    return out
