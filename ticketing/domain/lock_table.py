"""The lock table: seat holds as leases, a deterministic replicated state machine.

A hold reserves seats of one event for ``ttl`` seconds. Time comes only from
the ``now`` each command is applied at (the coordinator's stamp in the log),
so every replica expires the same holds at the same slot. Each hold carries
a fencing token, the log slot that granted it: tokens only grow, so the data
store can refuse a booking from a hold that a newer one has since replaced.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from ticketing.domain import payload as fields
from ticketing.domain.digest import state_digest
from ticketing.errors import InvalidRequest, SeatsUnavailable, TicketingError, to_result


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    theater: str
    event: str
    seats: tuple[str, ...]
    expires_at: float
    fence: int

    def to_plain(self) -> dict[str, Any]:
        return {
            "hold_id": self.hold_id,
            "theater": self.theater,
            "event": self.event,
            "seats": list(self.seats),
            "expires_at": self.expires_at,
            "fence": self.fence,
        }


class LockTable:
    """Holds by id, and the owner of each held seat, per (theater, event).

    Commands (plain dicts, see ``apply``):

    * ``{"op": "acquire", "hold_id", "theater", "event", "seats", "ttl"}``:
      all seats or none; an existing live ``hold_id`` is answered unchanged.
    * ``{"op": "release", "hold_id"}``: idempotent.

    The table trusts the servers to have checked theater, event and seat
    labels against the catalog; it only needs them to be text.
    """

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._holds: dict[str, Hold] = {}
        self._owners: dict[tuple[str, str], dict[str, str]] = {}
        # (expires_at, hold_id) of every hold granted; entries of holds released
        # early stay until their time comes and are skipped then.
        self._expiry: list[tuple[float, str]] = []
        self._digest: str | None = None

    # -- the state machine -------------------------------------------------

    def apply(self, payload: Any, slot: int, now: float) -> dict[str, Any]:
        """Expire what is due at ``now``, then run the command; refusals are results."""
        self._expire(now)
        try:
            op, command = fields.command(payload)
            if op == "acquire":
                return self._acquire(command, slot, now)
            if op == "release":
                return self._release(command)
            raise InvalidRequest(f"unknown lock operation {op!r} (acquire or release)")
        except TicketingError as exc:
            return to_result(exc)

    def snapshot(self) -> dict[str, Any]:
        holds = sorted(self._holds.values(), key=lambda hold: hold.hold_id)
        return {"holds": [hold.to_plain() for hold in holds]}

    def restore(self, snapshot: Any) -> None:
        """Replace the state; raises ValueError when ``snapshot`` is not one of ours."""
        try:
            holds = [
                Hold(
                    str(h["hold_id"]),
                    str(h["theater"]),
                    str(h["event"]),
                    tuple(str(seat) for seat in h["seats"]),
                    float(h["expires_at"]),
                    int(h["fence"]),
                )
                for h in snapshot["holds"]
            ]
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"not a lock table snapshot: {exc!r}") from exc
        self._clear()
        for hold in holds:
            owners = self._owners.get((hold.theater, hold.event), {})
            repeated = len(set(hold.seats)) != len(hold.seats)
            if repeated or hold.hold_id in self._holds or any(s in owners for s in hold.seats):
                self._clear()
                raise ValueError(f"not a lock table snapshot: hold {hold.hold_id} overlaps")
            self._add(hold)

    def digest(self) -> str:
        if self._digest is None:
            self._digest = state_digest(self.snapshot())
        return self._digest

    # -- reads (served by one replica, not through the log) ------------------

    def hold(self, hold_id: str, now: float) -> dict[str, Any] | None:
        """The hold as plain data, or None when unknown or expired at ``now``."""
        hold = self._holds.get(hold_id)
        if hold is None or hold.expires_at <= now:
            return None
        return hold.to_plain()

    def held_seats(self, theater: str, event: str, now: float) -> set[str]:
        """Seats of the event under a hold that is still live at ``now``."""
        owners = self._owners.get((theater, event), {})
        return {seat for seat, hid in owners.items() if self._holds[hid].expires_at > now}

    def held_among(
        self, theater: str, event: str, seats: list[str], hold_id: str, now: float
    ) -> list[str]:
        """Those of ``seats`` under a hold other than ``hold_id`` that is live at ``now``."""
        owners = self._owners.get((theater, event), {})
        return [
            seat
            for seat in seats
            if (owner := owners.get(seat)) is not None
            and owner != hold_id
            and self._holds[owner].expires_at > now
        ]

    def __len__(self) -> int:
        return len(self._holds)

    # -- commands ------------------------------------------------------------

    def _acquire(self, command: dict[str, Any], slot: int, now: float) -> dict[str, Any]:
        hold_id = fields.text(command, "hold_id")
        theater = fields.text(command, "theater")
        event = fields.text(command, "event")
        seats = fields.seat_list(command)
        ttl = fields.number(command, "ttl")
        if ttl <= 0:
            raise InvalidRequest(f"'ttl' must be positive, got {ttl}")
        existing = self._holds.get(hold_id)
        if existing is not None:  # a retry: answer what was granted
            return {"ok": True, **existing.to_plain()}
        owners = self._owners.get((theater, event), {})
        taken = [seat for seat in seats if seat in owners]
        if taken:
            raise seats_held(taken)
        hold = Hold(hold_id, theater, event, tuple(seats), now + ttl, slot)
        self._add(hold)
        return {"ok": True, **hold.to_plain()}

    def _release(self, command: dict[str, Any]) -> dict[str, Any]:
        hold_id = fields.text(command, "hold_id")
        if hold_id in self._holds:
            self._drop(hold_id)
        return {"ok": True}

    # -- state changes ---------------------------------------------------------

    def _add(self, hold: Hold) -> None:
        self._holds[hold.hold_id] = hold
        owners = self._owners.setdefault((hold.theater, hold.event), {})
        for seat in hold.seats:
            owners[seat] = hold.hold_id
        heapq.heappush(self._expiry, (hold.expires_at, hold.hold_id))
        self._digest = None

    def _drop(self, hold_id: str) -> None:
        hold = self._holds.pop(hold_id)
        key = (hold.theater, hold.event)
        owners = self._owners[key]
        for seat in hold.seats:
            del owners[seat]
        if not owners:
            del self._owners[key]
        self._digest = None

    def _expire(self, now: float) -> None:
        """Drop every hold whose lease ended at or before ``now``: O(log n) each."""
        expiry = self._expiry
        while expiry and expiry[0][0] <= now:
            expires_at, hold_id = heapq.heappop(expiry)
            hold = self._holds.get(hold_id)
            if hold is not None and hold.expires_at == expires_at:
                self._drop(hold_id)


def seats_held(taken: list[str]) -> SeatsUnavailable:
    """The refusal of a hold on ``taken`` seats, from the log or from a lock server's own look."""
    return SeatsUnavailable(f"seats already held: {', '.join(taken)}", taken)
