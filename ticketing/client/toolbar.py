"""The bottom toolbar: which load balancer answers, what is held, and for how long.

It must fit the terminal's width: prompt_toolkit cuts a longer bar off at the right, which is
where the countdown is. So the parts give way in order: the key hints first, then the balancer,
then the seat list shortens and the place goes; the countdown stays to the last.
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.application.current import get_app

from ticketing.client.state import ClientState, OpenHold
from ticketing.client.style import Fragments

HINTS = "Tab completes, help lists commands, Ctrl-D quits"
SEP = " | "


def bottom_toolbar(
    balancer: Callable[[], str | None],
    state: ClientState,
    now: Callable[[], float],
    columns: Callable[[], int] | None = None,
) -> Callable[[], Fragments]:
    """A toolbar callable for PromptSession; it is redrawn every second for the countdown.
    ``columns`` is the width to fit (default: the running application's terminal)."""
    width = columns or (lambda: get_app().output.get_size().columns)

    def render() -> Fragments:
        via = f"via {balancer() or '(no load balancer yet)'}"
        hold = state.hold
        holds = ["no hold"] if hold is None else _hold_texts(hold, now())
        room = width() - 2  # a space at each end
        for line in _lines(via, holds):
            if len(line) <= room:
                break
        return [("", f" {line} ")]

    return render


def _lines(via: str, holds: list[str]) -> list[str]:
    """The toolbar's lines, richest first, each a little shorter than the one before."""
    lines = [SEP.join((via, holds[0], HINTS)), SEP.join((via, holds[0]))]
    return lines + holds


def _hold_texts(hold: OpenHold, now: float) -> list[str]:
    """The hold, from the fullest to the countdown alone."""
    left = hold.seconds_left(now)
    minutes, seconds = divmod(left, 60)
    when = f"{minutes}:{seconds:02d} left" if left else "expired, hold again"
    seats = " ".join(hold.seats)
    few = hold.seats[0] + (f" +{len(hold.seats) - 1}" if len(hold.seats) > 1 else "")
    place = f"{hold.theater} {hold.event}"
    return [
        f"hold {place} {seats}: {when}",
        f"hold {place} {few}: {when}",
        f"hold {few}: {when}",
        f"hold: {when}",
        when,
    ]
