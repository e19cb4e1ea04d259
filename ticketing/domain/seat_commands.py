"""The seat store's commands, as typed records: what a data cluster's log holds.

Servers build these and propose their plain form (``to_plain``: dicts of
text, numbers and lists, which serpent carries and the SQLite log stores).
The seat store reads every decided payload back with ``from_plain``, which
refuses a malformed one (a peer's bug, a hostile member, a damaged log) with
an ``InvalidRequest`` before any state changes. The plain form is the one the
logs written before these classes held, key for key and ``op`` for ``op``, so
those logs replay unchanged.

Checks that need no state are made here: field types and sizes, and the
catalog's tables read as the catalog file's are (the same messages). What
depends on the state (is the theater known, is the event cancelled, would a
booked seat fall outside a smaller map) is the seat store's to decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ticketing.catalog import (
    OPEN,
    STOPPED,
    CatalogError,
    Event,
    Theater,
    event_from_table,
    theater_from_table,
)
from ticketing.domain import payload as fields
from ticketing.errors import InvalidRequest
from ticketing.settings import MAX_EMAIL_LENGTH, MAX_NAME_LENGTH

# Where the catalog's messages say a bad table came from (``command: theater.rows: ...``).
_SOURCE = "command"


@dataclass(frozen=True, slots=True)
class Booking:
    """One booking, from the load balancer to the seat store: the seats of a hold, the
    hold's lease and fencing token (the seat store checks both at its slot), and the
    buyer. The balancer draws ``ticket_no``; a retry of the same call keeps it."""

    ticket_no: str
    hold_id: str
    theater: str
    event: str
    seats: tuple[str, ...]
    name: str
    email: str
    fence: int
    expires_at: float

    def to_plain(self) -> dict[str, Any]:
        return {
            "ticket_no": self.ticket_no,
            "hold_id": self.hold_id,
            "theater": self.theater,
            "event": self.event,
            "seats": list(self.seats),
            "name": self.name,
            "email": self.email,
            "fence": self.fence,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Booking:
        return cls(
            fields.text(plain, "ticket_no"),
            fields.text(plain, "hold_id"),
            fields.text(plain, "theater"),
            fields.text(plain, "event"),
            tuple(fields.seat_list(plain)),
            fields.text(plain, "name", MAX_NAME_LENGTH),
            fields.text(plain, "email", MAX_EMAIL_LENGTH),
            fields.integer(plain, "fence"),
            fields.number(plain, "expires_at"),
        )


@dataclass(frozen=True, slots=True)
class Book:
    """Book a hold's seats; the same hold booked again answers the same ticket while it lives.
    Only while the event is on sale."""

    OP: ClassVar[str] = "book"
    booking: Booking

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, **self.booking.to_plain()}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Book:
        return cls(Booking.from_plain(plain))


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel a live ticket: its seats are free again."""

    OP: ClassVar[str] = "cancel"
    theater: str
    ticket_no: str

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, "theater": self.theater, "ticket_no": self.ticket_no}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Cancel:
        return cls(fields.text(plain, "theater"), fields.text(plain, "ticket_no"))


# -- the catalog's commands (each answers ``{"ok", "catalog"}``, the catalog after it) ------


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """Seed a new cluster's catalog from the file; once: a later one changes nothing."""

    OP: ClassVar[str] = "bootstrap"
    theaters: tuple[Theater, ...]

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, "theaters": [theater.to_table() for theater in self.theaters]}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Bootstrap:
        tables = plain.get("theaters")
        if not isinstance(tables, list):
            raise InvalidRequest("'theaters' must be a list of theater tables")
        theaters = tuple(_theater(table) for table in tables)
        if len({theater.id for theater in theaters}) != len(theaters):
            raise InvalidRequest("a theater id appears twice in the bootstrap")
        return cls(theaters)


@dataclass(frozen=True, slots=True)
class AddTheater:
    OP: ClassVar[str] = "add_theater"
    theater: Theater

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, "theater": self.theater.to_table()}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> AddTheater:
        return cls(_theater(plain.get("theater")))


@dataclass(frozen=True, slots=True)
class AddEvent:
    OP: ClassVar[str] = "add_event"
    theater: str
    event: Event

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, "theater": self.theater, "event": self.event.to_table()}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> AddEvent:
        return cls(fields.text(plain, "theater"), _event(plain.get("event")))


@dataclass(frozen=True, slots=True)
class UpdateEvent:
    """Retitle or reschedule an event; ``None`` leaves that field as it is (and is left out
    of the plain form, as the operator's changes were)."""

    OP: ClassVar[str] = "update_event"
    theater: str
    event: str
    title: str | None = None
    starts_at: str | None = None

    def to_plain(self) -> dict[str, Any]:
        plain: dict[str, Any] = {"op": self.OP, "theater": self.theater, "event": self.event}
        if self.title is not None:
            plain["title"] = self.title
        if self.starts_at is not None:
            plain["starts_at"] = self.starts_at
        return plain

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> UpdateEvent:
        theater, event = fields.text(plain, "theater"), fields.text(plain, "event")
        # Checked as an event table with these values is (the catalog file's messages);
        # the placeholders stand for the fields not changed, which the store keeps.
        checked = _event(
            {
                "id": "event",
                "title": plain.get("title", "title"),
                "starts_at": plain.get("starts_at", "2000-01-01T00:00"),
            }
        )
        return cls(
            theater,
            event,
            checked.title if "title" in plain else None,
            checked.starts_at if "starts_at" in plain else None,
        )


@dataclass(frozen=True, slots=True)
class SetSales:
    """Stop or resume an event's sales (cancelling is ``CancelEvent``: it is final)."""

    OP: ClassVar[str] = "set_sales"
    theater: str
    event: str
    sales: str

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, "theater": self.theater, "event": self.event, "sales": self.sales}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> SetSales:
        theater, event = fields.text(plain, "theater"), fields.text(plain, "event")
        sales = plain.get("sales")
        if sales not in (OPEN, STOPPED):
            raise InvalidRequest(f"'sales' must be {OPEN!r} or {STOPPED!r}, got {sales!r}")
        return cls(theater, event, sales)


@dataclass(frozen=True, slots=True)
class CancelEvent:
    """Cancel an event for good; its live tickets go to the refund list (answered as
    ``refunds``)."""

    OP: ClassVar[str] = "cancel_event"
    theater: str
    event: str

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, "theater": self.theater, "event": self.event}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> CancelEvent:
        return cls(fields.text(plain, "theater"), fields.text(plain, "event"))


@dataclass(frozen=True, slots=True)
class ResizeTheater:
    """New row and seat counts; seats keep their labels (A7 stays A7)."""

    OP: ClassVar[str] = "resize_theater"
    theater: str
    rows: int
    seats_per_row: int

    def to_plain(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "theater": self.theater,
            "rows": self.rows,
            "seats_per_row": self.seats_per_row,
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> ResizeTheater:
        theater = fields.text(plain, "theater")
        # Checked as a theater table of that size is; the placeholders are valid.
        sized = _theater(
            {
                "id": "theater",
                "name": "theater",
                "city": "city",
                "rows": plain.get("rows"),
                "seats_per_row": plain.get("seats_per_row"),
            }
        )
        return cls(theater, sized.rows, sized.seats_per_row)


CatalogCommand = (
    Bootstrap | AddTheater | AddEvent | UpdateEvent | SetSales | CancelEvent | ResizeTheater
)
SeatCommand = Book | Cancel | CatalogCommand

_CATALOG_KINDS = (
    Bootstrap,
    AddTheater,
    AddEvent,
    UpdateEvent,
    SetSales,
    CancelEvent,
    ResizeTheater,
)
_BY_OP: dict[str, type[SeatCommand]] = {kind.OP: kind for kind in (Book, Cancel, *_CATALOG_KINDS)}
CATALOG_OPS = frozenset(kind.OP for kind in _CATALOG_KINDS)


def from_plain(payload: Any) -> SeatCommand:
    """The command a plain payload (a log entry, a peer's message) spells; ``InvalidRequest``
    saying what is wrong when it spells none."""
    op, plain = fields.command(payload)
    kind = _BY_OP.get(op)
    if kind is None:
        raise InvalidRequest(f"unknown data store operation {op!r}")
    return kind.from_plain(plain)


def _theater(table: Any) -> Theater:
    try:
        return theater_from_table(table, _SOURCE)
    except CatalogError as exc:
        raise InvalidRequest(str(exc)) from None


def _event(table: Any) -> Event:
    try:
        return event_from_table(table, _SOURCE)
    except CatalogError as exc:
        raise InvalidRequest(str(exc)) from None
