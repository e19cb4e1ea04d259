"""The seat store of one data cluster: bookings, a deterministic replicated state machine.

Booking is conditional and checked here, in log order, on every replica: the
hold must not have expired at the slot's ``now`` and must not have been
superseded (its fencing token is at least the newest one used on those
seats), and every seat must be free. Whatever the servers propose, no seat
ends up in two live bookings.

Cost stays proportional to what is booked, not to the venue: an event's
seats are one bytearray (one byte a seat, made on its first booking), and
fencing tokens are kept only for seats that were ever booked.

The cluster's theaters and events are part of this state, changed by
commands in the same log as the bookings. So the checks that tie the catalog
to the bookings are decided at one slot, on every replica alike: a booking
after an event's sales stopped is refused, a cancelled event's tickets all go
to the refund list at once, a theater cannot shrink under a booked seat. The
catalog file seeds a new cluster with one ``bootstrap`` command; every later
start replays the log, so editing the file cannot make replicas differ.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ticketing.catalog import CANCELLED, Event, Theater, theater_from_table
from ticketing.domain import seat_commands
from ticketing.domain.digest import state_digest
from ticketing.domain.seat_commands import (
    AddEvent,
    AddTheater,
    Book,
    Booking,
    Bootstrap,
    Cancel,
    CancelEvent,
    CatalogCommand,
    ResizeTheater,
    SetSales,
    UpdateEvent,
)
from ticketing.errors import (
    HoldExpired,
    InvalidRequest,
    SalesClosed,
    SeatsUnavailable,
    TicketingError,
    TicketNotFound,
    UnknownTheater,
    to_result,
)

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
    """Bookings of the events of one cluster's theaters, and those theaters.

    Its commands are the records of ``seat_commands``, applied in the plain
    form the log holds: ``Book`` and ``Cancel``, and the catalog's (``Bootstrap``,
    ``AddTheater``, ``AddEvent``, ``UpdateEvent``, ``SetSales``,
    ``CancelEvent``, ``ResizeTheater``), each of which answers ``{"ok",
    "catalog"}``, the catalog after it (``CancelEvent`` also ``refunds``, the
    tickets it cancelled).
    """

    def __init__(
        self,
        theaters: tuple[Theater, ...] = (),
        check_free: bool = True,
        check_sales: bool = True,
    ) -> None:
        """``theaters`` seeds the catalog as a bootstrap would (for tests and the simulator);
        without them the store waits for its ``bootstrap`` command.

        ``check_free=False`` is a deliberately broken variant (seats are booked even when
        booked already), run only to show that the fault checker catches a double sale;
        ``check_sales=False`` another (events are booked whatever their sales: stopped or
        cancelled), to show that it catches bookings of closed events."""
        self._theaters = {theater.id: theater for theater in theaters}
        self._version = 1 if theaters else 0  # catalog changes applied; 0: not seeded yet
        self._check_free = check_free
        self._check_sales = check_sales
        self._clear()

    def _clear(self) -> None:
        self._booked: dict[tuple[str, str], bytearray] = {}
        self._fences: dict[tuple[str, str], dict[int, int]] = {}  # seat index -> newest token
        self._tickets: dict[str, Ticket] = {}
        self._by_hold: dict[str, str] = {}  # hold id -> ticket number
        self._refunds: dict[str, Ticket] = {}  # tickets of cancelled events, by number
        self._digest: str | None = None

    # -- the state machine -------------------------------------------------

    def apply(self, payload: Any, slot: int, now: float) -> dict[str, Any]:
        """Run one command; refusals are results, never exceptions."""
        try:
            match seat_commands.from_plain(payload):
                case Book(booking):
                    return self._book(booking, now)
                case Cancel(theater, ticket_no):
                    return self._cancel(theater, ticket_no)
                case catalog_command:
                    return self._change_catalog(catalog_command)
        except TicketingError as exc:
            return to_result(exc)

    def snapshot(self) -> dict[str, Any]:
        tickets = [self._ticket_plain(t) for _, t in sorted(self._tickets.items())]
        refunds = [self._ticket_plain(t) for _, t in sorted(self._refunds.items())]
        fences = []
        for (theater, event), tokens in sorted(self._fences.items()):
            seat_map = self._theaters[theater].seat_map
            seats = [[seat_map.label(i), tokens[i]] for i in sorted(tokens)]
            fences.append({"theater": theater, "event": event, "seats": seats})
        return {
            "catalog": self.catalog_plain(),
            "tickets": tickets,
            "fences": fences,
            "refunds": refunds,
        }

    def restore(self, snapshot: Any) -> None:
        """Replace the state; raises ValueError when it does not fit.

        A snapshot carries its catalog; one without (from a test) is read
        against the catalog this store has.
        """
        theaters, version = self._theaters, self._version
        self._clear()
        try:
            if "catalog" in snapshot:
                self._theaters = {}
                for table in snapshot["catalog"]["theaters"]:
                    theater = theater_from_table(table, "snapshot")
                    self._theaters[theater.id] = theater
                self._version = int(snapshot["catalog"]["version"])
            for t in snapshot.get("refunds", ()):
                ticket = self._ticket_from_plain(t, on_the_map=False)
                self._refunds[ticket.ticket_no] = ticket
            for entry in snapshot["fences"]:
                theater = self._theater(str(entry["theater"]))
                event = theater.event(str(entry["event"])).id
                tokens = self._fences.setdefault((theater.id, event), {})
                for seat, token in entry["seats"]:
                    tokens[theater.seat_map.index(seat)] = int(token)
            for t in snapshot["tickets"]:
                ticket = self._ticket_from_plain(t)
                indices = self._seat_indices(ticket.theater, ticket.event, list(ticket.seats))
                booked = self._booked_of(ticket.theater, ticket.event)
                clash = ticket.ticket_no in self._tickets or ticket.hold_id in self._by_hold
                if clash or any(booked[i] == _BOOKED for i in indices):
                    raise ValueError(f"ticket {ticket.ticket_no} overlaps another")
                self._add(ticket, indices, None)
        except (TypeError, KeyError, ValueError, TicketingError) as exc:
            self._clear()
            self._theaters, self._version = theaters, version
            raise ValueError(f"not a seat store snapshot for this catalog: {exc!r}") from exc

    def _ticket_from_plain(self, t: dict[str, Any], on_the_map: bool = True) -> Ticket:
        """A snapshot's ticket, its seats in the theater's canonical labels.

        A refunded ticket's seats are kept as they were sold (``on_the_map=False``):
        the theater may have shrunk since its event was cancelled.
        """
        theater, event = str(t["theater"]), str(t["event"])
        seat_map = self._theater(theater).seat_map
        if on_the_map:
            labels = tuple(seat_map.canonical(str(seat)) for seat in t["seats"])
        else:
            labels = tuple(str(seat) for seat in t["seats"])
        return Ticket(
            str(t["ticket_no"]),
            theater,
            event,
            labels,
            str(t["name"]),
            str(t["email"]),
            str(t["hold_id"]),
        )

    def digest(self) -> str:
        if self._digest is None:
            self._digest = state_digest(self.snapshot())
        return self._digest

    # -- reads (served by one replica, not through the log) ------------------

    @property
    def catalog_version(self) -> int:
        """How many catalog changes were applied (0: not seeded yet)."""
        return self._version

    def theaters(self) -> tuple[Theater, ...]:
        """The cluster's theaters, in the order they were added."""
        return tuple(self._theaters.values())

    def catalog_plain(self) -> dict[str, Any]:
        """``{"version", "theaters": [table, ...]}``: what the catalog followers carry."""
        return {
            "version": self._version,
            "theaters": [theater.to_table() for theater in self._theaters.values()],
        }

    def sales_report(self, theater: str, event: str) -> dict[str, Any]:
        """The event's sold seats and tickets (with name and e-mail), and its refunds."""
        self._theater(theater).event(event)

        def of_event(tickets: dict[str, Ticket]) -> list[dict[str, Any]]:
            return [
                t.to_plain()
                for _, t in sorted(tickets.items())
                if t.theater == theater and t.event == event
            ]

        tickets = of_event(self._tickets)
        return {
            "sold": sum(len(t["seats"]) for t in tickets),
            "tickets": tickets,
            "refunds": of_event(self._refunds),
        }

    def seat_states(self, theater: str, event: str) -> str:
        """One character a seat in seat-map order: ``"1"`` booked, ``"0"`` free."""
        t = self._theater(theater)
        t.event(event)
        booked = self._booked.get((theater, event))
        if booked is None:
            return FREE * t.seat_count
        return booked.decode("ascii")

    def ticket(self, theater: str, ticket_no: str) -> dict[str, Any]:
        return self._live_ticket(theater, ticket_no).to_plain()

    def _live_ticket(self, theater: str, ticket_no: str) -> Ticket:
        """The live ticket, or ``TicketNotFound`` saying why (never booked, or refunded)."""
        self._theater(theater)
        ticket = self._tickets.get(ticket_no)
        if ticket is not None and ticket.theater == theater:
            return ticket
        refunded = self._refunds.get(ticket_no)
        if refunded is not None and refunded.theater == theater:
            event = self._theaters[theater].event(refunded.event)
            raise TicketNotFound(
                f"ticket {ticket_no} was for {theater} {event.id} ({event.title}), which was "
                "cancelled; the ticket is listed for a refund"
            )
        raise TicketNotFound(f"no ticket {ticket_no!r} at theater {theater}")

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

    def _book(self, booking: Booking, now: float) -> dict[str, Any]:
        existing = self._by_hold.get(booking.hold_id)
        if existing is not None:  # a retry, or the same hold booked twice
            return {"ok": True, "ticket": self._tickets[existing].to_plain()}
        theater, event = booking.theater, booking.event
        indices = self._seat_indices(theater, event, list(booking.seats))
        if self._check_sales:
            self._theaters[theater].on_sale(event)
        if booking.expires_at <= now:
            raise HoldExpired("the hold expired before booking; block the seats again")
        tokens = self._fences.get((theater, event), {})
        if any(tokens.get(i, -1) > booking.fence for i in indices):
            raise HoldExpired("the hold was superseded by a newer hold; block the seats again")
        booked = self._booked.get((theater, event))
        if booked is not None and self._check_free:
            seat_map = self._theaters[theater].seat_map
            taken = [seat_map.label(i) for i in indices if booked[i] == _BOOKED]
            if taken:
                raise SeatsUnavailable(f"seats already booked: {', '.join(taken)}", taken)
        if booking.ticket_no in self._tickets:
            raise InvalidRequest(f"ticket number {booking.ticket_no!r} is already in use")
        seat_map = self._theaters[theater].seat_map
        labels = tuple(seat_map.label(i) for i in indices)
        ticket = Ticket(
            booking.ticket_no,
            theater,
            event,
            labels,
            booking.name,
            booking.email,
            booking.hold_id,
        )
        self._add(ticket, indices, booking.fence)
        return {"ok": True, "ticket": ticket.to_plain()}

    def _cancel(self, theater: str, ticket_no: str) -> dict[str, Any]:
        ticket = self._live_ticket(theater, ticket_no)
        seat_map = self._theaters[theater].seat_map
        booked = self._booked[(theater, ticket.event)]
        for seat in ticket.seats:
            booked[seat_map.index(seat)] = _FREE
        del self._tickets[ticket_no]
        del self._by_hold[ticket.hold_id]
        self._digest = None
        return {"ok": True, "hold_id": ticket.hold_id, "event": ticket.event}

    # -- the catalog's commands --------------------------------------------------

    def _change_catalog(self, command: CatalogCommand) -> dict[str, Any]:
        """Run one catalog command; every one that changes something counts a version."""
        if isinstance(command, Bootstrap):
            return self._bootstrap(command)
        if self._version == 0:
            raise InvalidRequest("this data cluster has no catalog yet (no bootstrap)")
        result: dict[str, Any] = {"ok": True}
        match command:
            case AddTheater(theater):
                if theater.id in self._theaters:
                    raise InvalidRequest(f"theater {theater.id} already exists")
                if any(event.sales == CANCELLED for event in theater.events):
                    raise InvalidRequest("a new theater's events cannot be cancelled already")
                self._theaters[theater.id] = theater
            case AddEvent(theater_id, event):
                theater = self._theater(theater_id)
                if any(e.id == event.id for e in theater.events):
                    raise InvalidRequest(f"theater {theater.id} already has an event {event.id}")
                if event.sales == CANCELLED:
                    raise InvalidRequest("a new event cannot be cancelled already")
                self._replace_event(theater, event)
            case UpdateEvent(theater_id, event_id, title, starts_at):
                theater, event = self._changeable_event(theater_id, event_id)
                if title is not None:
                    event = dataclasses.replace(event, title=title)
                if starts_at is not None:
                    event = dataclasses.replace(event, starts_at=starts_at)
                self._replace_event(theater, event)
            case SetSales(theater_id, event_id, sales):
                theater, event = self._changeable_event(theater_id, event_id)
                self._replace_event(theater, dataclasses.replace(event, sales=sales))
            case CancelEvent(theater_id, event_id):
                theater, event = self._changeable_event(theater_id, event_id)
                result["refunds"] = self._refund_all(theater.id, event.id)
                self._replace_event(theater, dataclasses.replace(event, sales=CANCELLED))
            case ResizeTheater() as resize:
                self._resize(resize)
        self._version += 1
        self._digest = None
        return {**result, "catalog": self.catalog_plain()}

    def _bootstrap(self, command: Bootstrap) -> dict[str, Any]:
        """Seed the catalog once; a later bootstrap (another replica's, a restart's) is a no-op."""
        if self._version == 0:
            self._theaters = {t.id: t for t in command.theaters}
            self._version = 1
            self._digest = None
        return {"ok": True, "catalog": self.catalog_plain()}

    def _changeable_event(self, theater_id: str, event_id: str) -> tuple[Theater, Event]:
        """The theater and its event, refusing a cancelled event (it is final)."""
        theater = self._theater(theater_id)
        event = theater.event(event_id)
        if event.sales == CANCELLED:
            raise SalesClosed(f"{theater.id} {event.id} was cancelled; it cannot change any more")
        return theater, event

    def _replace_event(self, theater: Theater, event: Event) -> None:
        """``theater`` with ``event`` put in place of the one of the same id, or added last."""
        events = [e for e in theater.events if e.id != event.id]
        at = next((i for i, e in enumerate(theater.events) if e.id == event.id), len(events))
        events.insert(at, event)
        self._theaters[theater.id] = dataclasses.replace(theater, events=tuple(events))

    def _refund_all(self, theater: str, event: str) -> list[dict[str, Any]]:
        """Move every live ticket of the event to the refund list; those tickets."""
        cancelled = sorted(
            (t for t in self._tickets.values() if t.theater == theater and t.event == event),
            key=lambda t: t.ticket_no,
        )
        for ticket in cancelled:
            del self._tickets[ticket.ticket_no]
            del self._by_hold[ticket.hold_id]
            self._refunds[ticket.ticket_no] = ticket
        self._booked.pop((theater, event), None)
        return [t.to_plain() for t in cancelled]

    def _resize(self, command: ResizeTheater) -> None:
        """New row and seat counts; refused if a booked seat would fall outside them.

        Seats keep their labels (A7 stays A7), so every booked bytearray and
        fence is re-indexed by label into the new map.
        """
        theater = self._theater(command.theater)
        resized = dataclasses.replace(
            theater, rows=command.rows, seats_per_row=command.seats_per_row
        )
        old, new = theater.seat_map, resized.seat_map
        outside: list[str] = []
        for ticket in self._tickets.values():
            if ticket.theater == theater.id:
                outside.extend(seat for seat in ticket.seats if not new.contains(seat))
        if outside:
            shown = ", ".join(sorted(set(outside))[:10])
            raise InvalidRequest(
                f"{theater.id} cannot shrink to {new.rows}x{new.seats_per_row}: "
                f"booked seats would fall outside it ({shown}); cancel those tickets first"
            )
        grids: dict[tuple[str, str], bytearray] = {}
        for key, booked in self._booked.items():
            if key[0] == theater.id:
                grid = grids[key] = bytearray(FREE * len(new), "ascii")
                for i, state in enumerate(booked):
                    if state == _BOOKED:
                        grid[new.index(old.label(i))] = _BOOKED
        fences: dict[tuple[str, str], dict[int, int]] = {}
        for key, tokens in self._fences.items():
            if key[0] == theater.id:  # a seat gone from the map keeps no token
                labels = {old.label(i): token for i, token in tokens.items()}
                fences[key] = {new.index(s): t for s, t in labels.items() if new.contains(s)}
        self._booked.update(grids)
        self._fences.update(fences)
        self._theaters[theater.id] = resized

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
