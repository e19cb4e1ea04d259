"""The bottom toolbar: which load balancer answers, what is held, and for how long."""

from __future__ import annotations

from collections.abc import Callable

from ticketing.client.state import ClientState
from ticketing.client.style import Fragments


def bottom_toolbar(
    balancer: Callable[[], str | None], state: ClientState, now: Callable[[], float]
) -> Callable[[], Fragments]:
    """A toolbar callable for PromptSession; it is redrawn every second for the countdown."""

    def render() -> Fragments:
        parts: Fragments = [("", f" via {balancer() or '(no load balancer yet)'}")]
        hold = state.hold
        if hold is None:
            parts.append(("", " | no hold"))
        else:
            left = hold.seconds_left(now())
            minutes, seconds = divmod(left, 60)
            when = f"{minutes}:{seconds:02d} left" if left else "expired, hold again"
            seats = " ".join(hold.seats)
            parts.append(("", f" | hold {hold.theater} {hold.event} {seats}: {when}"))
        parts.append(("", " | Tab completes, help lists commands, Ctrl-D quits "))
        return parts

    return render
