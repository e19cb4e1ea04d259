"""The catalog: theaters, their seat maps and events, read from TOML and checked.

The file seeds a new cluster and sets the cluster-wide limits (``hold_ttl``,
quotas). Its theaters and events are then replicated state: each data
cluster's log holds its own theaters (``SeatStore``), seeded from the file
once, and changed by the operator API; the processes that check requests
follow those changes (``CatalogFollower``). A file is refused whole when
anything is off, naming the file, the key and the reason; a theater sent as a
log command is checked by the same reader (``theater_from_table``). The
default catalog ships beside this module.
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ticketing.domain.seats import SeatMap
from ticketing.errors import SalesClosed, UnknownEvent, UnknownTheater
from ticketing.settings import (
    BOOKING_QUOTA_WINDOW,
    DEFAULT_HOLD_TTL,
    DEFAULT_MAX_SEATS_PER_BOOKING,
    MAX_BOOKED_SEATS_PER_CLIENT,
    MAX_HELD_SEATS_PER_CLIENT,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SEATS_PER_THEATER,
)

DEFAULT_CATALOG = "default_catalog.toml"

_ID = re.compile(r"[A-Za-z0-9_-]+")

# What an event's ``sales`` says: on sale, sales stopped for now, or cancelled for good.
OPEN, STOPPED, CANCELLED = "open", "stopped", "cancelled"
SALES = (OPEN, STOPPED, CANCELLED)


class CatalogError(ValueError):
    """The catalog file cannot be used; the message names file, key and reason.

    Not a ``TicketingError``: it stops a component at start, it is never an
    answer to a caller.
    """


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    title: str
    starts_at: str  # ISO 8601 local date-time, as written in the catalog
    sales: str = OPEN

    def to_plain(self) -> dict[str, str]:
        """As ``list_theaters`` shows it, in the contract's shape."""
        return {"event": self.id, "title": self.title, "starts_at": self.starts_at}

    def to_table(self) -> dict[str, str]:
        """As the catalog file writes it (``[[theater.event]]``)."""
        return {
            "id": self.id,
            "title": self.title,
            "starts_at": self.starts_at,
            "sales": self.sales,
        }


@dataclass(frozen=True, slots=True)
class Theater:
    id: str
    name: str
    city: str
    rows: int
    seats_per_row: int
    cluster: str = ""  # empty means "its own cluster", named after the theater
    events: tuple[Event, ...] = ()
    lock_group: int | None = None  # None: each event placed by a stable hash (lock_placement)
    seat_map: SeatMap = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.cluster:
            object.__setattr__(self, "cluster", self.id)
        object.__setattr__(self, "seat_map", SeatMap(self.rows, self.seats_per_row))

    @property
    def seat_count(self) -> int:
        return self.rows * self.seats_per_row

    def event(self, event_id: str) -> Event:
        for event in self.events:
            if event.id == event_id:
                return event
        known = ", ".join(e.id for e in self.events) or "none"
        raise UnknownEvent(f"no event {event_id!r} at theater {self.id} (events: {known})")

    def on_sale(self, event_id: str) -> Event:
        """The event, if its seats can be held and booked now; else ``SalesClosed``."""
        event = self.event(event_id)
        if event.sales == CANCELLED:
            raise SalesClosed(
                f"{self.id} {event.id} ({event.title}) was cancelled; "
                "its tickets are listed for refunds"
            )
        if event.sales == STOPPED:
            raise SalesClosed(
                f"sales of {self.id} {event.id} ({event.title}) are stopped for now; "
                "try again later"
            )
        return event

    def to_plain(self) -> dict[str, Any]:
        """As ``list_theaters`` shows it, in the contract's shape: events on offer only.

        A cancelled event is left out; one whose sales are stopped stays (it
        is still on the programme).
        """
        return {
            "theater": self.id,
            "name": self.name,
            "city": self.city,
            "seats": self.seat_count,
            "events": [event.to_plain() for event in self.events if event.sales != CANCELLED],
        }

    def to_listing(self) -> dict[str, Any]:
        """``list_catalog``'s form: the contract's, plus the seat map's size and every
        event (cancelled ones too) with its ``sales``."""
        return {
            **self.to_plain(),
            "rows": self.rows,
            "seats_per_row": self.seats_per_row,
            "events": [{**event.to_plain(), "sales": event.sales} for event in self.events],
        }

    def to_table(self) -> dict[str, Any]:
        """Everything about the theater as the catalog file writes it (``[[theater]]``).

        This is what the data clusters' logs and the followers carry; read it
        back with ``theater_from_table``.
        """
        table: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "city": self.city,
            "rows": self.rows,
            "seats_per_row": self.seats_per_row,
            "cluster": self.cluster,
            "event": [event.to_table() for event in self.events],
        }
        if self.lock_group is not None:
            table["lock_group"] = self.lock_group
        return table


@dataclass(frozen=True, slots=True)
class Catalog:
    hold_ttl: float = DEFAULT_HOLD_TTL
    max_seats_per_booking: int = DEFAULT_MAX_SEATS_PER_BOOKING
    theaters: tuple[Theater, ...] = ()
    # Seats of one event one client (one address) may hold at once, per load balancer.
    max_held_seats_per_client: int = MAX_HELD_SEATS_PER_CLIENT
    # Seats of one event one client may book within booking_quota_window seconds, per balancer.
    max_booked_seats_per_client: int = MAX_BOOKED_SEATS_PER_CLIENT
    booking_quota_window: float = BOOKING_QUOTA_WINDOW
    # Addresses (networks) the per-client quotas do not apply to: a trusted front end
    # that books for many people, the benchmark's users on loopback.
    quota_exempt: tuple[str, ...] = ()

    @property
    def quota_exempt_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.quota_exempt)

    def theater(self, theater_id: str) -> Theater:
        for theater in self.theaters:
            if theater.id == theater_id:
                return theater
        known = ", ".join(t.id for t in self.theaters) or "none"
        raise UnknownTheater(f"no theater {theater_id!r} (theaters: {known})")

    def clusters(self) -> dict[str, tuple[Theater, ...]]:
        """The theaters of each data cluster, clusters in order of first mention."""
        grouped: dict[str, list[Theater]] = {}
        for theater in self.theaters:
            grouped.setdefault(theater.cluster, []).append(theater)
        return {name: tuple(theaters) for name, theaters in grouped.items()}

    def to_plain(self) -> list[dict[str, Any]]:
        """What ``list_theaters()`` answers, in the contract's shape."""
        return [theater.to_plain() for theater in self.theaters]

    def with_theaters(self, theaters: tuple[Theater, ...]) -> Catalog:
        """The same limits over other theaters (the replicated ones)."""
        return replace(self, theaters=theaters)


def theater_from_table(table: Any, source: str) -> Theater:
    """A theater from its ``to_table`` form, checked as the file's would be.

    Raises ``CatalogError`` naming ``source`` and the key at fault.
    """
    return _Reader(source).theater(table, "theater")


def event_from_table(table: Any, source: str) -> Event:
    """An event from its ``to_table`` form; ``CatalogError`` if anything is off."""
    return _Reader(source).event(table, "event")


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and check a catalog file; ``None`` reads the packaged default."""
    if path is None:
        resource = resources.files("ticketing").joinpath(DEFAULT_CATALOG)
        return parse_catalog(resource.read_text(encoding="utf-8"), f"<ticketing>/{DEFAULT_CATALOG}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read the catalog: {exc}") from exc
    return parse_catalog(text, str(path))


def parse_catalog(text: str, source: str = "<string>") -> Catalog:
    """Check catalog TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from exc
    return _Reader(source).catalog(data)


class _Reader:
    """Walks the parsed TOML, keeping the file name for every complaint."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> CatalogError:
        return CatalogError(f"{self.source}: {key}: {reason}")

    def only_keys(self, table: dict, allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                raise self.fail(_join(where, key), f"unknown key (expected one of: {expected})")

    def catalog(self, data: dict) -> Catalog:
        allowed = {
            "hold_ttl",
            "max_seats_per_booking",
            "max_held_seats_per_client",
            "max_booked_seats_per_client",
            "booking_quota_window",
            "quota_exempt",
            "theater",
        }
        self.only_keys(data, allowed, "")
        hold_ttl = data.get("hold_ttl", DEFAULT_HOLD_TTL)
        if not _is_number(hold_ttl) or not math.isfinite(hold_ttl) or hold_ttl <= 0:
            raise self.fail("hold_ttl", f"must be a positive number of seconds, got {hold_ttl!r}")
        max_seats = data.get("max_seats_per_booking", DEFAULT_MAX_SEATS_PER_BOOKING)
        if not _is_int(max_seats) or max_seats < 1:
            raise self.fail("max_seats_per_booking", f"must be an integer >= 1, got {max_seats!r}")
        max_held = data.get("max_held_seats_per_client", MAX_HELD_SEATS_PER_CLIENT)
        if not _is_int(max_held) or max_held < max_seats:
            raise self.fail(
                "max_held_seats_per_client",
                f"must be an integer >= max_seats_per_booking ({max_seats}), got {max_held!r}",
            )
        max_booked = data.get("max_booked_seats_per_client", MAX_BOOKED_SEATS_PER_CLIENT)
        if not _is_int(max_booked) or max_booked < max_seats:
            raise self.fail(
                "max_booked_seats_per_client",
                f"must be an integer >= max_seats_per_booking ({max_seats}), got {max_booked!r}",
            )
        window = data.get("booking_quota_window", BOOKING_QUOTA_WINDOW)
        if not _is_number(window) or not math.isfinite(window) or window <= 0:
            raise self.fail(
                "booking_quota_window", f"must be a positive number of seconds, got {window!r}"
            )
        exempt = self.networks(data.get("quota_exempt", []), "quota_exempt")
        tables = data.get("theater")
        if not isinstance(tables, list) or not tables:
            raise self.fail("theater", "at least one [[theater]] table is required")
        theaters = tuple(self.theater(t, f"theater[{i}]") for i, t in enumerate(tables))
        seen: set[str] = set()
        for i, theater in enumerate(theaters):
            if theater.id in seen:
                raise self.fail(f"theater[{i}].id", f"duplicate theater id {theater.id!r}")
            seen.add(theater.id)
        return Catalog(
            float(hold_ttl),
            max_seats,
            theaters,
            max_held,
            max_booked,
            float(window),
            exempt,
        )

    def networks(self, value: Any, key: str) -> tuple[str, ...]:
        """A list of IP addresses or networks such as ``"203.0.113.7"`` or ``"10.0.0.0/8"``."""
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of addresses or networks, got {value!r}")
        found = []
        for i, item in enumerate(value):
            try:
                found.append(str(ipaddress.ip_network(item, strict=False)))
            except (TypeError, ValueError):
                raise self.fail(
                    f"{key}[{i}]", f"not an IP address or network such as '10.0.0.0/8': {item!r}"
                ) from None
        return tuple(found)

    def theater(self, table: Any, where: str) -> Theater:
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table ([[theater]])")
        allowed = {"id", "name", "city", "rows", "seats_per_row", "cluster", "lock_group", "event"}
        self.only_keys(table, allowed, where)
        theater_id = self.ident(table, "id", where)
        name = self.text(table, "name", where)
        city = self.text(table, "city", where)
        rows = self.positive_int(table, "rows", where)
        seats_per_row = self.positive_int(table, "seats_per_row", where)
        if rows * seats_per_row > MAX_SEATS_PER_THEATER:
            raise self.fail(
                _join(where, "rows"),
                f"{rows}x{seats_per_row} seats is more than {MAX_SEATS_PER_THEATER}",
            )
        cluster = self.ident(table, "cluster", where) if "cluster" in table else theater_id
        lock_group = None
        if "lock_group" in table:
            lock_group = self.positive_int(table, "lock_group", where)
        tables = table.get("event", [])
        if not isinstance(tables, list):
            raise self.fail(_join(where, "event"), "must be an array of tables ([[theater.event]])")
        events = tuple(self.event(e, f"{where}.event[{i}]") for i, e in enumerate(tables))
        seen: set[str] = set()
        for i, event in enumerate(events):
            if event.id in seen:
                raise self.fail(f"{where}.event[{i}].id", f"duplicate event id {event.id!r}")
            seen.add(event.id)
        return Theater(theater_id, name, city, rows, seats_per_row, cluster, events, lock_group)

    def event(self, table: Any, where: str) -> Event:
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table ([[theater.event]])")
        self.only_keys(table, {"id", "title", "starts_at", "sales"}, where)
        event_id = self.ident(table, "id", where)
        title = self.text(table, "title", where)
        sales = table.get("sales", OPEN)
        if sales not in SALES:
            raise self.fail(
                _join(where, "sales"), f"must be one of {', '.join(SALES)}, got {sales!r}"
            )
        starts_at = table.get("starts_at")
        key = _join(where, "starts_at")
        if isinstance(starts_at, datetime):  # an unquoted TOML date-time
            starts_at = starts_at.isoformat()
        elif isinstance(starts_at, date) or not isinstance(starts_at, str):
            example = "'2026-12-01T19:00:00'"
            raise self.fail(key, f"must be a date-time such as {example}, got {starts_at!r}")
        else:
            try:
                datetime.fromisoformat(starts_at)
            except ValueError:
                raise self.fail(key, f"not an ISO date-time: {starts_at!r}") from None
            if "T" not in starts_at and " " not in starts_at:
                raise self.fail(key, f"needs a time of day too: {starts_at!r}")
        return Event(event_id, title, starts_at, sales)

    def required(self, table: dict, key: str, where: str) -> Any:
        if key not in table:
            raise self.fail(_join(where, key), "missing")
        return table[key]

    def ident(self, table: dict, key: str, where: str) -> str:
        value = self.required(table, key, where)
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise self.fail(
                _join(where, key), f"must be letters, digits, '-' or '_' only, got {value!r}"
            )
        if len(value) > MAX_ID_LENGTH:
            raise self.fail(_join(where, key), f"longer than {MAX_ID_LENGTH} characters")
        return value

    def text(self, table: dict, key: str, where: str) -> str:
        value = self.required(table, key, where)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(where, key), f"must be non-empty text, got {value!r}")
        if len(value) > MAX_NAME_LENGTH:
            raise self.fail(_join(where, key), f"longer than {MAX_NAME_LENGTH} characters")
        return value

    def positive_int(self, table: dict, key: str, where: str) -> int:
        value = self.required(table, key, where)
        if not _is_int(value) or value < 1:
            raise self.fail(_join(where, key), f"must be an integer >= 1, got {value!r}")
        return value


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
