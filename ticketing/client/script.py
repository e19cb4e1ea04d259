"""Running commands without a terminal: from a pipe, a file, or `--command`.

Output is plain text (no colour, no toolbar), errors go to standard error one line each, and
the exit status tells a calling script how the first failure went (``EXIT_CODES``): a refusal
(1) will not change by itself, a cluster that was unavailable (75) may answer a retry later,
and a line the client could not read (2) needs fixing. Nothing is ever asked: a script's
``cancel`` is not confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ticketing.client.actions import Actions, offered_instead
from ticketing.client.commands import Command, parse
from ticketing.client.style import plain
from ticketing.client.views import error_line, offer_line
from ticketing.errors import SeatsUnavailable, TicketingError, Unavailable

OK = 0
REFUSED = 1
"""The cluster (or the client, for what it knows) refused the command: no seats, no hold..."""
USAGE = 2
"""A line that is no command (unknown word, missing or bad argument), or bad options."""
TEMPFAIL = 75
"""Unavailable: nothing was done; retrying later is safe (EX_TEMPFAIL of sysexits.h)."""

EXIT_CODES = f"""exit status:
  {OK}   every command succeeded
  {REFUSED}   a command was refused (seats taken, hold expired, no such ticket, ...)
  {USAGE}   bad usage: a line that is no command, a missing or bad argument, a bad option
      or config file
  {TEMPFAIL}  the cluster was unavailable: nothing was done, retry later
With several failures, the first one decides."""


def run_lines(lines: Iterable[str], actions: Actions, out: TextIO, err: TextIO) -> int:
    """Run each line; the exit status of the first failure (see ``EXIT_CODES``). An open hold
    is released at the end, since no later process could book it."""
    status = OK
    for line in lines:
        command: Command | None = None
        try:
            partial = parse(line, actions.state.identity)
            if partial is None:
                continue
            command = partial.build()
        except TicketingError as exc:
            status = status or USAGE
            print(error_line(exc), file=err, flush=True)
            continue
        try:
            outcome = actions.run(command)
        except TicketingError as exc:
            status = status or exit_status(exc)
            print(error_line(exc) + _suggestion(command, exc), file=err, flush=True)
            continue
        out.write(plain(outcome.fragments))
        out.flush()
        if outcome.quit:
            return status
    try:
        out.write(plain(actions.leave()))
    except TicketingError as exc:
        status = status or exit_status(exc)
        print(error_line(exc), file=err, flush=True)
    return status


def exit_status(exc: TicketingError) -> int:
    return TEMPFAIL if isinstance(exc, Unavailable) else REFUSED


def _suggestion(command: Command | None, exc: TicketingError) -> str:
    """What is free instead of refused seats, as the line to run for it (no one to ask here)."""
    offer = offered_instead(command, exc) if isinstance(exc, SeatsUnavailable) else None
    return f"; {offer_line(offer)}" if offer is not None else ""
