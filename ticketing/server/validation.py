"""Checking the load balancer's arguments before anything is asked of the cluster.

Callers are untrusted: any value serpent can carry may arrive where a seat
list or an e-mail address is expected. Every argument is checked here for its
type, size and shape, and against the catalog, so a refusal costs no remote
call, changes nothing, and says what to send instead. Each function returns
the value in the one spelling the rest of the system compares (canonical seat
labels in seat-map order, trimmed names).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ticketing.catalog import Catalog, Theater
from ticketing.domain.seat_commands import Booking
from ticketing.errors import InvalidRequest
from ticketing.settings import MAX_EMAIL_LENGTH, MAX_ID_LENGTH, MAX_NAME_LENGTH

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")  # what secrets.token_urlsafe produces
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def identifier(value: Any, what: str, example: str) -> str:
    """A catalog id (theater, event): non-empty text of at most ``MAX_ID_LENGTH`` characters."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{what} must be text such as {example!r}, got {_show(value)}")
    if not value:
        raise InvalidRequest(f"{what} is empty; give one such as {example!r}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidRequest(f"{what} is longer than {MAX_ID_LENGTH} characters")
    return value


def theater(catalog: Catalog, value: Any) -> Theater:
    """The catalog's theater named ``value``; ``UnknownTheater`` lists the known ones."""
    return catalog.theater(identifier(value, "theater", "AMC"))


def theater_event(catalog: Catalog, theater_id: Any, event_id: Any) -> Theater:
    """The theater, once both it and its event ``event_id`` are known to the catalog."""
    found = theater(catalog, theater_id)
    found.event(identifier(event_id, "event", "dune-1900"))
    return found


def theater_on_sale(catalog: Catalog, theater_id: Any, event_id: Any) -> Theater:
    """The theater, once its event ``event_id`` is known and on sale (else ``SalesClosed``)."""
    found = theater(catalog, theater_id)
    found.on_sale(identifier(event_id, "event", "dune-1900"))
    return found


def seat_list(where: Theater, value: Any, limit: int) -> list[str]:
    """1..``limit`` distinct seats of ``where``, canonical, in seat-map order."""
    if not isinstance(value, list | tuple):
        raise InvalidRequest(
            f"seats must be a list of seat labels such as ['A1', 'A2'], got {_show(value)}"
        )
    if not value:
        raise InvalidRequest("no seats given; name at least one, such as ['A1']")
    if len(value) > limit:
        raise InvalidRequest(f"{len(value)} seats asked; at most {limit} per booking, hold fewer")
    seat_map = where.seat_map
    indices: dict[int, str] = {}
    for label in value:
        index = seat_map.index(label)  # InvalidRequest or UnknownSeat, with the label
        if index in indices:
            seat = seat_map.label(index)
            raise InvalidRequest(f"seat {seat} is listed twice; list each seat once")
        indices[index] = label
    return [seat_map.label(index) for index in sorted(indices)]


def seat_count(value: Any, limit: int) -> int:
    """How many seats a best-available hold asks for: an int in 1..``limit``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest(f"count must be a whole number of seats such as 2, got {_show(value)}")
    if not 1 <= value <= limit:
        raise InvalidRequest(f"count must be from 1 to {limit} seats per booking, got {value}")
    return value


def token(value: Any, what: str, source: str) -> str:
    """A hold id or ticket number: the URL-safe text ``source`` handed out."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{what} must be the text {source} returned, got {_show(value)}")
    if not value:
        raise InvalidRequest(f"{what} is empty; give the one {source} returned")
    if len(value) > MAX_ID_LENGTH or not _TOKEN.fullmatch(value):
        raise InvalidRequest(
            f"{what} {_show(value)} is malformed (letters, digits, '-' and '_' only, "
            f"at most {MAX_ID_LENGTH}); give the one {source} returned"
        )
    return value


def hold_id(value: Any) -> str:
    return token(value, "hold_id", "block_seats")


def ticket_no(value: Any) -> str:
    return token(value, "ticket_no", "book_ticket")


def person_name(value: Any) -> str:
    """The ticket holder's name, trimmed: printable text of 1..``MAX_NAME_LENGTH`` characters."""
    if not isinstance(value, str):
        raise InvalidRequest(f"name must be text such as 'Ada Lovelace', got {_show(value)}")
    name = value.strip()
    if not name:
        raise InvalidRequest("name is empty; give the name the ticket is for")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"name is longer than {MAX_NAME_LENGTH} characters; shorten it")
    if _has_control(name):
        raise InvalidRequest("name contains control characters (such as a line break); remove them")
    return name


def email(value: Any) -> str:
    """An address shaped ``someone@example.org``, trimmed, at most ``MAX_EMAIL_LENGTH`` long."""
    if not isinstance(value, str):
        raise InvalidRequest(f"email must be text such as 'ada@example.org', got {_show(value)}")
    address = value.strip()
    if not address:
        raise InvalidRequest("email is empty; give an address such as 'ada@example.org'")
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidRequest(f"email is longer than {MAX_EMAIL_LENGTH} characters")
    if _has_control(address) or not _EMAIL.fullmatch(address):
        raise InvalidRequest(
            f"email {_show(address)} is not an address; give one such as 'ada@example.org'"
        )
    return address


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode's category Cc, exactly


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _show(value: Any) -> str:
    """A short rendering of a bad value with its type: enough to recognise it, never a page."""
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return shown if isinstance(value, str) else f"{type(value).__name__} {shown}"


# --- the internal objects' arguments (they are reachable too) -------------------------

MAX_HOLD_IDS = 1000  # hold ids released in one call


def fence(value: Any) -> int:
    """A fencing token: the log slot of a hold's acquire, an integer >= 0."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidRequest(f"fence must be an integer >= 0 (a log slot), got {_show(value)}")
    return value


def seconds(value: Any, what: str, positive: bool = False) -> float:
    """A finite time or duration in seconds (``positive``: greater than zero)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidRequest(f"{what} must be a finite number of seconds, got {_show(value)}")
    if positive and value <= 0:
        raise InvalidRequest(f"{what} must be greater than zero, got {value!r}")
    return float(value)


def hold_ids(value: Any) -> list[str]:
    """A list of 0..``MAX_HOLD_IDS`` hold ids."""
    if not isinstance(value, list | tuple) or len(value) > MAX_HOLD_IDS:
        raise InvalidRequest(f"hold_ids must be a list of at most {MAX_HOLD_IDS} hold ids")
    return [hold_id(item) for item in value]


def booking(catalog: Catalog, plain: Any) -> Booking:
    """A data store's ``book`` argument (a ``Booking``'s plain form), checked and canonical."""
    if not isinstance(plain, dict):
        raise InvalidRequest(f"a booking must be a dict of its fields, got {_show(plain)}")
    event_id = plain.get("event")
    found = theater_event(catalog, plain.get("theater"), event_id)
    return Booking(
        ticket_no=ticket_no(plain.get("ticket_no")),
        hold_id=hold_id(plain.get("hold_id")),
        theater=found.id,
        event=event_id,
        seats=tuple(seat_list(found, plain.get("seats"), catalog.max_seats_per_booking)),
        name=person_name(plain.get("name")),
        email=email(plain.get("email")),
        fence=fence(plain.get("fence")),
        expires_at=seconds(plain.get("expires_at"), "expires_at"),
    )
