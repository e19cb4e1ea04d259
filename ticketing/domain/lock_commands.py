"""The lock table's commands, as typed records: what a lock store's log holds.

Lock servers build these and propose their plain form (``to_plain``); the
lock table reads every decided payload back with ``from_plain``, which
refuses a malformed one with an ``InvalidRequest`` before any state changes.
The plain form is the one logs written before these classes held (the same
keys and ``op`` names), so those logs replay unchanged.

The table trusts the servers to have checked theater, event and seat labels
against the catalog; here they only need to be text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ticketing.domain import payload as fields
from ticketing.errors import InvalidRequest
from ticketing.settings import MAX_SEATS_PER_THEATER


@dataclass(frozen=True, slots=True)
class Acquire:
    """Hold all of ``seats`` for ``ttl`` seconds, or none; a live ``hold_id`` is answered as
    it was granted."""

    OP: ClassVar[str] = "acquire"
    hold_id: str
    theater: str
    event: str
    seats: tuple[str, ...]
    ttl: float

    def to_plain(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "hold_id": self.hold_id,
            "theater": self.theater,
            "event": self.event,
            "seats": list(self.seats),
            "ttl": self.ttl,
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Acquire:
        return cls(
            fields.text(plain, "hold_id"),
            fields.text(plain, "theater"),
            fields.text(plain, "event"),
            tuple(fields.seat_list(plain)),
            _ttl(plain),
        )


@dataclass(frozen=True, slots=True)
class AcquireBest:
    """Hold the ``count`` best free seats of a ``rows`` x ``seats_per_row`` map, chosen by
    the table (``seat_chooser``); refused when fewer are free."""

    OP: ClassVar[str] = "acquire_best"
    hold_id: str
    theater: str
    event: str
    count: int
    rows: int
    seats_per_row: int
    ttl: float

    def to_plain(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "hold_id": self.hold_id,
            "theater": self.theater,
            "event": self.event,
            "count": self.count,
            "rows": self.rows,
            "seats_per_row": self.seats_per_row,
            "ttl": self.ttl,
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> AcquireBest:
        hold_id = fields.text(plain, "hold_id")
        theater = fields.text(plain, "theater")
        event = fields.text(plain, "event")
        count = fields.integer(plain, "count")
        rows = fields.integer(plain, "rows")
        seats_per_row = fields.integer(plain, "seats_per_row")
        ttl = _ttl(plain)
        if not 1 <= count <= seats_per_row * rows <= MAX_SEATS_PER_THEATER:
            raise InvalidRequest(f"cannot pick {count} seats of a {rows}x{seats_per_row} map")
        return cls(hold_id, theater, event, count, rows, seats_per_row, ttl)


@dataclass(frozen=True, slots=True)
class Release:
    """End a live hold; idempotent. A sold mark is not a hold: it stays."""

    OP: ClassVar[str] = "release"
    hold_id: str

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, "hold_id": self.hold_id}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Release:
        return cls(fields.text(plain, "hold_id"))


@dataclass(frozen=True, slots=True)
class Settle:
    """The hold was booked: its seats become a sold mark, which never expires."""

    OP: ClassVar[str] = "settle"
    hold_id: str
    theater: str
    event: str
    seats: tuple[str, ...]

    def to_plain(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "hold_id": self.hold_id,
            "theater": self.theater,
            "event": self.event,
            "seats": list(self.seats),
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Settle:
        return cls(
            fields.text(plain, "hold_id"),
            fields.text(plain, "theater"),
            fields.text(plain, "event"),
            tuple(fields.seat_list(plain)),
        )


@dataclass(frozen=True, slots=True)
class Free:
    """The hold's ticket was cancelled: its sold mark (or hold) goes. Idempotent."""

    OP: ClassVar[str] = "free"
    hold_id: str

    def to_plain(self) -> dict[str, Any]:
        return {"op": self.OP, "hold_id": self.hold_id}

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Free:
        return cls(fields.text(plain, "hold_id"))


LockCommand = Acquire | AcquireBest | Release | Settle | Free

_BY_OP: dict[str, type[LockCommand]] = {
    kind.OP: kind for kind in (Acquire, AcquireBest, Release, Settle, Free)
}


def from_plain(payload: Any) -> LockCommand:
    """The command a plain payload spells; ``InvalidRequest`` saying what is wrong if none."""
    op, plain = fields.command(payload)
    kind = _BY_OP.get(op)
    if kind is None:
        raise InvalidRequest(
            f"unknown lock operation {op!r} (acquire, acquire_best, release, settle or free)"
        )
    return kind.from_plain(plain)


def _ttl(plain: dict[str, Any]) -> float:
    ttl = fields.number(plain, "ttl")
    if ttl <= 0:
        raise InvalidRequest(f"'ttl' must be positive, got {ttl}")
    return ttl
