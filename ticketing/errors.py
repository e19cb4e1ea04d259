"""The failures a caller can see, and how they travel.

Every refusal the system gives is one of these classes, with a message a
person can act on. They travel two ways:

* between processes, as Pyro5 exceptions: ``register_with_pyro`` teaches
  Pyro5's serializer to send only the class name, the message and the
  class's own data (``seats`` and ``alternative``, ``retry_after``), never the
  server's traceback, and to rebuild the same class on arrival;
* inside the replicated log, as plain result dicts (``to_result`` /
  ``from_result``): a state machine refuses by returning data, never by
  raising, so every replica records the same answer for the same slot.

This module does not import Pyro5 at the top so that the pure layers
(``ticketing.domain``, ``ticketing.consensus``) can use the classes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class TicketingError(Exception):
    """Base class of every failure the contract names.

    The message is the first constructor argument, and a subclass keeps any
    data of its own in ``args`` after it, so ``cls(*exc.args)`` rebuilds any
    of them (as Pyro5 and pickle do).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message


class InvalidRequest(TicketingError):
    """Wrong type, empty or malformed argument, too many seats, oversized input."""


class UnknownTheater(TicketingError):
    """The theater is not in the catalog (or not hosted where it was asked)."""


class UnknownEvent(TicketingError):
    """The event is not in the catalog for that theater."""


class SalesClosed(UnknownEvent):
    """The event is in the catalog but not on sale: its sales are stopped, or it was cancelled.

    A kind of ``UnknownEvent``: a caller that only knows the contract's
    classes treats it as an event it cannot book.
    """


class UnknownSeat(TicketingError):
    """The seat label is well formed but outside the theater's seat map."""


class SeatsUnavailable(TicketingError):
    """Some requested seats are held or booked; ``seats`` lists them.

    ``alternative``, when not empty, is the best free seats of the same count
    at the time of the refusal (see ``block_best_available``): what a person
    would be offered instead. Both are kept in ``args`` next to the message
    so that rebuilding from ``args`` alone (Pyro5's batch wrapper, pickle)
    keeps them.
    """

    def __init__(
        self, message: str, seats: Iterable[str] = (), alternative: Iterable[str] = ()
    ) -> None:
        Exception.__init__(
            self, message, [str(seat) for seat in seats], [str(seat) for seat in alternative]
        )

    @property
    def seats(self) -> list[str]:
        return list(self.args[1]) if len(self.args) > 1 else []

    @property
    def alternative(self) -> list[str]:
        return list(self.args[2]) if len(self.args) > 2 else []


class HoldExpired(TicketingError):
    """The hold's lease ran out (or a newer hold superseded it) before booking."""


class HoldNotFound(TicketingError):
    """No hold with that id exists (never made, released, or long gone)."""


class TicketNotFound(TicketingError):
    """No ticket with that number in that theater."""


class Unavailable(TicketingError):
    """No quorum or no route right now; safe to retry; nothing was half-done.

    ``retry_after``, when set, is the seconds the caller should wait before
    retrying (a load balancer shedding load says how long its queue is);
    callers add jitter so that refused people do not come back in step.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        if retry_after is None:
            Exception.__init__(self, message)
        else:
            Exception.__init__(self, message, float(retry_after))

    @property
    def retry_after(self) -> float | None:
        return float(self.args[1]) if len(self.args) > 1 else None


ERROR_CLASSES: dict[str, type[TicketingError]] = {
    cls.__name__: cls
    for cls in (
        TicketingError,
        InvalidRequest,
        UnknownTheater,
        UnknownEvent,
        SalesClosed,
        UnknownSeat,
        SeatsUnavailable,
        HoldExpired,
        HoldNotFound,
        TicketNotFound,
        Unavailable,
    )
}


def to_result(exc: TicketingError) -> dict[str, Any]:
    """A refusal as plain data, for a state machine's result in the log."""
    seats = exc.seats if isinstance(exc, SeatsUnavailable) else []
    result = {"ok": False, "error": type(exc).__name__, "message": exc.message, "seats": seats}
    if isinstance(exc, SeatsUnavailable) and exc.alternative:
        result["alternative"] = exc.alternative
    return result


def from_result(result: dict[str, Any]) -> TicketingError:
    """The exception a refusal result stands for, ready to raise to the caller.

    An error name this version does not know becomes a plain ``TicketingError``
    with the same message rather than a crash: a newer replica may know more.
    """
    if result.get("ok", False) is not False:
        raise ValueError(f"not a refusal result: {result!r}")
    message = str(result.get("message", ""))
    cls = ERROR_CLASSES.get(str(result.get("error")), TicketingError)
    if cls is SeatsUnavailable:
        return SeatsUnavailable(message, result.get("seats") or [], result.get("alternative") or [])
    return cls(message)


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def _to_dict(exc: TicketingError) -> dict[str, Any]:
    """What goes on the wire: class and ``args`` (the message and the class's own data).

    No traceback, no other attributes.
    """
    return {
        "__class__": _qualified_name(type(exc)),
        "__exception__": True,
        "args": list(exc.args),
        "attributes": {},
    }


def _from_dict(classname: str, data: dict[str, Any]) -> TicketingError:
    cls = ERROR_CLASSES[classname.rsplit(".", 1)[-1]]
    args = list(data.get("args") or [])
    message = str(args[0]) if args else ""
    if cls is SeatsUnavailable:
        return SeatsUnavailable(
            message, args[1] if len(args) > 1 else [], args[2] if len(args) > 2 else []
        )
    if cls is Unavailable and len(args) > 1:
        return Unavailable(message, _hint(args[1]))
    return cls(message)


def _hint(value: Any) -> float | None:
    """A retry hint from the wire: a sane number of seconds, or none."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return min(seconds, 60.0) if seconds >= 0 else None


def register_with_pyro() -> None:
    """Make Pyro5 carry these exceptions as themselves; call once per process.

    Without it a client receives them as a ``SerializeError`` about an
    unsupported class. Only the classes of this module are registered, so the
    serializer still refuses every other class a peer might name.
    """
    from Pyro5.api import SerializerBase  # late: the pure layers import this module

    for cls in ERROR_CLASSES.values():
        SerializerBase.register_class_to_dict(cls, _to_dict)
        SerializerBase.register_dict_to_class(_qualified_name(cls), _from_dict)
