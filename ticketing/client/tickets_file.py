"""The user's own list of tickets, kept on this computer.

Ticket numbers are unguessable by design, so the cluster cannot list "my tickets": the client
remembers the ones it booked, in a JSON file under the user's data directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ticketing.errors import InvalidRequest


def default_tickets_path() -> Path:
    """$XDG_DATA_HOME/ticketing/tickets.json, with XDG's own fallback ~/.local/share."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ticketing" / "tickets.json"


class TicketsFile:
    """Tickets as the dicts `book_ticket` returned, newest last."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise InvalidRequest(
                f"cannot read your tickets file {self.path} ({exc}); fix or move it away"
            ) from exc
        if not isinstance(data, list):
            raise InvalidRequest(
                f"your tickets file {self.path} is not a JSON list; fix or move it away"
            )
        return [ticket for ticket in data if isinstance(ticket, dict)]

    def add(self, ticket: dict) -> None:
        theater, number = ticket["theater"], ticket["ticket_no"]
        tickets = [known for known in self.load() if not _same(known, theater, number)]
        tickets.append(ticket)
        self._save(tickets)

    def remove(self, theater: str, ticket_no: str) -> None:
        tickets = self.load()
        kept = [ticket for ticket in tickets if not _same(ticket, theater, ticket_no)]
        if len(kept) != len(tickets):
            self._save(kept)

    def latest(self) -> dict | None:
        tickets = self.load()
        return tickets[-1] if tickets else None

    def _save(self, tickets: list[dict]) -> None:
        """Write beside and rename, so a crash never leaves half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_name(self.path.name + ".tmp")
        scratch.write_text(json.dumps(tickets, indent=2) + "\n", encoding="utf-8")
        os.replace(scratch, self.path)


def _same(ticket: dict, theater: str, ticket_no: str) -> bool:
    return ticket.get("theater") == theater and ticket.get("ticket_no") == ticket_no
