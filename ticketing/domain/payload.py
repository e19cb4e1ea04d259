"""Reading command payloads: typed fields or an ``InvalidRequest``.

A payload in the log is whatever a server proposed; the state machines must
answer every one of them with a result and never raise, so the commands'
``from_plain`` (``seat_commands``, ``lock_commands``) read every field
through these checks before any state changes.
"""

from __future__ import annotations

import math
from typing import Any

from ticketing.errors import InvalidRequest
from ticketing.settings import MAX_ID_LENGTH, MAX_SEAT_LABEL_LENGTH


def command(payload: Any) -> tuple[str, dict[str, Any]]:
    """The operation name and the payload, which must be a dict with a text ``op``."""
    if not isinstance(payload, dict):
        raise InvalidRequest(f"a command is a dict, got {type(payload).__name__}")
    op = payload.get("op")
    if not isinstance(op, str):
        raise InvalidRequest(f"a command needs a text 'op', got {op!r}")
    return op, payload


def text(payload: dict[str, Any], key: str, max_length: int = MAX_ID_LENGTH) -> str:
    """A non-empty string of at most ``max_length`` characters."""
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"'{key}' must be non-empty text, got {_show(value)}")
    if len(value) > max_length:
        raise InvalidRequest(f"'{key}' is longer than {max_length} characters")
    return value


def integer(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidRequest(f"'{key}' must be an integer >= 0, got {_show(value)}")
    return value


def number(payload: dict[str, Any], key: str) -> float:
    """A finite int or float, returned as a float."""
    value = payload.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidRequest(f"'{key}' must be a finite number, got {_show(value)}")
    return float(value)


def seat_list(payload: dict[str, Any], key: str = "seats") -> list[str]:
    """A non-empty list of distinct seat labels (as text; the seat map checks them)."""
    value = payload.get(key)
    if not isinstance(value, list | tuple) or not value:
        raise InvalidRequest(f"'{key}' must be a non-empty list of seat labels, got {_show(value)}")
    seats = []
    for seat in value:
        if not isinstance(seat, str) or not seat or len(seat) > MAX_SEAT_LABEL_LENGTH:
            raise InvalidRequest(f"not a seat label: {_show(seat)}")
        seats.append(seat)
    if len(set(seats)) != len(seats):
        raise InvalidRequest(f"a seat is listed twice in {seats}")
    return seats


def _show(value: Any) -> str:
    """A short rendering of a bad value: enough to recognise it, never a page of it."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
