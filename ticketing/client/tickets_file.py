"""The user's own list of tickets, kept on this computer.

Ticket numbers are unguessable by design, so the cluster cannot list "my tickets": the client
remembers the ones it booked, in a JSON file under the user's data directory.

One file serves every cluster a person books on, so each ticket is tagged with the cluster it
was booked on (the fingerprint of the cluster's key): a file opened for one cluster shows and
changes that cluster's tickets only (and the untagged ones of older clients).
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


CLUSTER_KEY = "cluster"
"""The key of a ticket's cluster tag in the file."""


class TicketsFile:
    """Tickets as the dicts `book_ticket` returned, newest last."""

    def __init__(self, path: Path, cluster: str | None = None) -> None:
        """``cluster``: the tag of this cluster's tickets; None sees every ticket."""
        self.path = path
        self.cluster = cluster

    def load(self) -> list[dict]:
        """This cluster's tickets."""
        return [ticket for ticket in self._load_all() if self._ours(ticket)]

    def others(self) -> int:
        """How many tickets of other clusters the file holds (not shown)."""
        return sum(not self._ours(ticket) for ticket in self._load_all())

    def _ours(self, ticket: dict) -> bool:
        tag = ticket.get(CLUSTER_KEY)
        return self.cluster is None or tag is None or tag == self.cluster

    def _load_all(self) -> list[dict]:
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
        tickets = [known for known in self._load_all() if not self._same(known, theater, number)]
        tickets.append({**ticket, CLUSTER_KEY: self.cluster} if self.cluster else ticket)
        self._save(tickets)

    def remove(self, theater: str, ticket_no: str) -> None:
        tickets = self._load_all()
        kept = [ticket for ticket in tickets if not self._same(ticket, theater, ticket_no)]
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

    def _same(self, ticket: dict, theater: str, ticket_no: str) -> bool:
        """The same ticket of this cluster (another cluster may use the same theater id)."""
        found = ticket.get("theater") == theater and ticket.get("ticket_no") == ticket_no
        return found and self._ours(ticket)
