"""The fault run's history as it is made: every call timed, its outcome classified.

An outcome is ok, refused (a contract error other than ``Unavailable``:
nothing happened) or unknown (``Unavailable``, a lost reply, a timeout: it
may or may not have happened); the checker reasons on these three.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ticketing.errors import TicketingError, Unavailable
from ticketing.faults.history import (
    BOOK,
    CANCEL_EVENT,
    HOLD,
    OK,
    READ,
    REFUSED,
    UNKNOWN,
    Operation,
)


class Recorder:
    """The shared, append-only list of operations (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.operations: list[Operation] = []

    def call(
        self,
        client: int,
        kind: str,
        where: tuple[str, str],
        action: Callable[[], Any],
        **fields: Any,
    ) -> tuple[str, Any]:
        """Run ``action``, record it; returns ``(outcome, result or exception)``."""
        start = time.time()  # the history's clock: wall time, as holds' expires_at (history)
        try:
            result = action()
            outcome = OK
        except Unavailable as exc:
            result, outcome = exc, UNKNOWN
        except TicketingError as exc:
            result, outcome = exc, REFUSED
        except Exception as exc:  # a lost reply, a timeout, anything else: it may have happened
            result, outcome = exc, UNKNOWN
        end = time.time()
        if outcome == OK:
            fields = {**_fields_of(kind, result), **fields}  # what the caller named stays
        else:
            fields["error"] = type(result).__name__
        with self._lock:
            self.operations.append(
                Operation(client, kind, where[0], where[1], start, end, outcome, **fields)
            )
        return outcome, result


def _fields_of(kind: str, result: Any) -> dict[str, Any]:
    if kind == HOLD:
        return {
            "hold_id": result["hold_id"],
            "expires_at": float(result["expires_at"]),
            "seats": tuple(result["seats"]),
        }
    if kind == BOOK:
        return {"ticket_no": result["ticket_no"]}
    if kind == READ:
        booked = [s["seat"] for row in result["rows"] for s in row if s["state"] == "booked"]
        return {"seats": tuple(booked)}
    if kind == CANCEL_EVENT:
        return {"refunds": tuple(t["ticket_no"] for t in result["refunds"])}
    return {}
