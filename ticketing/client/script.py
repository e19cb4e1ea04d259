"""Running commands without a terminal: from a pipe, a file, or `--command`.

Output is plain text (no colour, no toolbar), errors go to standard error one line each, and
the exit status tells a calling script whether every command succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ticketing.client.actions import Actions, offered_instead
from ticketing.client.commands import Command, parse
from ticketing.client.style import plain
from ticketing.client.views import error_line, offer_line
from ticketing.errors import SeatsUnavailable, TicketingError


def run_lines(lines: Iterable[str], actions: Actions, out: TextIO, err: TextIO) -> int:
    """Run each line; 0 when all succeeded, 1 when any failed. An open hold is released at the
    end, since no later process could book it."""
    failed = False
    for line in lines:
        command: Command | None = None
        try:
            partial = parse(line)
            if partial is None:
                continue
            command = partial.build()
            outcome = actions.run(command)
        except TicketingError as exc:
            failed = True
            print(error_line(exc) + _suggestion(command, exc), file=err, flush=True)
            continue
        out.write(plain(outcome.fragments))
        out.flush()
        if outcome.quit:
            return int(failed)
    try:
        out.write(plain(actions.leave()))
    except TicketingError as exc:
        failed = True
        print(error_line(exc), file=err, flush=True)
    return int(failed)


def _suggestion(command: Command | None, exc: TicketingError) -> str:
    """What is free instead of refused seats, as the line to run for it (no one to ask here)."""
    offer = offered_instead(command, exc) if isinstance(exc, SeatsUnavailable) else None
    return f"; {offer_line(offer)}" if offer is not None else ""
