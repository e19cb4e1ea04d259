"""What happens while the client waits at its prompt, said above the prompt as it happens.

A hold runs out on the lock server whether or not anyone types; the toolbar's countdown shows
it, but a person looking elsewhere would find out only when booking fails. So the moment it
expires a line is printed above the prompt (``run_in_terminal``), once per hold.
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.application import Application, run_in_terminal

from ticketing.client.state import ClientState
from ticketing.client.style import Fragments
from ticketing.client.views import expired_view


class ExpiryAnnouncer:
    """Watches the open hold from a prompt's redraws (at least once a second, with the
    toolbar's countdown) and prints its expiry once."""

    def __init__(
        self, state: ClientState, now: Callable[[], float], show: Callable[[Fragments], None]
    ) -> None:
        self.state = state
        self.now = now
        self.show = show
        self._told: str | None = None
        """The hold whose expiry was announced last."""

    def attach(self, app: Application) -> None:
        app.on_invalidate += self._check

    def due(self) -> Fragments | None:
        """The announcement, if the hold expired and was not announced yet."""
        hold = self.state.hold
        if hold is None or hold.expires_at > self.now() or hold.hold_id == self._told:
            return None
        self._told = hold.hold_id
        return expired_view(hold)

    def _check(self, app: Application) -> None:
        announcement = self.due()
        if announcement is not None:
            run_in_terminal(lambda: self.show(announcement))
