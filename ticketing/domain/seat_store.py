"""The seat store of one data cluster: bookings, a deterministic replicated state machine.

Booking is conditional and checked here, in log order, on every replica: the
hold must not have expired at the slot's ``now`` and must not have been
superseded (its fencing token is at least the newest one used on those
seats), and every seat must be free. Whatever the servers propose, no seat
ends up in two live bookings.

Cost stays proportional to what is booked, not to the venue: an event's
seats are one bytearray (one byte a seat, made on its first booking), and
fencing tokens are kept only for seats that were ever booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ticketing.domain import payload as fields
from ticketing.domain.digest import state_digest
from ticketing.errors import (
    HoldExpired,
    InvalidRequest,
    SeatsUnavailable,
    TicketingError,
    TicketNotFound,
    UnknownTheater,
    to_result,
)
from ticketing.settings import MAX_EMAIL_LENGTH, MAX_NAME_LENGTH

if TYPE_CHECKING:
    from ticketing.catalog import Theater

FREE, BOOKED = "0", "1"  # the characters of ``seat_states``
_FREE, _BOOKED = ord(FREE), ord(BOOKED)  # the same, as bytes of an event's bytearray


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket_no: str
    theater: str
    event: str
    seats: tuple[str, ...]
    name: str
    email: str
    hold_id: str

    def to_plain(self) -> dict[str, Any]:
        """The ticket as the contract shows it to a caller (no hold id)."""
        return {
            "ticket_no": self.ticket_no,
            "theater": self.theater,
            "event": self.event,
            "seats": list(self.seats),
            "name": self.name,
            "email": self.email,
        }


class SeatStore:
    """Bookings of the events of ``theaters`` (the theaters of one cluster).

    Commands (plain dicts, see ``apply``):

    * ``{"op": "book", "ticket_no", "hold_id", "theater", "event", "seats",
      "name", "email", "fence", "expires_at"}``; the same ``hold_id`` booked
      again answers the same ticket while that booking lives.
    * ``{"op": "cancel", "theater", "ticket_no"}``.
    """

    def __init__(self, theaters: tuple[Theater, ...], check_free: bool = True) -> None:
        """``check_free=False`` is a deliberately broken variant (seats are booked even when
        booked already), run only to show that the fault checker catches a double sale."""
        self._theaters = {theater.id: theater for theater in theaters}
        self._check_free = check_free
        self._clear()

    def _clear(self) -> None:
        self._booked: dict[tuple[str, str], bytearray] = {}
        self._fences: dict[tuple[str, str], dict[int, int]] = {}  # seat index -> newest token
        self._tickets: dict[str, Ticket] = {}
        self._by_hold: dict[str, str] = {}  # hold id -> ticket number
        self._digest: str | None = None

    # -- the state machine -------------------------------------------------

    def apply(self, payload: Any, slot: int, now: float) -> dict[str, Any]:
        """Run one command; refusals are results, never exceptions."""
        try:
            op, command = fields.command(payload)
            if op == "book":
                return self._book(command, now)
            if op == "cancel":
                return self._cancel(command)
            raise InvalidRequest(f"unknown data store operation {op!r} (book or cancel)")
        except TicketingError as exc:
            return to_result(exc)

    def snapshot(self) -> dict[str, Any]:
        tickets = [self._ticket_plain(t) for _, t in sorted(self._tickets.items())]
        fences = []
        for (theater, event), tokens in sorted(self._fences.items()):
            seat_map = self._theaters[theater].seat_map
            seats = [[seat_map.label(i), tokens[i]] for i in sorted(tokens)]
            fences.append({"theater": theater, "event": event, "seats": seats})
        return {"tickets": tickets, "fences": fences}

    def restore(self, snapshot: Any) -> None:
        """Replace the state; raises ValueError when it does not fit this catalog."""
        self._clear()
        try:
            for entry in snapshot["fences"]:
                theater = self._theater(str(entry["theater"]))
                event = theater.event(str(entry["event"])).id
                tokens = self._fences.setdefault((theater.id, event), {})
                for seat, token in entry["seats"]:
                    tokens[theater.seat_map.index(seat)] = int(token)
            for t in snapshot["tickets"]:
                theater, event = str(t["theater"]), str(t["event"])
                indices = self._seat_indices(theater, event, [str(seat) for seat in t["seats"]])
                seat_map = self._theaters[theater].seat_map
                labels = tuple(seat_map.label(i) for i in indices)
                ticket = Ticket(
                    str(t["ticket_no"]),
                    theater,
                    event,
                    labels,
                    str(t["name"]),
                    str(t["email"]),
                    str(t["hold_id"]),
                )
                booked = self._booked_of(theater, event)
                clash = ticket.ticket_no in self._tickets or ticket.hold_id in self._by_hold
                if clash or any(booked[i] == _BOOKED for i in indices):
                    raise ValueError(f"ticket {ticket.ticket_no} overlaps another")
                self._add(ticket, indices, None)
        except (TypeError, KeyError, ValueError, TicketingError) as exc:
            self._clear()
            raise ValueError(f"not a seat store snapshot for this catalog: {exc!r}") from exc

    def digest(self) -> str:
        if self._digest is None:
            self._digest = state_digest(self.snapshot())
        return self._digest

    # -- reads (served by one replica, not through the log) ------------------

    def free_seats(self, theater: str, event: str) -> list[str]:
        """Seats not booked, in seat-map order (holds are the lock store's business)."""
        seat_map = self._theater(theater).seat_map
        states = self.seat_states(theater, event)
        return [seat_map.label(i) for i, state in enumerate(states) if state == FREE]

    def seat_states(self, theater: str, event: str) -> str:
        """One character a seat in seat-map order: ``"1"`` booked, ``"0"`` free."""
        t = self._theater(theater)
        t.event(event)
        booked = self._booked.get((theater, event))
        if booked is None:
            return FREE * t.seat_count
        return booked.decode("ascii")

    def ticket(self, theater: str, ticket_no: str) -> dict[str, Any]:
        self._theater(theater)
        ticket = self._tickets.get(ticket_no)
        if ticket is None or ticket.theater != theater:
            raise TicketNotFound(f"no ticket {ticket_no!r} at theater {theater}")
        return ticket.to_plain()

    def ticket_for_hold(self, hold_id: str) -> dict[str, Any] | None:
        """The live booking made with ``hold_id``, if any (a hold books at most once)."""
        ticket_no = self._by_hold.get(hold_id)
        return None if ticket_no is None else self._tickets[ticket_no].to_plain()

    def holds_booked_on(self, theater: str, event: str, seats: list[str]) -> list[dict[str, Any]]:
        """``{"hold_id", "seats"}`` of each live ticket of the event on any of ``seats``.

        Only for repairing the lock store's sold marks after a lost settle, which
        is rare: it looks at every ticket rather than keeping an index.
        """
        wanted = set(seats)
        return [
            {"hold_id": ticket.hold_id, "seats": list(ticket.seats)}
            for ticket in self._tickets.values()
            if ticket.theater == theater and ticket.event == event and wanted & set(ticket.seats)
        ]

    def __len__(self) -> int:
        return len(self._tickets)

    # -- commands ------------------------------------------------------------

    def _book(self, command: dict[str, Any], now: float) -> dict[str, Any]:
        ticket_no = fields.text(command, "ticket_no")
        hold_id = fields.text(command, "hold_id")
        theater = fields.text(command, "theater")
        event = fields.text(command, "event")
        seats = fields.seat_list(command)
        name = fields.text(command, "name", MAX_NAME_LENGTH)
        email = fields.text(command, "email", MAX_EMAIL_LENGTH)
        fence = fields.integer(command, "fence")
        expires_at = fields.number(command, "expires_at")
        existing = self._by_hold.get(hold_id)
        if existing is not None:  # a retry, or the same hold booked twice
            return {"ok": True, "ticket": self._tickets[existing].to_plain()}
        indices = self._seat_indices(theater, event, seats)
        if expires_at <= now:
            raise HoldExpired("the hold expired before booking; block the seats again")
        tokens = self._fences.get((theater, event), {})
        if any(tokens.get(i, -1) > fence for i in indices):
            raise HoldExpired("the hold was superseded by a newer hold; block the seats again")
        booked = self._booked.get((theater, event))
        if booked is not None and self._check_free:
            seat_map = self._theaters[theater].seat_map
            taken = [seat_map.label(i) for i in indices if booked[i] == _BOOKED]
            if taken:
                raise SeatsUnavailable(f"seats already booked: {', '.join(taken)}", taken)
        if ticket_no in self._tickets:
            raise InvalidRequest(f"ticket number {ticket_no!r} is already in use")
        seat_map = self._theaters[theater].seat_map
        labels = tuple(seat_map.label(i) for i in indices)
        ticket = Ticket(ticket_no, theater, event, labels, name, email, hold_id)
        self._add(ticket, indices, fence)
        return {"ok": True, "ticket": ticket.to_plain()}

    def _cancel(self, command: dict[str, Any]) -> dict[str, Any]:
        theater = fields.text(command, "theater")
        ticket_no = fields.text(command, "ticket_no")
        self._theater(theater)
        ticket = self._tickets.get(ticket_no)
        if ticket is None or ticket.theater != theater:
            raise TicketNotFound(f"no ticket {ticket_no!r} at theater {theater}")
        seat_map = self._theaters[theater].seat_map
        booked = self._booked[(theater, ticket.event)]
        for seat in ticket.seats:
            booked[seat_map.index(seat)] = _FREE
        del self._tickets[ticket_no]
        del self._by_hold[ticket.hold_id]
        self._digest = None
        return {"ok": True, "hold_id": ticket.hold_id, "event": ticket.event}

    # -- helpers of the state ------------------------------------------------

    def _theater(self, theater_id: str) -> Theater:
        theater = self._theaters.get(theater_id)
        if theater is None:
            known = ", ".join(self._theaters) or "none"
            raise UnknownTheater(f"no theater {theater_id!r} in this data store (it has: {known})")
        return theater

    def _seat_indices(self, theater_id: str, event: str, seats: list[str]) -> list[int]:
        """Seat-map indices in seat-map order; refuses unknown theater, event, seat, repeats."""
        theater = self._theater(theater_id)
        theater.event(event)
        indices = sorted({theater.seat_map.index(seat) for seat in seats})
        if len(indices) != len(seats):
            raise InvalidRequest(f"a seat is listed twice in {seats}")
        return indices

    def _booked_of(self, theater: str, event: str) -> bytearray:
        key = (theater, event)
        booked = self._booked.get(key)
        if booked is None:
            booked = self._booked[key] = bytearray(
                FREE * self._theaters[theater].seat_count, "ascii"
            )
        return booked

    def _add(self, ticket: Ticket, indices: list[int], fence: int | None) -> None:
        """Book ``indices`` for ``ticket``; ``fence`` is None when restoring (tokens come apart)."""
        booked = self._booked_of(ticket.theater, ticket.event)
        for i in indices:
            booked[i] = _BOOKED
        if fence is not None:
            tokens = self._fences.setdefault((ticket.theater, ticket.event), {})
            for i in indices:
                tokens[i] = max(tokens.get(i, -1), fence)
        self._tickets[ticket.ticket_no] = ticket
        self._by_hold[ticket.hold_id] = ticket.ticket_no
        self._digest = None

    @staticmethod
    def _ticket_plain(ticket: Ticket) -> dict[str, Any]:
        return {**ticket.to_plain(), "hold_id": ticket.hold_id}
